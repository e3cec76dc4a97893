{
 "proxy": [
  "--display-name=Up",
  "--cwd=.",
  "--ready-path=",
  "--ready-timeout=300",
  "--no-strip-prefix",
  "--app-socket",
  "--check-file=up.py",
  "--source-file=up.py"
 ],
 "app": [
  "{python}",
  "-m",
  "panel",
  "serve",
  "up.py",
  "--unix-socket",
  "{socket}",
  "--prefix",
  "/user/ann/app",
  "--allow-websocket-origin",
  "*",
  "--index",
  "up"
 ],
 "env": {
  "A": "1"
 }
}
