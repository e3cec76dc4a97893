{
 "proxy": [
  "--display-name=Git dash",
  "--cwd=.hubapps/checkouts/app/dash",
  "--ready-path=_stcore/health",
  "--ready-timeout=300",
  "--no-strip-prefix",
  "--no-app-socket",
  "--env-prefix=/opt/envs/analytics",
  "--repo=https://git.example.org/team/dash.git",
  "--repo-ref=main",
  "--checkout=.hubapps/checkouts/app",
  "--check-file=app.py",
  "--source-file=app.py"
 ],
 "app": [
  "{python}",
  "-m",
  "streamlit",
  "run",
  "app.py",
  "--server.port",
  "{port}",
  "--server.address",
  "127.0.0.1",
  "--server.headless",
  "true",
  "--server.baseUrlPath",
  "/user/ann/app",
  "--browser.gatherUsageStats",
  "false",
  "--client.toolbarMode",
  "viewer"
 ],
 "env": {
  "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"
 }
}
