"""The launcher on the Hub's home page: hubapps' templates first in ``template_paths``, their variables,
and the launcher as the Hub's ``default_url``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from traitlets.config import Config

from hubapps.hub.config import HubApps

__all__ = ["TEMPLATES", "install_home_page"]

#: Hub templates of the launcher: home page, navigation entries, "app not running" page.
TEMPLATES = str(Path(__file__).resolve().parent / "templates")


def _launcher_home(handler: Any) -> str:
    """``c.JupyterHub.default_url``: the launcher home, under whatever base_url the Hub has."""
    return f"{handler.hub.base_url}home"


def _service_origin(name: str) -> Any:
    """A template variable: the launcher service's ``proto://host[:port]`` as JupyterHub made it
    (``Service.host``, from ``subdomain_hook``), or "" when it shares the Hub's origin."""

    def origin(user: Any) -> str:
        services = getattr(user, "settings", None) or {}
        service = (services.get("services") or {}).get(name) if isinstance(services, dict) else None
        return str(getattr(service, "host", "") or "")

    return origin


def install_home_page(c: Config, hubapps: HubApps) -> None:
    """Put the launcher on the Hub's home page (templates in :data:`TEMPLATES`)."""
    paths = c.JupyterHub.get("template_paths", None)
    paths = [p for p in paths if p != TEMPLATES] if isinstance(paths, list) else []
    c.JupyterHub.template_paths = [TEMPLATES, *paths]
    template_vars = c.JupyterHub.get("template_vars", None)
    template_vars = dict(template_vars) if isinstance(template_vars, dict) else {}
    template_vars.update(
        hubapps_service=hubapps.service_name,
        hubapps_title=hubapps.title,
        hubapps_icon=hubapps.app_icon,
        hubapps_pinned=list(hubapps.pinned_services),
        # The launcher's origin when it has a host of its own (subdomain_host), else "" (the Hub's).
        hubapps_origin=_service_origin(hubapps.service_name),
        # Called with the current user: on "not running" pages ``user`` is the app's owner instead.
        hubapps_viewer=_viewer,
    )
    c.JupyterHub.template_vars = template_vars
    if "default_url" not in c.JupyterHub:
        c.JupyterHub.default_url = _launcher_home


def _viewer(user: Any) -> dict[str, Any]:
    if user is None:
        return {"name": "", "admin": False}
    return {"name": str(user.name), "admin": bool(user.admin)}
