"""Server-rendered pages, and the upstream JHub Apps URLs kept for compatibility.

``/create-app?filepath=…&headless=true`` is what the ``jupyterlab-jhub-apps`` extension opens; it
shows the create form with that file. The full UI is built on the same API later. The upstream
``/server/…`` JSON routes are thin aliases of the new API for scripts written against upstream.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from hubapps.service.auth import CurrentUser, navigation_refusal, optional_user
from hubapps.service.deps import Directory, Hub, Limits, Registry, Settings
from hubapps.service.errors import NotFound
from hubapps.service.routes import apps as apps_routes
from hubapps.service.routes import ui

__all__ = ["compat_router", "pages_router"]


pages_router = APIRouter(include_in_schema=False)
compat_router = APIRouter(tags=["upstream compatibility"])


def _login_redirect(request: Request, settings: Any) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{settings.prefix}oauth_login?next={quote(target, safe='')}", status_code=302)


@pages_router.get("/")
async def home(request: Request, settings: Settings) -> Response:
    """The app gallery: the Hub's home page, or on a host of the service's own (``subdomain_host``) a
    page of its own, since the Hub's page on another origin cannot fetch the gallery (no CORS here)."""
    if not settings.own_host:
        return RedirectResponse(f"{settings.hub_prefix}home", status_code=302)
    refused = navigation_refusal(request)
    if refused is not None:
        return refused
    identity = await optional_user(request)
    if identity is None:
        return _login_redirect(request, settings)
    return ui.render_page("launcher_home.html", request, settings, identity)


@pages_router.get("/create-app")
async def create_app_page(
    request: Request,
    settings: Settings,
    hub: Hub,
    registry: Registry,
    filepath: str = "",
    headless: bool = False,
    framework: str = "",
) -> Response:
    """The deploy form (:mod:`hubapps.service.routes.ui`); the form posts back to this URL."""
    return await ui.create_form(
        request, hub, registry, settings, filepath=filepath, headless=headless, framework=framework
    )


# -- upstream JHub Apps JSON routes -----------------------------------------------------------------


@compat_router.get("/server/", summary="Upstream: {user_apps, shared_apps}")
async def upstream_servers(identity: CurrentUser, hub: Hub, directory: Directory, settings: Settings) -> dict[str, Any]:
    listing = await apps_routes.list_apps(
        identity,
        hub,
        directory,
        settings,
        access=["owned", "shared"],
        limit=settings.page_max,
        all_servers=True,
        framework=None,
        state=None,
        q=None,
        sort="name",
        offset=0,
    )
    own = [a.model_dump() for a in listing.data if a.access == "owned"]
    shared = [a.model_dump() for a in listing.data if a.access == "shared"]
    return {"user_apps": own, "shared_apps": shared}


@compat_router.get("/server/{server_name}", summary="Upstream: one of my servers")
async def upstream_server(
    server_name: str, identity: CurrentUser, hub: Hub, directory: Directory, settings: Settings
) -> dict[str, Any]:
    app = await apps_routes.find_app(identity, identity.name, server_name, hub, directory, settings)
    return app.model_dump()


@compat_router.post("/server/{server_name}", summary="Upstream: start a server (?owner= for someone else's)")
async def upstream_start(
    server_name: str, identity: CurrentUser, hub: Hub, settings: Settings, limits: Limits, owner: str = ""
) -> Response:
    return await apps_routes.start_app(owner or identity.name, server_name, identity, hub, settings, limits)


@compat_router.delete("/server/{server_name}", summary="Upstream: stop (remove=false) or delete a server")
async def upstream_stop(
    server_name: str,
    request: Request,
    identity: CurrentUser,
    hub: Hub,
    directory: Directory,
    settings: Settings,
    remove: bool = False,
) -> Response:
    if not server_name:
        raise NotFound()
    if remove:
        return await apps_routes.delete_app(identity.name, server_name, request, identity, hub, directory, settings)
    return await apps_routes.stop_app(identity.name, server_name, identity, hub, settings)
