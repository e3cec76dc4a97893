"""The launcher's pages that show apps, rendered on the server (Jinja2, autoescape) over the operations.

=========================================  =======================================================
``<prefix>ui/gallery``                     the app gallery as an HTML fragment (the Hub home page
                                           inserts it; same query as ``/hub/home``)
``<prefix>ui/apps/<owner>/<app>``          details: spec, status, URL, shares, live log, activity,
                                           revisions (``?from=&to=`` compares two)
``<prefix>ui/apps/<owner>/<app>/revisions/<n>/rollback``  roll back (POST, ``_xsrf`` field)
``<prefix>ui/apps/<owner>/<app>/watch``    start progress: Hub progress + the app's log, then opens it
``<prefix>ui/thumbnails/sha256:<hex>``     re-encoded thumbnails (``nosniff``, sandbox CSP)
=========================================  =======================================================

The deploy and edit forms are :mod:`hubapps.service.routes.deploy`; rendering and each page's CSP
are :mod:`hubapps.service.rendering`. No ``GET`` here changes anything: starting is a ``POST`` (the
start page's button, or the forms' "start" boxes), and so is a rollback. (Listing the revisions of an
app made before revisions records its revision 1, once: the history as it always was, not a change.)
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse

from hubapps.core.errors import SpecError
from hubapps.service import operations
from hubapps.service.app_models import app_url
from hubapps.service.auth import current_user
from hubapps.service.deps import Settings, caller_for, page_caller
from hubapps.service.errors import NotAuthenticated, NotFound, ServiceError
from hubapps.service.operations import Caller
from hubapps.service.rendering import (
    apps_home,
    page_context,
    public_app_url,
    q,
    render,
    thumbnail_url,
)
from hubapps.service.schemas import Accepted, AppPublic, EventPublic, RevisionCompare, RollbackRequest
from hubapps.service.secrets import looks_secret
from hubapps.service.settings import ServiceSettings
from hubapps.service.thumbnails import THUMBNAIL_HEADERS, ThumbnailStore

__all__ = ["activity_row", "card", "router"]

router = APIRouter(include_in_schema=False)

_SORTS = {"recent": "-last_activity", "name": "name"}
_ACCESS = ("owned", "shared", "public")
_STATES = ("running", "starting", "failed", "stopping", "stopped", "unknown")


def card(settings: ServiceSettings, app: AppPublic) -> dict[str, Any]:
    """What an app's card (gallery, details, start progress) shows."""
    return {
        "app": app,
        "thumb": thumbnail_url(settings, app.thumbnail) or settings.default_thumbnail,
        "initial": (app.display_name[:1] or "?").upper(),
        "manage": app.access in ("owned", "admin"),
        "shared": app.access == "shared",
        # A stored spec hubapps will not run as it is (upstream JHub Apps' pipeline, say): its form fixes it.
        "edit_url": f"{settings.prefix}ui/apps/{quote(app.owner, safe='')}/{quote(app.name, safe='')}/edit",
    }


#: Longest event detail the Activity section shows (the export has it whole).
MAX_DETAIL = 200


def activity_row(event: EventPublic) -> dict[str, str]:
    """One event as the details page's Activity section shows it (the template escapes every cell)."""
    parts = []
    for key, value in event.detail.items():
        if isinstance(value, list):
            if not value:
                continue
            value = ", ".join(map(str, value))
        parts.append(f"{key}: {value}")
    detail = "; ".join(parts)
    if len(detail) > MAX_DETAIL:
        detail = detail[: MAX_DETAIL - 1] + "…"
    return {"at": event.at, "kind": event.kind, "actor": event.actor, "detail": detail}


# -- gallery ----------------------------------------------------------------------------------------


