"""The launcher on the Hub's home page: hubapps' templates first in ``template_paths``, their variables,
and the launcher as the Hub's ``default_url``.

Upstream JHub Apps configurations set ``c.JupyterHub.template_vars`` (their theme) *after*
``install_jhub_apps(c)``, replacing the dict :func:`install_home_page` filled. So the launcher's
variables are put back, and the theme read, once the whole config file has run
(:func:`restore_template_vars`, called from the service environment's refresh in
:mod:`hubapps.hub.install`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from traitlets.config import Config

from hubapps.core.theme import clean_theme
from hubapps.hub.config import HubApps

__all__ = ["TEMPLATES", "install_home_page", "read_theme", "restore_template_vars"]

log = logging.getLogger("hubapps")

#: Hub templates of the launcher: home page, navigation entries, "app not running" page.
TEMPLATES = str(Path(__file__).resolve().parent / "templates")


def _launcher_home(handler: Any) -> str:
    """``c.JupyterHub.default_url``: the launcher home, under whatever base_url the Hub has."""
    return f"{handler.hub.base_url}home"


def _service_origin(name: str) -> Any:
    """A template variable: the launcher service's ``proto://host[:port]`` as JupyterHub made it
    (``Service.host``, from ``subdomain_hook``), or "" when it shares the Hub's origin.

    Pages without a user (the login page) read it from the running Hub's settings: there too the theme's
    stylesheet is the launcher's, which under ``subdomain_host`` the Hub's host does not serve."""

    def origin(user: Any) -> str:
        settings = getattr(user, "settings", None) if user is not None else _running_hub_settings()
        services = settings.get("services") if isinstance(settings, dict) else None
        service = services.get(name) if isinstance(services, dict) else None
        return str(getattr(service, "host", "") or "")

    return origin


def _running_hub_settings() -> Any:
    """The running JupyterHub's ``tornado_settings`` (what ``user.settings`` is), or None outside one."""
    from jupyterhub.app import JupyterHub

    return JupyterHub.instance().tornado_settings if JupyterHub.initialized() else None


def install_home_page(c: Config, hubapps: HubApps) -> None:
    """Put the launcher on the Hub's home page (templates in :data:`TEMPLATES`)."""
    paths = c.JupyterHub.get("template_paths", None)
    paths = [p for p in paths if p != TEMPLATES] if isinstance(paths, list) else []
    c.JupyterHub.template_paths = [TEMPLATES, *paths]
    template_vars = c.JupyterHub.get("template_vars", None)
    template_vars = dict(template_vars) if isinstance(template_vars, dict) else {}
    template_vars.update(_launcher_vars(hubapps, read_theme(c, quiet=True)))
    c.JupyterHub.template_vars = template_vars
    if "default_url" not in c.JupyterHub:
        c.JupyterHub.default_url = _launcher_home


def _launcher_vars(hubapps: HubApps, theme: dict[str, str]) -> dict[str, Any]:
    return {
        "hubapps_service": hubapps.service_name,
        "hubapps_title": hubapps.title,
        "hubapps_icon": hubapps.app_icon,
        "hubapps_pinned": list(hubapps.pinned_services),
        # The launcher's origin when it has a host of its own (subdomain_host), else "" (the Hub's).
        "hubapps_origin": _service_origin(hubapps.service_name),
        # Called with the current user: on "not running" pages ``user`` is the app's owner instead.
        "hubapps_viewer": _viewer,
        # The theme keys of template_vars that passed hubapps.core.theme's checks: the templates
        # read these, never the raw keys.
        "hubapps_theme": theme,
    }


def read_theme(c: Config, *, quiet: bool = False) -> dict[str, str]:
    """The theme in ``c.JupyterHub.template_vars`` (upstream's keys), each refused value logged and left out."""
    template_vars = c.JupyterHub.get("template_vars", None)
    theme, refused = clean_theme(template_vars if isinstance(template_vars, dict) else {})
    if not quiet:
        for reason in refused.values():
            log.warning("hubapps: c.JupyterHub.template_vars: %s; left out of the theme", reason)
    return theme


def restore_template_vars(c: Config, hubapps: HubApps, theme: dict[str, str]) -> None:
    """Put the launcher's template variables (and the checked theme) into ``c.JupyterHub.template_vars``
    as the finished config file left it.

    Changed in place: JupyterHub applies the config from a merged copy that holds this very dict
    (``install()`` keeps ``template_vars`` after ``services`` in ``c.JupyterHub``, so it is applied
    after this has run). The admin's own values of the same names win.
    """
    template_vars = c.JupyterHub.get("template_vars", None)
    if not isinstance(template_vars, dict):
        template_vars = {}
        c.JupyterHub.template_vars = template_vars
    for key, value in _launcher_vars(hubapps, theme).items():
        template_vars.setdefault(key, value)
    template_vars["hubapps_theme"] = theme


def _viewer(user: Any) -> dict[str, Any]:
    if user is None:
        return {"name": "", "admin": False}
    return {"name": str(user.name), "admin": bool(user.admin)}
