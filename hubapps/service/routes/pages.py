"""The launcher's home page, and upstream JHub Apps' JSON routes kept for compatibility.

The upstream ``/server/…`` JSON routes are thin aliases of the API's operations for scripts written
against upstream. (``/create-app``, which the ``jupyterlab-jhub-apps`` extension opens, is the deploy
form of :mod:`hubapps.service.routes.deploy`.)
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from hubapps.service import operations
from hubapps.service.deps import CurrentCaller, Settings, page_caller
from hubapps.service.errors import NotFound
from hubapps.service.rendering import render_page
from hubapps.service.responses import accepted_response

__all__ = ["compat_router", "pages_router"]


pages_router = APIRouter(include_in_schema=False)
compat_router = APIRouter(tags=["upstream compatibility"])


@pages_router.get("/")
async def home(request: Request, settings: Settings) -> Response:
    """The app gallery: the Hub's home page, or on a host of the service's own (``subdomain_host``) a
    page of its own, since the Hub's page on another origin cannot fetch the gallery (no CORS here)."""
    if not settings.own_host:
        return RedirectResponse(f"{settings.hub_prefix}home", status_code=302)
    caller = await page_caller(request)
    if isinstance(caller, Response):
        return caller  # not a navigation, or not logged in yet
    return render_page("launcher_home.html", request, settings, caller.identity)


# -- upstream JHub Apps JSON routes -----------------------------------------------------------------


@compat_router.get("/server/", summary="Upstream: {user_apps, shared_apps}")
async def upstream_servers(caller: CurrentCaller) -> dict[str, Any]:
    listing = await operations.list_apps(
        caller,
        access=["owned", "shared"],
        limit=caller.settings.page_max,
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
async def upstream_server(server_name: str, caller: CurrentCaller) -> dict[str, Any]:
    app = await operations.find_app(caller, caller.name, server_name)
    return app.model_dump()


@compat_router.post("/server/{server_name}", summary="Upstream: start a server (?owner= for someone else's)")
async def upstream_start(server_name: str, caller: CurrentCaller, owner: str = "") -> Response:
    return accepted_response(await operations.start_app(caller, owner or caller.name, server_name))


@compat_router.delete("/server/{server_name}", summary="Upstream: stop (remove=false) or delete a server")
async def upstream_stop(server_name: str, caller: CurrentCaller, remove: bool = False) -> Response:
    if not server_name:
        raise NotFound()
    if remove:
        accepted = await operations.delete_app(caller, caller.name, server_name)
        return Response(status_code=204) if accepted.done else accepted_response(accepted)
    return accepted_response(await operations.stop_app(caller, caller.name, server_name))
