"""Upstream JHub Apps' entry point, ``install_jhub_apps(c, spawner_to_subclass)``, on hubapps.

Upstream configurations read ``c = install_jhub_apps(c, ...)``, so it returns the configuration.
``c.JAppsConfig.*`` settings are aliases of ``c.HubApps`` traits (:mod:`hubapps.hub.jappsconfig`).
"""

from __future__ import annotations

from typing import Any

from traitlets.config import Config

from hubapps.hub.install import install
from hubapps.hub.jappsconfig import additional_service

__all__ = ["install_jhub_apps", "is_jupyterhub_5", "service_for_jhub_apps"]


def install_jhub_apps(
    c: Config, spawner_to_subclass: type | str | None = None, *, oauth_no_confirm: bool = False
) -> Config:
    """Drop-in for upstream JHub Apps' ``install_jhub_apps(c, spawner_to_subclass, oauth_no_confirm=False)``.

    Installs hubapps (:func:`hubapps.install`) with the spawner apps run with, and returns ``c``.
    ``oauth_no_confirm`` is upstream's: False (its default) keeps the Hub's "authorize access" page
    when users first open the launcher.
    """
    install(c, spawner_to_subclass, oauth_no_confirm=oauth_no_confirm)
    return c


def is_jupyterhub_5() -> bool:
    """Whether this JupyterHub has sharing (5 and later).

    Upstream's is ``version_info[0] == 5``, which reads JupyterHub 6 as "no sharing"; the configs use
    it to decide whether to grant the sharing scopes, which JupyterHub 6 has too.
    """
    from jupyterhub import version_info

    return int(version_info[0]) >= 5


def service_for_jhub_apps(
    name: str, url: str, description: str | None = None, pinned: bool = False, thumbnail: str | None = None
) -> dict[str, Any]:
    """Upstream's helper: a JupyterHub service entry for an external link (as ``additional_services``
    entries become), for ``c.JupyterHub.services``. A pinned one is listed in the Hub's services menu;
    for a quick-access card on the launcher home, use ``c.JAppsConfig.additional_services`` (or
    ``c.HubApps.pinned_services``)."""
    return additional_service(
        {"name": name, "url": url, "description": description, "pinned": pinned, "thumbnail": thumbnail}
    )
