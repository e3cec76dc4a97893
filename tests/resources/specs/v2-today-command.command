{
 "proxy": [
  "--display-name=API",
  "--cwd=.",
  "--ready-path=",
  "--ready-timeout=300",
  "--strip-prefix",
  "--no-app-socket",
  "--keep-alive"
 ],
 "app": [
  "{python}",
  "-m",
  "uvicorn",
  "api:app",
  "--port",
  "{port}"
 ],
 "env": {
  "PORT": "{port}",
  "HUBAPPS_PREFIX": "/user/ann/app/",
  "LOG": "info"
 }
}