@router.get("/ui/gallery")
async def gallery(
    request: Request,
    settings: Settings,
    q: str = "",
    framework: str = "",
    state: str = "",
    access: str = "",
    sort: str = "recent",
    view: str = "grid",
    page: int = 1,
    per_page: int = 0,
) -> Response:
    """The gallery fragment; 403 (JSON) when the browser has not logged in to the service yet.

    The Hub home page fetches it (it is not a navigation), so it carries the XSRF token to a ``fetch``;
    it is refused unless the browser says the request comes from this origin (or says nothing).
    """
    site = request.headers.get("Sec-Fetch-Site")
    if (site is not None and site not in ("same-origin", "none")) or request.headers.get("Sec-Fetch-Dest") == "iframe":
        return Response("The gallery is shown on the Hub's home page only.", 403, media_type="text/plain")
    identity = await current_user(request)
    caller = caller_for(request, identity)
    registry = caller.registry
    q = q.strip()[:200]
    framework = framework if framework in registry else ""
    state = state if state in _STATES else ""
    # "all" (every user's apps) is offered to Hub admins only; anyone else gets the default listing.
    access = access if access in _ACCESS or (access == "all" and identity.admin) else ""
    sort = sort if sort in _SORTS else "recent"
    view = view if view in ("grid", "table") else "grid"
    per_page = min(per_page or settings.gallery_page_size, settings.gallery_page_max)
    page = max(page, 1)
    listing = await operations.list_apps(
        caller,
        access=[access] if access else None,
        framework=framework or None,
        state=state or None,
        q=q or None,
        sort=_SORTS[sort],
        offset=(page - 1) * per_page,
        limit=per_page,
        all_servers=False,
    )
    pages = max(1, math.ceil(listing.count / per_page))
    query = {"q": q, "framework": framework, "state": state, "access": access, "sort": sort, "view": view}
    if per_page != settings.gallery_page_size:
        query["per_page"] = str(per_page)
    defaults = {"sort": "recent", "view": "grid"}
    kept = {k: v for k, v in query.items() if v and defaults.get(k) != v}

    def link(**change: Any) -> str:
        merged = {**kept, **{k: str(v) for k, v in change.items()}}
        merged = {k: v for k, v in merged.items() if v and not (k == "page" and v == "1")}
        return apps_home(settings) + (f"?{urlencode(merged)}" if merged else "")

    return render(
        request,
        settings,
        "gallery.html",
        **page_context(request, settings, identity),
        cards=[card(settings, a) for a in listing.data],
        count=listing.count,
        page=page,
        pages=pages,
        query=query,
        link=link,
        frameworks=list(registry),
        filtered=bool(q or framework or state or access),
    )


# -- thumbnails -------------------------------------------------------------------------------------


@router.get("/ui/thumbnails/{ref}")
async def thumbnail(ref: str, request: Request) -> Response:
    thumbs: ThumbnailStore = request.app.state.thumbnails
    found = await thumbs.get(ref)
    if found is None:
        raise NotFound()
    return Response(found.data, media_type=found.content_type, headers=THUMBNAIL_HEADERS)


# -- details and start progress --------------------------------------------------------------------------


@router.get("/ui/apps/{owner}/{server}")
async def details(
    owner: str,
    server: str,
    request: Request,
    settings: Settings,
    notice: str = "",
    first: Annotated[str, Query(alias="from")] = "",
    second: Annotated[str, Query(alias="to")] = "",
) -> Response:
    caller = await page_caller(request)
    if isinstance(caller, Response):
        return caller  # not a navigation, or not logged in yet
    pair = (int(first), int(second)) if first.isdigit() and second.isdigit() else None
    return await _details_page(request, caller, owner, server, notice=notice, compare=pair)


def _shown_value(value: Any, *, present: bool, hidden: bool, secret: bool) -> str:
    if not present:
        return "(not set)"
    if hidden:
        return "•••••• (secret)" if secret else "••••••"
    return value if isinstance(value, str) else json.dumps(value)


def _compared_rows(compared: RevisionCompare) -> list[dict[str, str]]:
    """A comparison as the page shows it: values as text, secrets (and plain variables that look
    secret, as the settings list shows them) never."""
    rows = []
    for change in compared.changes:
        name = change.field.partition(".")[2]
        hidden = change.secret or (change.field.startswith("env.") and looks_secret(name))
        rows.append(
            {
                "field": change.field,
                "change": change.change,
                "before": _shown_value(
                    change.before, present=change.change != "added", hidden=hidden, secret=change.secret
                ),
                "after": _shown_value(
                    change.after, present=change.change != "removed", hidden=hidden, secret=change.secret
                ),
            }
        )
    return rows


