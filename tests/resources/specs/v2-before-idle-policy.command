{
 "proxy": [
  "--display-name=Board",
  "--cwd=.",
  "--ready-path=",
  "--ready-timeout=300",
  "--no-strip-prefix",
  "--app-socket",
  "--public",
  "--check-file=board.py",
  "--source-file=board.py"
 ],
 "app": [
  "{python}",
  "-m",
  "panel",
  "serve",
  "board.py",
  "--unix-socket",
  "{socket}",
  "--prefix",
  "/user/ann/app",
  "--allow-websocket-origin",
  "*",
  "--index",
  "board"
 ],
 "env": {}
}
