"""Anonymous visitors of a stopped public app: the Hub's "not running" page, not its login form.

A public app is one anyone with the link may open without logging in (its hubapps-proxy lets them
through). While it is stopped, its URL reaches the Hub instead (``/hub/user/<owner>/<app>/``), and
JupyterHub answers that only to logged-in users: an anonymous visitor was sent to the login form of a
Hub they have no account on. :func:`install_public_not_running` wraps JupyterHub's ``UserUrlHandler``
so that, for an anonymous visitor of a *public* app that is not running, the Hub answers 503 with the
launcher's ``not_running.html`` (what the app is, that its owner can start it). Everything else goes
to JupyterHub's own handler unchanged: a private or unknown app sends an anonymous visitor to the
login form exactly as before, so the page tells nothing about apps that are not public.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from hubapps.core.errors import SpecError
from hubapps.core.spec import is_app_options, parse_user_options
from hubapps.hub.config import HubApps

__all__ = ["install_public_not_running", "public_app_not_running"]

#: Seconds a browser is told to wait before trying a stopped public app again.
RETRY_AFTER = "30"

Get = Callable[[Any, str, str], Awaitable[None]]


def _public_spawner(handler: Any, user_name: str, user_path: str) -> tuple[Any, str, Any] | None:
    """``(owner, server name, orm spawner)`` of the public app ``user_path`` names, else None."""
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
        public = parse_user_options(options).public
    except SpecError:
        return None
    return (owner, server_name, orm_spawner) if public else None


async def public_app_not_running(handler: Any, settings: HubApps, user_name: str, user_path: str) -> bool:
    """Answer an anonymous visitor of a public app that is not running (True when answered)."""
    if not settings.allow_public_apps:
        return False
    found = _public_spawner(handler, user_name, user_path)
    if found is None:
        return False
    owner, server_name, _ = found
    spawner = owner.spawners[server_name]
    if spawner.ready:
        return False  # running: the proxy has its route; JupyterHub's handler does what it always did
    handler.set_status(503)
    handler.set_header("Retry-After", RETRY_AFTER)
    handler.set_header("Cache-Control", "no-store")
    page = await handler.render_template(
        "not_running.html",
        user=owner,
        server_name=server_name,
        spawn_url="",
        failed=False,
        failed_message="",
        hubapps_anonymous=True,
        hubapps_starting=bool(spawner.pending == "spawn"),
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
        if self.current_user is None:
            settings = _settings(self)
            if await public_app_not_running(self, settings, user_name, user_path):
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
