"""Hub-side code: runs inside the JupyterHub process. Imports nothing from FastAPI or the service."""

from hubapps.hub.config import HubApps
from hubapps.hub.install import install, install_jhub_apps
from hubapps.hub.spawner import HubAppsSpawnerMixin, make_spawner_class

__all__ = ["HubApps", "HubAppsSpawnerMixin", "install", "install_jhub_apps", "make_spawner_class"]
