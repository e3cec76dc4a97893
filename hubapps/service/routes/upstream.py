"""Upstream JHub Apps' REST API, answered with upstream's shapes, over the same operations as ours.

=====================================  ============================================================
``GET /server/``                       ``{"user_apps": [...], "shared_apps": [...]}`` of server models
``GET /server/{name}``                 one of my servers (``lab``/``vscode``: the default one)
``POST /server``                       create and start: multipart ``data`` (+ file ``thumbnail``)
``POST /server/{name}?owner=``         start (someone else's shared app: when its owner allows)
``PUT /server/{name}``                 edit (and start): multipart ``data``, ``thumbnail``,
                                       ``thumbnail_data_url``
``DELETE /server/{name}?remove=``      stop, or delete
``GET /user``                          who I am, with ``share_permissions``
``GET /frameworks/``                   the frameworks allowed here
``GET /conda-environments/``           the environments apps may run in
``GET /spawner-profiles/``             the spawner profiles apps may use
``GET /services/``                     the Hub's services, as the Hub lets the caller see them
=====================================  ============================================================

(``/jhub-login`` is the login's, ``/status`` and ``/`` the service's own; ``/config.json``,
``/theme``, ``/theme.css`` and ``/app-config-from-git/`` have modules of their own.)

Every route translates upstream's wire shapes (:mod:`hubapps.service.upstream`) to the operations'
inputs and back, so creating or editing an app here records its revisions and events, claims the
owner's limits, applies the admin's policy and re-encodes images exactly as hubapps' own API does.
Authentication is the service's (``Authorization: token``/``bearer`` with a Hub token, or the login
cookie, whose writes need the XSRF token). Errors have hubapps' body (``detail``, ``field``,
``code``) with upstream's status codes where upstream documents them.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from hubapps.core.spec import is_app_options
from hubapps.service import operations
from hubapps.service.body import validated
from hubapps.service.deps import CurrentCaller
from hubapps.service.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidInput,
    LimitReached,
    NotFound,
    ServiceError,
    safe_log,
)
from hubapps.service.hub_models import ServerModel
from hubapps.service.operations import Caller
from hubapps.service.schemas import AppCreate, AppPublic, AppUpdate, ShareCreate
from hubapps.service.upstream import (
    ServerCreation,
    SharePermissions,
    from_upstream_options,
    logo_url,
    thumbnail_ref_of_url,
    upstream_framework,
    upstream_server,
)

__all__ = ["router"]

log = logging.getLogger("hubapps.service.upstream")

router = APIRouter(tags=["upstream JHub Apps"])

#: Upstream's names of the default server (its JupyterLab and VS Code cards).
_DEFAULT_SERVER_ALIASES = ("lab", "vscode")


class SharingFailed(ServiceError):
    """The app was saved, but a share it asked for was refused (the status is the refusal's)."""

    code = "sharing_failed"

    def __init__(self, server: str, exc: ServiceError) -> None:
        super().__init__(f"the app {server!r} was saved, but sharing it failed: {exc.message}", field="share_with")
        self.status_code = exc.status_code


# -- reading the multipart body ---------------------------------------------------------------------


async def _form(request: Request) -> FormData:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("multipart/form-data", "application/x-www-form-urlencoded"):
        raise BadRequest("send a multipart form with a 'data' field holding the JSON (as upstream's API takes it)")
    try:
        return await request.form()
    except AssertionError:
        raise BadRequest("the form could not be read") from None


def _server_creation(form: FormData) -> ServerCreation:
    raw = form.get("data")
    if not isinstance(raw, str):
        raise InvalidInput("field required", field="data")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise InvalidInput("is not valid JSON", field="data") from None
    if not isinstance(data, dict):
        raise InvalidInput("must be a JSON object", field="data")
    try:
        creation = ServerCreation.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        loc = [str(p) for p in first["loc"]]
        field = ".".join(loc[1:] if len(loc) > 1 and loc[0] == "user_options" else loc) or None
        raise InvalidInput(str(first["msg"]), field=field) from None
    if not creation.user_options.jhub_app:
        raise InvalidInput("only apps (jhub_app: true) are created here", field="jhub_app")
    return creation


def _check_framework(caller: Caller, fields: dict[str, Any], sent: str) -> None:
    """Upstream's 403 for a framework the admin did not allow (``allowed_frameworks``/``blocked_frameworks``)."""
    if fields["framework"] not in caller.registry:
        raise Forbidden(
            f'Given framework "{sent}" is not allowed on this deployment, please contact admin.', field="framework"
        )


def _sharing_asked(caller: Caller, share_with: SharePermissions | None) -> ShareCreate | None:
    """The shares asked for (None: none, or not said); refused before anything changes when sharing is off."""
    if share_with is None:
        return None
    wanted = validated(ShareCreate, {"users": share_with.users, "groups": share_with.groups})
    if wanted.users or wanted.groups:
        operations.sharing_allowed(caller.settings, "share_with")
    return wanted


async def _upload(caller: Caller, form: FormData, data_url: str = "") -> tuple[str, bool] | None:
    """The image sent (a file ``thumbnail``, else a ``data:`` URL), stored: its ref and whether it is new."""
    upload = form.get("thumbnail")
    data: bytes | None = None
    max_bytes = caller.settings.thumbnail_max_bytes
    if isinstance(upload, UploadFile) and (upload.filename or upload.size):
        data = await upload.read(max_bytes + 1)
    elif data_url:
        data = operations.data_url_bytes(data_url, max_bytes)
    if not data:
        return None
    return await operations.store_image(caller, data)


async def _apply_shares(caller: Caller, server: str, wanted: ShareCreate | None, *, created: bool) -> None:
    """Shares after a save: the ones asked for added, the others revoked (upstream re-shares each time)."""
    if wanted is None:
        return
    owner = caller.name
    current = set() if created else set(await operations.share_pairs(caller, owner, server))
    asked = {("user", u) for u in wanted.users} | {("group", g) for g in wanted.groups}
    try:
        added = asked - current
        if added:
            await operations.add_shares(
                caller,
                owner,
                server,
                ShareCreate(
                    users=sorted(n for k, n in added if k == "user"), groups=sorted(n for k, n in added if k == "group")
                ),
            )
        for kind, name in sorted(current - asked):
            revoke = operations.revoke_user if kind == "user" else operations.revoke_group
            await revoke(caller, owner, server, name)
    except ServiceError as exc:
        log.info("Sharing %s/%s as asked failed: %s", safe_log(owner), safe_log(server), safe_log(exc.message))
        raise SharingFailed(server, exc) from None


def _multipart(*, edit: bool) -> dict[str, Any]:
    """``openapi_extra`` documenting upstream's multipart body (read by the route itself)."""
    fields: dict[str, Any] = {
        "data": {"type": "string", "description": 'JSON: {"servername": ..., "user_options": {...}} (upstream\'s)'},
        "thumbnail": {"type": "string", "format": "binary", "description": "PNG, JPEG or WebP (re-encoded)"},
        "_xsrf": {"type": "string", "description": "with the login cookie only"},
    }
    if edit:
        fields["thumbnail_data_url"] = {
            "type": "string",
            "description": "a data:image/… URL, or the thumbnail URL this API gave (keeps the image)",
        }
    schema = {"type": "object", "required": ["data"], "properties": fields}
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}}


