"""Hub-side code: runs inside the JupyterHub process. Imports nothing from FastAPI or the service."""

try:
    import jupyterhub  # noqa: F401
    import pydantic  # noqa: F401
except ImportError as missing:  # the base install (an app environment's) has neither
    raise ImportError(
        f"hubapps' Hub side needs {missing.name}: install hubapps with its hub extra "
        "in the Hub's environment (pip install 'hubapps[hub]')"
    ) from missing

from hubapps.hub.config import HubApps
from hubapps.hub.install import install
from hubapps.hub.spawner import HubAppsSpawnerMixin, make_spawner_class
from hubapps.hub.upstream import install_jhub_apps

__all__ = ["HubApps", "HubAppsSpawnerMixin", "install", "install_jhub_apps", "make_spawner_class"]
