"""Upstream JHub Apps' entry point, ``install_jhub_apps(c, SpawnerClass)``, and its settings mapped onto hubapps'."""

from __future__ import annotations

import logging
from typing import Any

from traitlets.config import Config

from hubapps.hub.config import HubApps
from hubapps.hub.install import install

__all__ = ["install_jhub_apps"]

log = logging.getLogger("hubapps")

# Upstream c.JAppsConfig names and the HubApps trait each maps to (None: accepted, has no effect).
_UPSTREAM_SETTINGS: dict[str, str | None] = {
    "service_workers": "service_workers",
    "blocked_frameworks": "blocked_frameworks",
    "allowed_frameworks": "allowed_frameworks",
    "app_title": "title",
    "hub_host": "service_host",
    "python_exec": None,
    "app_icon": None,
    "conda_envs": None,
    "jupyterhub_config_path": None,
    "default_thumbnail": None,
    "jhub_app_proxy_version": None,
    "startup_apps": "startup_apps",  # upstream's entries are read as they are (hubapps.core.startup)
    "additional_services": None,
    "allowed_custom_frameworks": None,
}


def install_jhub_apps(
    c: Config, spawner_to_subclass: type | str | None = None, *, oauth_no_confirm: bool = False
) -> HubApps:
    """Drop-in for upstream JHub Apps' ``install_jhub_apps(c, SpawnerClass)``.

    ``c.JAppsConfig.*`` settings are mapped onto ``c.HubApps``; settings with no equivalent are
    accepted with a warning so an existing configuration starts unchanged.
    """
    upstream = c.JAppsConfig if "JAppsConfig" in c else Config()
    settings: dict[str, Any] = {"oauth_no_confirm": oauth_no_confirm}
    for key, value in upstream.items():
        target = _UPSTREAM_SETTINGS.get(key, "")
        if target:
            settings[target] = value
        elif target is None:
            log.warning("c.JAppsConfig.%s has no effect with hubapps", key)
        else:
            log.warning("c.JAppsConfig.%s is unknown and ignored", key)
    return install(c, spawner_to_subclass, **settings)