def _status_of(app: AppPublic) -> int:
    return 201 if app.state == "running" else 202


# -- routes ------------------------------------------------------------------------------------------


@router.get("/server/", summary="My servers and the apps shared with me")
async def list_servers(caller: CurrentCaller) -> dict[str, list[dict[str, Any]]]:
    listing = await operations.list_apps(
        caller, access=["owned", "shared"], all_servers=True, limit=caller.settings.page_max
    )
    mine = caller.identity.servers
    user_apps: list[dict[str, Any]] = []
    shared_apps: list[dict[str, Any]] = []
    for app in listing.data:
        if app.access == "owned":
            model: ServerModel = {**mine.get(app.name, {}), "name": app.name}
            user_apps.append(upstream_server(caller.settings, model))
        else:
            shared_apps.append(_shared_server(caller, app))
    return {"shared_apps": shared_apps, "user_apps": user_apps}


def _shared_server(caller: Caller, app: AppPublic) -> dict[str, Any]:
    """An app shared with the caller as a server model: what they may see of it (not its spec)."""
    options = {
        "spec_version": 2,
        "framework": app.framework,
        "display_name": app.display_name,
        "description": app.description,
        "public": app.public,
        "thumbnail": app.thumbnail,
    }
    model: ServerModel = {
        "name": app.name,
        "ready": app.ready,
        "pending": None,
        "url": app.url,
        "stopped": app.state == "stopped",
        "user_options": options,
    }
    server = upstream_server(caller.settings, model)
    server["user"] = {"name": app.owner}  # as a Hub share names its server's owner
    return server


