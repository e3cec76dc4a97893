"""Upstream JHub Apps' ``c.JAppsConfig.*`` settings, read as aliases of ``c.HubApps`` traits.

Nothing is declared twice: each upstream name maps onto a :class:`~hubapps.hub.config.HubApps` trait
(sometimes through a conversion), onto the Hub's own services (``additional_services``), or is
accepted with a one-line note in the Hub's log. :func:`apply_jappsconfig` writes the mapped values into
``c.HubApps``; ``hubapps.install(c)`` calls it first, and again once the whole ``jupyterhub_config.py``
has run (``_late_settings`` in :mod:`hubapps.hub.install`), for upstream configurations that set
``c.JAppsConfig`` values after ``install_jhub_apps(c)``. A value also written as ``c.HubApps.<trait>``
is overridden by its alias; pinned ``additional_services`` are added to ``c.HubApps.pinned_services``.
"""

from __future__ import annotations

import copy
import ipaddress
import logging
from collections.abc import Callable
from typing import Any

from traitlets.config import Config

from hubapps.core.settings import AdminSettings

__all__ = ["JAPPS_ALIASES", "JAPPS_NOTES", "additional_service", "apply_jappsconfig"]

log = logging.getLogger("hubapps")

_UNSET = object()


def _frameworks(value: Any) -> list[str]:
    """Upstream's None (no restriction) is hubapps' empty list."""
    return [str(v) for v in value] if value else []


def _hub_host(value: Any, c: Config) -> dict[str, Any]:
    """``hub_host`` is the host in the service's URL (where the Hub's proxy sends /services/japps/),
    not an address to listen on. A host other than the loopback one is reached from another machine
    (Kubernetes: the proxy pod reaches the hub pod's Service, e.g. "hub"), so the service then listens
    on every interface, as upstream's does, unless ``c.HubApps.service_host`` says where."""
    host = str(value).strip()
    port = c.HubApps.get("service_port", None)
    port = port if isinstance(port, int) else AdminSettings.class_traits()["service_port"].default()
    netloc = f"[{host}]" if ":" in host else host
    out: dict[str, Any] = {"service_url": f"http://{netloc}:{port}"}
    if not _is_loopback(host) and "service_host" not in c.HubApps:
        out["service_host"] = "0.0.0.0"
    return out


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _pinned(value: Any, c: Config) -> dict[str, Any]:
    """Pinned ``additional_services`` join ``pinned_services`` (the home page's quick-access cards)."""
    names = {additional_service(item)["name"] for item in value or []}
    # The admin's own cards, and none of these twice (install() may run again on the same config).
    admin_pinned = [p for p in c.HubApps.get("pinned_services", []) if p.get("name") not in names]
    pinned = []
    for item in value or []:
        service = additional_service(item)
        info = service["info"]
        if not info["pinned"]:
            continue
        thumbnail = info["thumbnail"] or ""
        if thumbnail and not thumbnail.startswith(("/", "https://", "http://")):
            log.warning(
                "hubapps: c.JAppsConfig.additional_services %r: thumbnail is not a path or http(s) URL "
                "(inline data: images are not shown); the card has none",
                info["name"][:80],
            )
            thumbnail = ""
        pinned.append(
            {
                "name": info["name"],
                "url": info["url"],
                "description": info["description"] or "",
                "thumbnail": thumbnail,
            }
        )
    return {"pinned_services": [*admin_pinned, *pinned]}


#: ``c.JAppsConfig`` name → the ``HubApps`` settings it sets, from its value (and the config).
JAPPS_ALIASES: dict[str, Callable[[Any, Config], dict[str, Any]]] = {
    "app_title": lambda v, c: {"title": v},
    "app_icon": lambda v, c: {"app_icon": v},
    "default_thumbnail": lambda v, c: {"default_thumbnail": v},
    "python_exec": lambda v, c: {"service_python": v},
    "conda_envs": lambda v, c: {"conda_envs": v},
    "hub_host": _hub_host,
    "service_workers": lambda v, c: {"service_workers": v},
    "allowed_frameworks": lambda v, c: {"allowed_frameworks": _frameworks(v)},
    "blocked_frameworks": lambda v, c: {"blocked_frameworks": _frameworks(v)},
    # Upstream's entries ({username, servername, user_options}) are read by hubapps.core.startup.
    "startup_apps": lambda v, c: {"startup_apps": v},
    "additional_services": _pinned,
}

