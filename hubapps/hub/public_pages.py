"""Visitors of a stopped app who are not its owner: the Hub's "not running" page, not its login form
or a 404.

A public app is one anyone with the link may open without logging in (its hubapps-proxy lets them
through); a shared app, one the Hub lets some people open. While it is stopped, its URL reaches the Hub
instead (``/hub/user/<owner>/<app>/``), and JupyterHub answers that only to people with access to the
server: an anonymous visitor of a public app was sent to the login form of a Hub they have no account
on, a logged-in visitor it is not shared with got 404, and someone it is shared with was sent, while it
started, to a progress page only its owner may see. :func:`install_public_not_running` wraps
JupyterHub's ``UserUrlHandler`` so that, for a visitor who may open the app (the public flag of its
stored spec, or the Hub's own ``access:servers`` scope of a share) but is neither its owner nor an
admin, the Hub answers with the launcher's ``not_running.html``: what the app is, who owns it, who can
start it, and, when the owner lets viewers start it, a Start button (for logged-in visitors: the start
runs with the owner's spec, through the launcher). Everything else goes to JupyterHub's own handler
unchanged: a private or unknown app sends an anonymous visitor to the login form exactly as before, so
the page tells nothing about apps that are not public.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from hubapps.core.errors import SpecError
from hubapps.core.spec import AppSpec, is_app_options, parse_user_options
from hubapps.hub.config import HubApps

__all__ = ["install_public_not_running", "public_app_not_running"]

#: Seconds a browser is told to wait before trying a stopped public app again.
RETRY_AFTER = "30"

Get = Callable[[Any, str, str], Awaitable[None]]


def _app_spawner(handler: Any, user_name: str, user_path: str) -> tuple[Any, str, AppSpec] | None:
    """``(owner, server name, spec)`` of the app ``user_path`` names, else None."""
    server_name = (user_path or "/").lstrip("/").split("/", 1)[0]
    if not server_name:
        return None
    owner = handler.find_user(user_name)
    if owner is None:
        return None
    orm_spawner = owner.orm_user.orm_spawners.get(server_name)  # never creates one
    options = getattr(orm_spawner, "user_options", None) or {}
    if orm_spawner is None or not is_app_options(options):
        return None
    try:
        spec = parse_user_options(options)
    except SpecError:
        return None
    return owner, server_name, spec


def _may_open(handler: Any, settings: HubApps, owner: Any, server_name: str, spec: AppSpec) -> bool:
    """The visitor may open the app: it is public, or the Hub lets them (a share's access scope)."""
    if spec.public and settings.allow_public_apps:
        return True
    return handler.current_user is not None and bool(
        handler.has_scope(f"access:servers!server={owner.name}/{server_name}")
    )


def _manages(handler: Any, owner: Any, server_name: str) -> bool:
    """The visitor is the owner, or may start and stop the server (an admin): JupyterHub's own pages."""
    current = handler.current_user
    if current is None:
        return False
    return bool(current.name == owner.name or handler.has_scope(f"servers!server={owner.name}/{server_name}"))


async def public_app_not_running(handler: Any, settings: HubApps, user_name: str, user_path: str) -> bool:
    """Answer a visitor (anonymous or not) of a stopped app they may open but not manage (True when
    answered): 503 with ``Retry-After`` for anonymous visitors, 424 (JupyterHub's "not running") for
    others."""
    found = _app_spawner(handler, user_name, user_path)
    if found is None:
        return False
    owner, server_name, spec = found
    if _manages(handler, owner, server_name) or not _may_open(handler, settings, owner, server_name, spec):
        return False
    spawner = owner.spawners[server_name]
    if spawner.ready:
        return False  # running: the proxy has its route; JupyterHub's handler does what it always did
    anonymous = handler.current_user is None
    handler.set_status(503 if anonymous else 424)
    handler.set_header("Retry-After", RETRY_AFTER)
    handler.set_header("Cache-Control", "no-store")
    page = await handler.render_template(
        "not_running.html",
        user=owner,
        server_name=server_name,
        spawn_url="",
        failed=False,
        failed_message="",
        hubapps_anonymous=anonymous,
        hubapps_starting=bool(spawner.pending == "spawn"),
        hubapps_viewers_can_start=spec.viewers_can_start,
    )
    handler.finish(page)
    return True


def install_public_not_running() -> None:
    """Wrap ``UserUrlHandler.get`` (once per process) with :func:`public_app_not_running`."""
    from jupyterhub.handlers.base import UserUrlHandler

    original: Get = UserUrlHandler.get
    if getattr(original, "_hubapps_public", False):
        return

    @functools.wraps(original)
    async def get(self: Any, user_name: str, user_path: str) -> None:
        if await public_app_not_running(self, _settings(self), user_name, user_path):
            return
        await original(self, user_name, user_path)

    get._hubapps_public = True  # type: ignore[attr-defined]
    UserUrlHandler.get = get


def _settings(handler: Any) -> HubApps:
    """The admin's settings, read once from the Hub's configuration (it does not change while it runs)."""
    cached: HubApps | None = handler.settings.get("hubapps_settings")
    if cached is None:
        cached = HubApps(config=handler.settings.get("config"))
        handler.settings["hubapps_settings"] = cached
    return cached