@router.get("/server/{server_name}", summary="One of my servers ('lab' and 'vscode': the default one)")
async def read_server(server_name: str, caller: CurrentCaller) -> dict[str, Any]:
    name = "" if server_name in _DEFAULT_SERVER_ALIASES else server_name
    model = caller.identity.servers.get(name)
    if model is None:
        raise NotFound(f"server {server_name[:200]!r} not found")
    shares: dict[str, list[str]] | None = None
    if name and is_app_options(model.get("user_options")):
        pairs = await operations.share_pairs(caller, caller.name, name)
        shares = {"users": [n for k, n in pairs if k == "user"], "groups": [n for k, n in pairs if k == "group"]}
    return upstream_server(caller.settings, {**model, "name": name}, shares=shares)


@router.post(
    "/server",
    summary="Create an app and start it: multipart 'data' (+ file 'thumbnail')",
    openapi_extra=_multipart(edit=False),
)
async def create_server(request: Request, caller: CurrentCaller) -> JSONResponse:
    form = await _form(request)
    creation = _server_creation(form)
    options = creation.user_options
    fields = from_upstream_options(options)
    _check_framework(caller, fields, options.framework)
    wanted = _sharing_asked(caller, options.share_with)
    image = await _upload(caller, form)
    ref, fresh = image or ("", False)
    body = AppCreate.model_validate({**fields, "thumbnail": ref, "start": True, "on_conflict": "new"})
    try:
        app = await operations.create_app(caller, body)
    except BaseException:
        await operations.discard_image(caller, ref, fresh)
        raise
    if ref:
        await caller.thumbnails.claim(caller.name, app.name, ref)
    await _apply_shares(caller, app.name, wanted, created=True)
    return JSONResponse([_status_of(app), app.name])


@router.post("/server/", summary="Start my default server", include_in_schema=False)
@router.post("/server/{server_name}", summary="Start a server (?owner= for an app shared with me)")
async def start_server(caller: CurrentCaller, server_name: str = "", owner: str = "") -> JSONResponse:
    who = owner or caller.name
    try:
        accepted = await operations.start_or_wake(caller, who, server_name)
    except NotFound:
        # Upstream's answer for both "may not" and "does not exist" (which it does not tell apart either).
        raise Forbidden(
            f"User doesn't have permissions to start server: {server_name[:200]!r} "
            "or the server with this name does not exist"
        ) from None
    except LimitReached:
        raise
    except Conflict as exc:
        raise BadRequest(f"Probably server {server_name[:200]!r} is already running: {exc.message}") from None
    return JSONResponse(201 if accepted.done else 202)