#: ``c.JAppsConfig`` names accepted with a note: what hubapps does instead.
JAPPS_NOTES: dict[str, str] = {
    "jupyterhub_config_path": "the launcher never re-executes jupyterhub_config.py: install() hands its "
    "settings to the service",
    "jhub_app_proxy_version": "apps run hubapps' own proxy (hubapps.proxy), installed with hubapps; "
    "nothing is downloaded at start",
    "apps_auth_type": "each app's access is its own (private, shared or public), checked by its proxy",
    "banners": "not shown by hubapps",
}


def additional_service(item: Any) -> dict[str, Any]:
    """An upstream ``additional_services`` entry as the Hub service upstream registers for it:
    ``{name, display: True, info: {name, description, url, external: True, pinned, thumbnail}}``
    (no url or command: a link in the Hub's services menu, not proxied)."""
    data = dict(item) if isinstance(item, dict) else dict(getattr(item, "__dict__", {}))
    name = str(data.get("name", "")).strip()
    url = str(data.get("url", "")).strip()
    if not name or not url:
        raise ValueError(f"c.JAppsConfig.additional_services: {item!r} needs a name and a url")
    return {
        "name": name,
        "display": True,
        "info": {
            "name": name,
            "description": data.get("description"),
            "url": url,
            "external": True,
            "pinned": bool(data.get("pinned", False)),
            "thumbnail": data.get("thumbnail"),
        },
    }


def apply_jappsconfig(
    c: Config, applied: dict[str, Any] | None = None, *, keep: set[str] | frozenset[str] = frozenset()
) -> dict[str, Any]:
    """Write ``c.JAppsConfig``'s values into ``c.HubApps`` (and the Hub's services), and log the notes.

    ``applied`` is what an earlier call (``install()``'s) returned: then only names set or changed
    since are applied, and one that ``install()`` had to apply at once (the service's command line or
    URL, the Hub's services and pages) stops the Hub with an error naming it. Returns what was
    applied, for the next call. ``c.HubApps`` traits named in ``keep`` (passed to ``install()``
    itself) are left as they are.
    """
    # Made if missing: a config that loads this one with load_subconfig() and sets c.JAppsConfig later
    # then writes into this very section (as it does into c.HubApps), where the late call finds it.
    upstream = c.JAppsConfig
    late = applied is not None
    before = applied or {}
    now = {key: copy.deepcopy(value) for key, value in upstream.items()}
    at_once = set(AdminSettings.class_trait_names(install=True))
    for key, value in now.items():
        if before.get(key, _UNSET) == value:
            continue
        alias = JAPPS_ALIASES.get(key)
        if alias is not None:
            mapped = alias(value, c)
            if late and (key == "additional_services" or at_once & set(mapped)):
                raise ValueError(
                    f"c.JAppsConfig.{key} set in jupyterhub_config.py after install_jhub_apps(c), which "
                    "applied it at once (the launcher service's command line or URL, the Hub's services "
                    "or pages): set it before install_jhub_apps(c)"
                )
            for trait, trait_value in mapped.items():
                if trait not in keep:
                    c.HubApps[trait] = trait_value
            if key == "additional_services":
                _register_services(c, value)
        elif key in JAPPS_NOTES:
            log.info("hubapps: c.JAppsConfig.%s is accepted and has no effect: %s", key, JAPPS_NOTES[key])
        else:
            log.warning("hubapps: c.JAppsConfig.%s is unknown and ignored", key)
    return now


def _register_services(c: Config, value: Any) -> None:
    """Upstream's additional services as Hub services (one of the same name is replaced)."""
    added = [additional_service(item) for item in value or []]
    names = {s["name"] for s in added}
    configured = c.JupyterHub.get("services", None)
    services = list(configured) if isinstance(configured, list) else []
    c.JupyterHub.services = [*(s for s in services if s.get("name") not in names), *added]
