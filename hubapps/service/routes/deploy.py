"""The launcher's deploy and edit forms: showing them, and handling what they post.

=========================================  =======================================================
``<prefix>create-app`` (GET, POST)         deploy form (``?filepath=&headless=true``: the
                                           jupyterlab-jhub-apps extension's frame, :func:`_frame_page`)
``<prefix>ui/apps/<owner>/<app>/edit``     edit form (GET, POST)
=========================================  =======================================================

Forms post to the service itself (``_xsrf`` field, checked by :mod:`hubapps.service.auth`). The form
↔ spec mapping is :mod:`hubapps.service.forms`; saving calls :mod:`hubapps.service.operations`, so the
rules and the Hub calls are exactly the API's. On an error the form comes back with everything the
user typed and the message next to its field.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Awaitable, Mapping
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import FormData, UploadFile

from hubapps.core.errors import SpecError
from hubapps.service import forms, operations
from hubapps.service.app_models import server_state
from hubapps.service.auth import current_user
from hubapps.service.deps import Settings, caller_for, page_caller
from hubapps.service.errors import AppExists, NotAuthenticated, ServiceError, safe_log
from hubapps.service.operations import Caller
from hubapps.service.rendering import logo_url, page_context, q, render, thumbnail_url
from hubapps.service.schemas import Accepted, AppCreate, AppPublic
from hubapps.service.settings import ServiceSettings
from hubapps.service.thumbnails import Thumbnail

__all__ = ["router"]

log = logging.getLogger("hubapps.service.ui")

router = APIRouter(include_in_schema=False)

T = TypeVar("T")

#: Blank environment-variable rows offered below the app's own.
_BLANK_ENV_ROWS = 2


async def _attempt(errors: dict[str, str], work: Awaitable[T]) -> T | None:
    """Run an operation; a refusal lands in ``errors`` under the form field it concerns."""
    try:
        return await work
    except NotAuthenticated:
        raise
    except (SpecError, ServiceError) as exc:
        forms.record_error(errors, exc)
    return None


async def _form_page(
    request: Request,
    caller: Caller,
    values: Mapping[str, Any],
    errors: Mapping[str, str],
    *,
    app: AppPublic | None = None,
    headless: bool = False,
    status: int = 200,
    existing: str | None = None,
) -> Response:
    settings = caller.settings
    suffixes = tuple(sorted({s for fw in caller.registry if fw.needs_file for s in fw.file_suffixes}))
    (users, groups), files, environments = await asyncio.gather(
        operations.share_suggestions(caller),
        operations.owner_files(caller, app.owner if app is not None else caller.name, suffixes),
        operations.environment_names(caller),
    )
    env_rows = list(values["env"]) + [
        {"name": "", "value": "", "secret": False, "stored": False} for _ in range(_BLANK_ENV_ROWS)
    ]
    return render(
        request,
        settings,
        "app_form.html",
        status,
        # Never framed, headless or not: a page of this origin (an app's) could read the framed form's
        # XSRF token. The JupyterLab extension's frame gets :func:`_frame_page` instead.
        frame_ancestors="'none'",
        **page_context(request, settings, caller.identity),
        values=values,
        errors=errors,
        env_rows=env_rows,
        frameworks=list(caller.registry),
        environments=environments,
        unavailable=request.app.state.unavailable_frameworks,
        logos={fw.name: logo_url(settings, fw.name) for fw in caller.registry},
        profiles=settings.profiles,
        allow_public=settings.allow_public_apps,
        users=users,
        groups=groups,
        files=files,
        app=app,
        headless=headless,
        thumb=(
            f"data:image/webp;base64,{values['thumbnail_data']}"
            if values.get("thumbnail_data")
            else thumbnail_url(settings, values.get("thumbnail_ref", ""))
        ),
        thumb_pending=bool(values.get("thumbnail_data")),
        thumbnail_max_kib=settings.thumbnail_max_bytes // 1024,
        thumbnail_max_bytes=settings.thumbnail_max_bytes,
        thumbnail_width=settings.thumbnail_width,
        thumbnail_max_pixels=settings.thumbnail_max_pixels,
        thumbnail_height=settings.thumbnail_height,
        secrets_available=caller.sealer.available,
        existing=existing,
    )


async def _read_upload(
    form: FormData, values: dict[str, Any], caller: Caller, errors: dict[str, str]
) -> Thumbnail | None:
    """The form's new image, checked and re-encoded but **not stored** (it is stored only with a saved
    app): a file chosen now, or the image a refused form carried back in ``thumbnail_data``. It goes
    back into ``values["thumbnail_data"]``, so a form shown again with errors keeps it (as a
    ``data:`` URL) without the service keeping anything."""
    settings: ServiceSettings = caller.settings
    if values.get("remove_thumbnail"):
        values["thumbnail_data"] = ""
        return None
    upload = form.get("thumbnail")
    data = b""
    if isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read(settings.thumbnail_max_bytes + 1)
    elif values.get("thumbnail_data"):
        carried = str(values["thumbnail_data"])
        try:
            data = base64.b64decode(carried[: 2 * settings.thumbnail_max_bytes], validate=True)
        except ValueError:
            data = b"\0"  # refused by the decoder below, with the usual message
    values["thumbnail_data"] = ""
    if not data:
        return None
    try:
        thumb = await operations.check_image(caller, data)
    except SpecError as exc:
        errors["thumbnail"] = exc.message
        return None
    if len(thumb.data) * 4 // 3 < settings.thumbnail_max_bytes:  # else it is chosen again after an error
        values["thumbnail_data"] = base64.b64encode(thumb.data).decode("ascii")
    return thumb


async def _share_as_asked(
    caller: Caller,
    owner: str,
    server: str,
    values: Mapping[str, Any],
    current_shares: set[tuple[str, str]],
    errors: dict[str, str],
) -> None:
    """Shares, once the app exists: those the form adds, then those it takes away."""
    changes = forms.share_changes(values, current_shares)
    try:
        added = changes.request()
    except ServiceError as exc:
        forms.record_error(errors, exc)
        added = None
    if added is not None:
        await _attempt(errors, operations.add_shares(caller, owner, server, added))
    for kind, name in changes.revoke:
        revoke = operations.revoke_user if kind == "user" else operations.revoke_group
        await _attempt(errors, revoke(caller, owner, server, name))
    if errors:
        log.info("Sharing %s/%s failed: %s", safe_log(owner), safe_log(server), safe_log(errors))


def _saved_target(
    settings: ServiceSettings,
    owner: str,
    server: str,
    *,
    starts: bool,
    share_failed: bool,
    restarted_from: str | None = None,
) -> str:
    """Where a saved form goes: the app's start page when it (re)starts, else its details.

    ``restarted_from`` (a restart of a running app) is when the old run started, or ``""`` if unknown:
    the start page then waits for the old run to go instead of opening it while the Hub stops it
    (the Hub's "Your server is stopping" page).
    """
    target = f"{settings.prefix}ui/apps/{q(owner)}/{q(server)}"
    query: dict[str, str] = {}
    if starts:
        target += "/watch"
        if restarted_from is not None:
            query["restart"] = restarted_from or "1"
    if share_failed:
        query["notice"] = "share-failed"
    return target + (f"?{urlencode(query)}" if query else "")


def _run_started(caller: Caller, server: str) -> str | None:
    """When the caller's app ``server`` started, as the Hub said when this request began ("" if it
    did not say); None if it was stopped then."""
    model = caller.identity.servers.get(server)
    if model is None or server_state(model) == "stopped":
        return None
    return str(model.get("started") or "")


async def _deploy_or_ask(caller: Caller, body: AppCreate) -> tuple[AppPublic | Accepted, bool] | AppExists:
    """:func:`operations.deploy_app`, or the :class:`AppExists` the form turns into a question."""
    try:
        return await operations.deploy_app(caller, body)
    except AppExists as exc:
        return exc


def _frame_page(request: Request, settings: ServiceSettings, filepath: str, framework: str) -> Response:
    """What the ``jupyterlab-jhub-apps`` extension's frame shows: no navigation bar, the file named,
    and a link that opens the deploy form, filled in, in a tab of its own.

    The form itself is never framed (its XSRF token would be readable by any page of this origin that
    frames it, an app's too), so this page carries nothing of the user's: no login is read, no token is
    put in, and it changes nothing. Only pages of the Hub's own origin may frame it (``frame-ancestors
    'self'``), where JupyterLab runs.
    """
    query = urlencode({k: v for k, v in (("filepath", filepath), ("framework", framework)) if v})
    return render(
        request,
        settings,
        "app_frame.html",
        frame_ancestors="'self'",
        **page_context(request, settings, None),
        headless=True,
        filepath=filepath,
        framework=framework,
        query=query,
    )


# -- deploy -------------------------------------------------------------------------------------------


@router.get("/create-app")
async def create_form(
    request: Request, settings: Settings, filepath: str = "", headless: bool = False, framework: str = ""
) -> Response:
    """The deploy form; the form posts back to this URL. In a frame (the JupyterLab extension's), with
    ``headless``: :func:`_frame_page`."""
    if headless and request.headers.get("Sec-Fetch-Dest") == "iframe":
        return _frame_page(request, settings, filepath[:1024], framework)
    caller = await page_caller(request)
    if isinstance(caller, Response):
        return caller  # not a navigation, or not logged in yet
    registry = caller.registry
    values = forms.blank_values(filepath=filepath[:1024], framework=framework if framework in registry else "")
    if not values["framework"] and filepath:
        suffix = Path(filepath).suffix
        unavailable = request.app.state.unavailable_frameworks
        values["framework"] = next(
            (fw.name for fw in registry if suffix in fw.file_suffixes and fw.name not in unavailable), ""
        )
    return await _form_page(request, caller, values, {}, headless=headless)


@router.post("/create-app")
async def create_submit(request: Request, settings: Settings) -> Response:
    identity = await current_user(request)  # checks the form's _xsrf field
    caller = caller_for(request, identity)
    form = await request.form()
    values = forms.values_from_form(form)
    headless = form.get("headless") == "1"
    errors: dict[str, str] = {}
    if form.get("action") == "prefill":
        return await _prefilled(request, caller, values, headless=headless)
    thumb = await _read_upload(form, values, caller, errors)
    create = forms.create_request(values, errors, thumbnail=thumb.ref if thumb is not None else None)
    existing: str | None = None
    if create is not None:
        # The image must be there if the deploy updates an existing app (the Hub takes the spec at
        # once); a refused form keeps nothing.
        stored = thumb is not None and await caller.thumbnails.put(thumb)
        deployed = await _attempt(errors, _deploy_or_ask(caller, create))
        if isinstance(deployed, AppExists):
            forms.record_error(errors, deployed)
            existing, deployed = deployed.server, None
        if deployed is None and stored and thumb is not None:
            await caller.thumbnails.discard(thumb.ref)
        if deployed is not None:
            result, created = deployed
            owner, server = result.id.split("/", 1)
            if created:  # (an update records the app's image itself)
                await caller.thumbnails.claim(owner, server, create.thumbnail)
            shares = set() if created else set(await operations.share_pairs(caller, owner, server))
            await _share_as_asked(caller, owner, server, values, shares, errors)
            restarted_from = None if created else _run_started(caller, server)
            target = _saved_target(
                settings,
                owner,
                server,
                starts=values["start"] or restarted_from is not None,
                share_failed=bool(errors),
                restarted_from=restarted_from,
            )
            if headless:
                target += ("&" if "?" in target else "?") + "headless=1"
            return RedirectResponse(target, status_code=303)
    return await _form_page(request, caller, values, errors, headless=headless, status=422, existing=existing)


async def _prefilled(request: Request, caller: Caller, values: dict[str, Any], *, headless: bool) -> Response:
    """The deploy form again, with what the repository's ``conda-project.yml`` says ("From git")."""
    errors: dict[str, str] = {}
    values["source"] = "git"
    if not values["repo_url"].strip():
        errors["repo_url"] = "give the repository URL to read the app's settings from"
    else:
        try:
            asked = forms.prefill_request(values)
        except ServiceError as exc:
            forms.record_error(errors, exc)
            asked = None
        prefill = await _attempt(errors, operations.app_config_from_git(caller, asked)) if asked else None
        if prefill is not None:
            forms.apply_prefill(values, prefill)
    if values["repo_token"]:
        values["notes"] = [*values["notes"], "Type the token again to save it with the app (it is not shown back)."]
    values["repo_token"] = ""
    return await _form_page(request, caller, values, errors, headless=headless, status=422 if errors else 200)


# -- edit ---------------------------------------------------------------------------------------------


@router.get("/ui/apps/{owner}/{server}/edit")
async def edit_form(owner: str, server: str, request: Request, settings: Settings) -> Response:
    caller = await page_caller(request)
    if isinstance(caller, Response):
        return caller  # not a navigation, or not logged in yet
    app = await operations.managed_app(caller, owner, server)
    values = forms.values_from_spec(app.spec or {}, await caller.secret_marks.get(owner, server))
    values.update(forms.shares_values(await operations.share_pairs(caller, owner, server)))
    # A stored spec hubapps will not run as it is (one made by upstream JHub Apps, say): the form
    # opens with the reason and the fix beside the field to change.
    errors = forms.problem_errors(app.problem.field, app.problem.message) if app.problem else {}
    return await _form_page(request, caller, values, errors, app=app)


@router.post("/ui/apps/{owner}/{server}/edit")
async def edit_submit(owner: str, server: str, request: Request, settings: Settings) -> Response:
    identity = await current_user(request)
    caller = caller_for(request, identity)
    app = await operations.managed_app(caller, owner, server)
    form = await request.form()
    values = forms.values_from_form(form)
    errors: dict[str, str] = {}
    thumb = await _read_upload(form, values, caller, errors)
    legacy = await caller.secret_marks.get(owner, server)
    running = app.state != "stopped"
    update = forms.update_request(
        values, errors, app.spec or {}, legacy, running=running, thumbnail=thumb.ref if thumb is not None else None
    )
    if update is not None:
        # The new image must be there once the Hub takes the spec (a restart applies it later); the
        # operation records it as the app's image then (and deletes the one it replaces). Not saved:
        # not kept.
        stored = thumb is not None and await caller.thumbnails.put(thumb)
        saved = await _attempt(errors, operations.update_app(caller, owner, server, update))
        if saved is None and stored and thumb is not None:
            await caller.thumbnails.discard(thumb.ref)
        if saved is not None:
            shares = set(await operations.share_pairs(caller, owner, server))
            await _share_as_asked(caller, owner, server, values, shares, errors)
            starts = forms.starts_after_save(values, running=running)
            restarted_from = (app.started or "") if running else None
            target = _saved_target(
                settings, owner, server, starts=starts, share_failed=bool(errors), restarted_from=restarted_from
            )
            return RedirectResponse(target, status_code=303)
    return await _form_page(request, caller, values, errors, app=app, status=422)
