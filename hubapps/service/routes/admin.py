"""Admins' routes: the startup apps' report and an on-demand reconcile (REST and the launcher page).

=================================================  ==============================================
``GET <prefix>api/admin/startup-apps``             the report (JSON): per entry, state and message
``POST <prefix>api/admin/startup-apps/reconcile``  reconcile now; the report after it (409: busy)
``GET <prefix>ui/admin/startup-apps``              the same report as a page, "Reconcile now"
``POST <prefix>ui/admin/startup-apps``             the page's button (form with ``_xsrf``)
=================================================  ==============================================

Hub admins only; anyone else gets 404, as for anything they may not see. The reconcile itself is
:class:`hubapps.service.operations.startup.StartupApps` (the service's own token, never the admin's).
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from hubapps.service.auth import CurrentUser, Identity, current_user
from hubapps.service.deps import Settings, page_caller
from hubapps.service.errors import NotFound
from hubapps.service.operations.startup import ReconcileBusy, StartupApps
from hubapps.service.rendering import page_context, render

__all__ = ["api_router", "ui_router"]

api_router = APIRouter(prefix="/admin", tags=["admin"])
ui_router = APIRouter(include_in_schema=False)


_BADGES = {
    "created": "text-bg-success",
    "updated": "text-bg-info",
    "unchanged": "text-bg-light",
    "drift": "text-bg-warning",
    "waiting": "text-bg-secondary",
    "error": "text-bg-danger",
}


def _when(at: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(at)) if at else "never"


def _startup(request: Request, identity: Identity) -> StartupApps:
    if not identity.admin:
        raise NotFound()
    startup: StartupApps = request.app.state.startup
    return startup


@api_router.get("/startup-apps", summary="Startup apps: the last reconcile's report (admins)")
async def startup_report(identity: CurrentUser, request: Request) -> dict[str, Any]:
    """Each entry of ``c.HubApps.startup_apps`` with its state (``created``, ``updated``, ``unchanged``,
    ``drift``, ``waiting``, ``error``, or ``pending`` before its first reconcile) and message, and
    when the last whole reconcile finished (unix time)."""
    return (await _startup(request, identity).report()).to_json()


@api_router.post("/startup-apps/reconcile", summary="Startup apps: reconcile now (admins)")
async def startup_reconcile(identity: CurrentUser, request: Request) -> dict[str, Any]:
    """Reconcile every entry now and answer the report; 409 while another worker reconciles."""
    report = await _startup(request, identity).reconcile()
    assert report is not None
    return report.to_json()


@ui_router.get("/ui/admin/startup-apps")
async def startup_page(request: Request, settings: Settings, notice: str = "") -> Response:
    caller = await page_caller(request)
    if isinstance(caller, Response):
        return caller  # not a navigation, or not logged in yet
    report = await _startup(request, caller.identity).report()
    return render(
        request,
        settings,
        "admin_startup.html",
        **page_context(request, settings, caller.identity),
        report=report,
        when=_when,
        badge_class=_BADGES,
        notice=notice if notice in ("done", "busy") else "",
    )


@ui_router.post("/ui/admin/startup-apps")
async def startup_page_reconcile(request: Request, settings: Settings) -> Response:
    identity = await current_user(request)  # checks the form's _xsrf field
    startup = _startup(request, identity)
    try:
        await startup.reconcile()
        notice = "done"
    except ReconcileBusy:
        notice = "busy"
    return RedirectResponse(f"{settings.prefix}ui/admin/startup-apps?notice={notice}", status_code=303)
