{
 "proxy": [
  "--display-name=Chat",
  "--cwd=demos",
  "--ready-path=",
  "--ready-timeout=300",
  "--strip-prefix",
  "--no-app-socket",
  "--public",
  "--check-file=chat.py",
  "--source-file=chat.py"
 ],
 "app": [
  "{python}",
  "chat.py",
  "--share=false"
 ],
 "env": {
  "GRADIO_SERVER_NAME": "127.0.0.1",
  "GRADIO_SERVER_PORT": "{port}",
  "GRADIO_ROOT_PATH": "/user/ann/app",
  "GRADIO_ANALYTICS_ENABLED": "False"
 }
}