async def _details_page(
    request: Request,
    caller: Caller,
    owner: str,
    server: str,
    *,
    notice: str = "",
    compare: tuple[int, int] | None = None,
    rollback_error: str = "",
    status: int = 200,
) -> Response:
    settings = caller.settings
    app = await operations.app_details(caller, owner, server)
    manage = app.access in ("owned", "admin")
    activity: list[dict[str, str]] = []
    if manage:  # who opened or changed the app, and how often: its managers only
        app = (await operations.with_usage(caller, [app]))[0]
        recent = await operations.app_events(caller, owner, server, limit=settings.activity_events)
        activity = [activity_row(e) for e in recent.data]
    shares = await operations.share_pairs(caller, owner, server) if manage else []
    links = await operations.links_or_none(caller, owner, server) if manage else []
    legacy: set[str] = set()
    revisions = None
    compared: list[dict[str, str]] | None = None
    compare_error = ""
    if manage:
        legacy = await caller.secret_marks.get(owner, server)
        if app.is_app:
            revisions = await operations.list_revisions(caller, owner, server)
            if compare is not None:
                try:
                    compared = _compared_rows(await operations.compare_revisions(caller, owner, server, *compare))
                except NotFound as exc:
                    compare_error = exc.message
    spec = app.spec or {}
    env = {k: ("••••••" if (k in legacy or looks_secret(k)) else v) for k, v in (spec.get("env") or {}).items()}
    env.update(dict.fromkeys(spec.get("secret_env") or {}, "•••••• (encrypted)"))
    return render(
        request,
        settings,
        "app_detail.html",
        status,
        **page_context(request, settings, caller.identity),
        app=app,
        card=card(settings, app),
        manage=manage,
        shares=shares,
        links=links,
        env=env,
        spec=app.spec or {},
        notice=notice if notice in ("share-failed", "rolled-back") else "",
        revisions=revisions,
        compare=compare,
        compared=compared,
        compare_error=compare_error,
        rollback_error=rollback_error,
        activity=activity,
        events_export=f"{settings.prefix}api/events.jsonl?{urlencode({'owner': app.owner, 'server': app.name})}",
        # The Hub's URL when it is a full one (subdomain_host), else the path as JupyterHub escapes it.
        full_url=public_app_url(settings, app.url if "://" in app.url else app_url(settings, app.owner, app.name)),
    )


@router.post("/ui/apps/{owner}/{server}/revisions/{number}/rollback")
async def rollback(owner: str, server: str, number: int, request: Request, settings: Settings) -> Response:
    """The details page's "Roll back" buttons (a form with ``_xsrf``; ``restart=1`` for a running app).
    Done: back to the details (or, when the app restarts, to its start page); refused: the details page
    again, the reason above the revisions."""
    identity = await current_user(request)  # checks the form's _xsrf field
    caller = caller_for(request, identity)
    form = await request.form()
    restart = form.get("restart") == "1"
    before = await operations.find_app(caller, owner, server)
    try:
        result = await operations.rollback_app(caller, owner, server, number, RollbackRequest(restart=restart))
    except NotAuthenticated:
        raise
    except NotFound:
        raise
    except (SpecError, ServiceError) as exc:
        status = getattr(exc, "status_code", 422)
        message = f"{exc.field}: {exc.message}" if exc.field else exc.message
        return await _details_page(
            request, caller, owner, server, rollback_error=f"Not rolled back: {message}", status=status
        )
    target = f"{settings.prefix}ui/apps/{q(owner)}/{q(server)}"
    if isinstance(result, Accepted):
        started = (before.started or "1") if before.state != "stopped" else None
        query = {"restart": started} if started is not None else {}
        return RedirectResponse(f"{target}/watch" + (f"?{urlencode(query)}" if query else ""), status_code=303)
    return RedirectResponse(f"{target}?notice=rolled-back#revisions", status_code=303)


@router.get("/ui/apps/{owner}/{server}/watch")
async def watch(owner: str, server: str, request: Request, settings: Settings) -> Response:
    """Start progress. Opening it starts nothing (a link from anywhere may lead here): a stopped app
    shows its Start button, which POSTs with the XSRF token. ``?start=1`` of older links is ignored.

    ``?restart=<when the old run started>`` (or ``1``), set by a form that restarted a running app:
    the page waits for the new run instead of opening the old one while the Hub stops it."""
    caller = await page_caller(request)
    if isinstance(caller, Response):
        return caller  # not a navigation, or not logged in yet
    identity = caller.identity
    app = await operations.find_app(caller, owner, server)
    manage = app.access in ("owned", "admin")
    wake = False
    if not manage:
        # Someone it is shared with (or a visitor of a public app) gets a Start button when the owner
        # allows, and the app's own name (as its not-running page shows it), not its server name.
        access = await operations.viewer_access(caller, owner, server)
        wake = access.may_start
        app = app.model_copy(update={"display_name": access.spec.display_name})
    return render(
        request,
        settings,
        "watch.html",
        **page_context(request, settings, identity),
        app=app,
        card=card(settings, app),
        manage=manage,
        wake=wake,
        restart_timeout=settings.restart_timeout + settings.start_wait,
    )
