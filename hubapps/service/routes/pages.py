"""The launcher's home page (``<prefix>``): the gallery for browsers, upstream's status for scripts.

Upstream JHub Apps answers ``GET /`` with ``{"status": "ok", "version": ...}``; hubapps keeps that
for requests that do not ask for a page (no ``text/html`` in ``Accept``: scripts, health probes).
Upstream's JSON routes are :mod:`hubapps.service.routes.upstream`; ``/create-app``, which the
``jupyterlab-jhub-apps`` extension opens, is the deploy form of :mod:`hubapps.service.routes.deploy`.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from hubapps.service.deps import Settings, page_caller
from hubapps.service.rendering import render_page
from hubapps.service.upstream import status_body

__all__ = ["pages_router"]


pages_router = APIRouter(include_in_schema=False)


@pages_router.get("/")
async def home(request: Request, settings: Settings) -> Response:
    """The app gallery: the Hub's home page, or on a host of the service's own (``subdomain_host``) a
    page of its own, since the Hub's page on another origin cannot fetch the gallery (no CORS here).
    A request that does not ask for HTML gets upstream's status instead."""
    if "text/html" not in request.headers.get("accept", ""):
        return JSONResponse(status_body())
    if not settings.own_host:
        return RedirectResponse(f"{settings.hub_prefix}home", status_code=302)
    caller = await page_caller(request)
    if isinstance(caller, Response):
        return caller  # not a navigation, or not logged in yet
    return render_page("launcher_home.html", request, settings, caller.identity)