@router.put(
    "/server/{server_name}",
    summary="Edit one of my apps and start it: multipart 'data', 'thumbnail'",
    openapi_extra=_multipart(edit=True),
)
async def update_server(server_name: str, request: Request, caller: CurrentCaller) -> JSONResponse:
    form = await _form(request)
    creation = _server_creation(form)
    options = creation.user_options
    fields = from_upstream_options(options)
    _check_framework(caller, fields, options.framework)
    wanted = _sharing_asked(caller, options.share_with)
    model = caller.identity.servers.get(server_name)
    if not server_name or model is None or not is_app_options(model.get("user_options")):
        raise NotFound(f"server {server_name[:200]!r} not found")
    current_ref = str((model.get("user_options") or {}).get("thumbnail") or "")
    kept = form.get("thumbnail_data_url")
    kept_url = kept if isinstance(kept, str) else ""
    image = await _upload(caller, form, "" if thumbnail_ref_of_url(caller.settings, kept_url) else kept_url)
    ref, fresh = image or ("", False)
    if image is None and thumbnail_ref_of_url(caller.settings, kept_url) == current_ref:
        ref = current_ref  # the image it has, sent back as the URL this API gave it
    update = AppUpdate.model_validate(
        {
            **fields,
            "thumbnail": ref,
            "restart": True,  # upstream's edit stops the app and starts it with the new options
        }
    )
    try:
        result = await operations.update_app(caller, caller.name, server_name, update)
    except BaseException:
        await operations.discard_image(caller, ref, fresh)
        raise
    await _apply_shares(caller, server_name, wanted, created=False)
    done = not isinstance(result, AppPublic) and result.done
    return JSONResponse([201 if done else 202, server_name])


@router.delete("/server/", summary="Stop my default server", include_in_schema=False)
@router.delete("/server/{server_name}", summary="Stop a server (remove=true: delete it)")
async def delete_server(caller: CurrentCaller, server_name: str = "", remove: bool = False) -> Response:
    if remove:
        if not server_name:
            raise BadRequest("the default server cannot be deleted here")
        accepted = await operations.delete_app(caller, caller.name, server_name)
    else:
        accepted = await operations.stop_app(caller, caller.name, server_name)
    return JSONResponse(204 if accepted.done else 202)


@router.get("/user", summary="Who I am (upstream's User model)")
async def me(caller: CurrentCaller) -> dict[str, Any]:
    model = caller.identity.model
    users, groups = await operations.share_suggestions(caller)
    return {
        "name": caller.name,
        "admin": caller.identity.admin,
        "groups": caller.identity.groups,
        "kind": str(model.get("kind") or "user"),
        "server": model.get("server"),
        "pending": model.get("pending"),
        "last_activity": model.get("last_activity"),
        "servers": {
            name: upstream_server(caller.settings, {**server, "name": name})
            for name, server in caller.identity.servers.items()
        },
        "scopes": sorted(caller.identity.scopes),
        "auth_state": None,  # never shown by the launcher
        "share_permissions": {"users": users, "groups": groups},
    }


@router.get("/frameworks/", summary="The frameworks allowed here")
async def frameworks(request: Request, caller: CurrentCaller) -> list[dict[str, str]]:
    """Upstream's shape has no word for "not available here": a framework whose runtime is missing is
    left out, never offered to upstream's clients as if it could run (hubapps' own /api/frameworks
    lists it with the reason)."""
    settings = caller.settings
    unavailable: dict[str, str] = request.app.state.unavailable_frameworks
    return [
        {
            "name": upstream_framework(fw.name),
            "display_name": fw.display_name,
            "logo": logo_url(settings, fw.name),
            "logo_path": logo_url(settings, fw.name),
        }
        for fw in caller.registry
        if fw.name not in unavailable
    ]


@router.get("/conda-environments/", summary="The environments apps may run in")
async def conda_environments(caller: CurrentCaller) -> list[str]:
    return await operations.environment_names(caller)


@router.get("/spawner-profiles/", summary="The spawner profiles apps may use")
async def spawner_profiles(caller: CurrentCaller) -> list[dict[str, Any]]:
    return [dict(p) for p in caller.settings.profiles]


@router.get("/services/", summary="The Hub's services, as the Hub lets me see them")
async def services(caller: CurrentCaller) -> dict[str, Any]:
    return await operations.hub_services(caller)
