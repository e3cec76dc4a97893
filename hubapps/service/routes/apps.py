"""``/api/apps``: list, read, create, edit, delete, start, stop, restart, status and logs of apps.

An app is addressed as ``<owner>/<server>``. Every Hub call is made with the caller's token, so the
Hub's RBAC decides; whatever the Hub will not let the caller see or do answers 404.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from hubapps.core.errors import SpecError
from hubapps.core.frameworks import FrameworkRegistry
from hubapps.core.limits import facts_of_model
from hubapps.core.names import server_name_for
from hubapps.core.spec import AppSpec, is_app_options, parse_user_options
from hubapps.service.apps import (
    app_from_entry,
    app_from_server,
    app_from_share,
    app_url,
    build_spec,
    directory_entry,
    page_of,
    server_state,
)
from hubapps.service.appstatus import AppStatusReader
from hubapps.service.auth import CurrentUser, Identity
from hubapps.service.deps import Directory, Hub, Limits, Registry, Settings, StatusReader, run_bounded
from hubapps.service.directory import AppDirectory, DirectoryEntry
from hubapps.service.errors import Conflict, HubUnavailable, InvalidInput, LimitReached, NotFound, safe_log
from hubapps.service.hub import HubClient
from hubapps.service.limits import Claim, LimitGuard, released_after
from hubapps.service.routes.body import openapi_body, read_model
from hubapps.service.schemas import Accepted, AppCreate, AppPublic, AppsPublic, AppStatus, AppUpdate, LogsPublic
from hubapps.service.secrets import is_v1_spec, legacy_secret_names, sealer_of, secret_env_to_save
from hubapps.service.settings import ServiceSettings
from hubapps.service.thumbnails import ThumbnailStore

__all__ = ["find_app", "is_proxy_app", "list_apps", "managed_server", "own_apps", "readable_status", "router"]

log = logging.getLogger("hubapps.service.apps")

router = APIRouter(prefix="/apps", tags=["apps"])

OwnerPath = Annotated[str, "owner"]


# -- lookups ---------------------------------------------------------------------------------------


async def managed_server(identity: Identity, owner: str, server: str, hub: HubClient) -> dict[str, Any]:
    """The Hub's model of a server the caller may read in full (their own, or as an admin); else 404."""
    if owner == identity.name:
        model = identity.servers.get(server)
        if model is None:
            fresh = await hub.whoami(identity.token, fresh=True)
            model = ((fresh or {}).get("servers") or {}).get(server)
    else:
        other = await hub.user(owner, identity.token)
        model = ((other or {}).get("servers") or {}).get(server)
    if not isinstance(model, dict):
        raise NotFound()
    return model


async def find_app(
    identity: Identity, owner: str, server: str, hub: HubClient, directory: AppDirectory, settings: ServiceSettings
) -> AppPublic:
    """The app as the caller may see it: own, shared with them, public, or (admins) anyone's; else 404."""
    if owner == identity.name:
        model = await managed_server(identity, owner, server, hub)
        app = app_from_server(settings, owner, server, model, "owned", include_all=True)
        assert app is not None
        return app
    shares = await hub.shared_with(identity.name, identity.token)
    for share in shares:
        s = share.get("server") or {}
        if (s.get("user") or {}).get("name") == owner and s.get("name") == server:
            return app_from_share(settings, s, await directory.get(owner, server))
    other = await hub.user(owner, identity.token)
    found = ((other or {}).get("servers") or {}).get(server)
    if isinstance(found, dict):
        app = app_from_server(settings, owner, server, found, "admin", include_all=True)
        assert app is not None
        return app
    entry = await directory.get(owner, server)
    if entry is not None and entry.public:
        return app_from_entry(settings, entry)
    raise NotFound()


def _accepted(owner: str, server: str, state: str, done: bool) -> JSONResponse:
    body = Accepted(id=f"{owner}/{server}", state=state, done=done)  # type: ignore[arg-type]
    return JSONResponse(body.model_dump(), status_code=200 if done else 202)


# -- list and read ---------------------------------------------------------------------------------


OwnApps = tuple[list[AppPublic], list[DirectoryEntry]]


def own_apps(settings: ServiceSettings, identity: Identity, *, all_servers: bool) -> OwnApps:
    """The caller's own apps, and the directory entries they imply, from the caller's Hub model."""
    apps: list[AppPublic] = []
    entries: list[DirectoryEntry] = []
    for name, model in identity.servers.items():
        app = app_from_server(settings, identity.name, name, model, "owned", include_all=all_servers)
        if app is None:
            continue
        apps.append(app)
        if app.is_app and app.spec is not None:
            with contextlib.suppress(SpecError):  # the stored options: app.spec hides secret values
                entries.append(directory_entry(identity.name, name, parse_user_options(model.get("user_options"))))
    return apps, entries


async def list_apps(
    identity: Identity,
    hub: HubClient,
    directory: AppDirectory,
    settings: ServiceSettings,
    access: list[str] | None = None,
    framework: str | None = None,
    state: str | None = None,
    q: str | None = None,
    sort: str = "name",
    offset: int = 0,
    limit: int | None = None,
    all_servers: bool = False,
) -> AppsPublic:
    """The caller's apps, apps shared with them and public apps: filtered, sorted, one page."""
    wanted = set(access or ()) or {"owned", "shared", "public"}
    unknown = wanted - {"owned", "shared", "public"}
    if unknown:
        raise InvalidInput("must be owned, shared or public", field="access")
    limit = min(limit or settings.page_default, settings.page_max)

    # Built once per Hub model of the caller (cached by the Hub client, replaced and never changed).
    mine, own_entries = hub.derived(
        identity.model, ("own_apps", all_servers), lambda: own_apps(settings, identity, all_servers=all_servers)
    )
    apps = list(mine)
    # Lazy check of the directory: the owner's own listing is the authority on their apps.
    await directory.sync_owner(identity.name, own_entries)
    seen = {(identity.name, a.name) for a in apps}

    if "shared" in wanted:
        snapshot = await directory.snapshot()
        for share in await hub.shared_with(identity.name, identity.token):
            s = share.get("server") or {}
            key = (str((s.get("user") or {}).get("name", "")), str(s.get("name", "")))
            if key in seen or not key[0]:
                continue
            seen.add(key)
            apps.append(app_from_share(settings, s, snapshot.get(key)))
    if "public" in wanted:
        for entry in await directory.public():
            if entry.key not in seen:
                seen.add(entry.key)
                apps.append(app_from_entry(settings, entry))

    page, count = page_of(
        apps, access=wanted, framework=framework, state=state, q=q, sort=sort, offset=offset, limit=limit
    )
    return AppsPublic(data=page, count=count, offset=offset, limit=limit)


@router.get(
    "", response_model=AppsPublic, name="list_apps", summary="List my apps, apps shared with me and public apps"
)
async def list_apps_route(
    identity: CurrentUser,
    hub: Hub,
    directory: Directory,
    settings: Settings,
    access: Annotated[list[str] | None, Query(description="owned, shared and/or public")] = None,
    framework: str | None = None,
    state: str | None = None,
    q: Annotated[str | None, Query(max_length=200, description="search names, descriptions, owners")] = None,
    sort: Annotated[str, Query(pattern=r"^-?(name|last_activity|owner|framework|state)$")] = "name",
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int | None, Query(ge=1)] = None,
    all_servers: bool = False,
) -> Response:
    listing = await list_apps(
        identity,
        hub,
        directory,
        settings,
        access=access,
        framework=framework,
        state=state,
        q=q,
        sort=sort,
        offset=offset,
        limit=limit,
        all_servers=all_servers,
    )
    # Serialised here (pydantic-core, straight to bytes): FastAPI would first validate the finished
    # model again against response_model, which costs as much as building it.
    return Response(listing.model_dump_json(), media_type="application/json")


@router.get("/{owner}/{server}", response_model=AppPublic, summary="One app")
async def read_app(
    owner: str, server: str, identity: CurrentUser, hub: Hub, directory: Directory, settings: Settings
) -> AppPublic:
    return await find_app(identity, owner, server, hub, directory, settings)


# -- create, edit, delete --------------------------------------------------------------------------


@router.post(
    "",
    response_model=AppPublic,
    status_code=201,
    summary="Create an app (stopped, unless start is true)",
    openapi_extra=openapi_body(AppCreate),
)
async def create_app(
    request: Request, identity: CurrentUser, hub: Hub, directory: Directory, registry: Registry, settings: Settings
) -> JSONResponse:
    body = await read_model(request, AppCreate)
    owner = identity.name
    fields = body.model_dump(exclude_unset=False)
    fields["secret_env"] = await secret_env_to_save(
        sealer_of(request), owner, submitted=fields["secret_env"], env=fields["env"]
    )
    spec = build_spec(fields, settings, registry)
    limits = _limits(request)
    # JupyterHub 5 has no stopped servers: creating an app there starts it.
    runs = body.start or await hub.hub_version(identity.token) < (6,)
    admission = await limits.admit(
        hub,
        identity,
        owner,
        settings,
        None,
        public=spec.public,
        running=runs,
        pick_name=lambda taken: server_name_for(spec.display_name, taken),
    )
    claim = admission.claim
    taken = set(admission.servers) | limits.claimed_names(owner)
    server = claim.facts.name
    try:
        for _attempt in range(3):
            try:
                started = await _create(
                    hub, owner, server, identity.token, spec, start=body.start, wait=settings.start_wait, claim=claim
                )
                break
            except LimitReached:
                raise
            except Conflict:
                taken.add(server)  # created by someone else meanwhile: take the next name
                server = server_name_for(spec.display_name, taken)
                claim.rename(server)
        else:
            raise Conflict("could not find a free name for the app; try another display name")
    except BaseException:
        claim.release()
        raise
    if spec.public:
        await directory.record(directory_entry(owner, server, spec))
    model = {
        "name": server,
        "user_options": spec.to_user_options(),
        "ready": False,
        "pending": "spawn" if started else None,
    }
    app = app_from_server(settings, owner, server, model, "owned")
    assert app is not None
    return JSONResponse(app.model_dump(), status_code=201)


async def _create(
    hub: HubClient, owner: str, server: str, token: str, spec: AppSpec, *, start: bool, wait: float, claim: Claim
) -> bool:
    """Create (and start) the app; ``claim`` is released once the Hub has answered the last call."""
    version = await hub.hub_version(token)
    options = spec.to_user_options()
    if version >= (6,):
        await hub.create_server(owner, server, token, user_options=options, display_name=spec.display_name, start=False)
        if start:
            await run_bounded(released_after(hub.start_server(owner, server, token), claim), wait)
        else:
            claim.release()
        return start
    await run_bounded(
        released_after(
            hub.create_server(owner, server, token, user_options=options, display_name=spec.display_name, start=True),
            claim,
        ),
        wait,
    )
    return True


def _limits(request: Request) -> LimitGuard:
    guard: LimitGuard = request.app.state.limits
    return guard


@router.patch(
    "/{owner}/{server}",
    response_model=AppPublic,
    summary="Edit an app (a running app only with restart=true)",
    openapi_extra=openapi_body(AppUpdate),
    responses={202: {"model": Accepted}},
)
async def update_app(
    owner: str,
    server: str,
    request: Request,
    identity: CurrentUser,
    hub: Hub,
    directory: Directory,
    registry: Registry,
    settings: Settings,
) -> JSONResponse:
    body = await read_model(request, AppUpdate)
    model = await managed_server(identity, owner, server, hub)
    options = model.get("user_options") or {}
    if not is_app_options(options):
        raise NotFound()
    try:
        current = parse_user_options(options).to_user_options()
    except SpecError:
        current = {k: v for k, v in options.items() if k not in ("spec_version", "jhub_app")}
    changes = body.model_dump(exclude_unset=True, exclude={"restart"})
    stored_env: dict[str, str] = current["env"] if isinstance(current.get("env"), dict) else {}
    stored_secret_env: dict[str, str] = current["secret_env"] if isinstance(current.get("secret_env"), dict) else {}
    sent_env = changes.get("env")
    env: dict[str, str] = dict(sent_env) if isinstance(sent_env, dict) else dict(stored_env)
    changes["secret_env"] = await secret_env_to_save(
        sealer_of(request),
        owner,
        submitted=changes.get("secret_env"),
        env=env,
        env_sent=isinstance(sent_env, dict),
        stored_env=stored_env,
        stored_secret_env=stored_secret_env,
        # Marks only matter for version 1 specs (whose secrets were plain env): no database read for others.
        legacy=legacy_secret_names(
            options,
            await request.app.state.secret_env.get(owner, server) if is_v1_spec(options) else (),
        ),
    )
    changes["env"] = env
    spec = build_spec({**current, **changes}, settings, registry)
    thumbnails: ThumbnailStore = request.app.state.thumbnails
    state = server_state(model)
    if state != "stopped" and not body.restart:
        raise Conflict("the app is running; send restart=true to apply the change, or stop it first")
    # Made public, or (re)started: the owner's limits, the app itself left out of the counts.
    claim = (
        await _limits(request).admit(
            hub, identity, owner, settings, server, public=spec.public, running=bool(body.restart)
        )
    ).claim
    try:
        if state != "stopped":
            await run_bounded(
                released_after(
                    _restart(
                        hub,
                        owner,
                        server,
                        identity.token,
                        settings,
                        spec,
                        applied=lambda: _record(directory, thumbnails, owner, server, spec),
                    ),
                    claim,
                ),
                settings.start_wait,
            )
            return _accepted(owner, server, "stopping", done=False)
        await hub.update_server(
            owner, server, identity.token, user_options=spec.to_user_options(), display_name=spec.display_name
        )
        await _record(directory, thumbnails, owner, server, spec)
        if body.restart:
            done, _ = await run_bounded(
                released_after(hub.start_server(owner, server, identity.token), claim), settings.start_wait
            )
            return _accepted(owner, server, "running" if done else "starting", done)
    except BaseException:
        claim.release()
        raise
    claim.release()
    new_model = {**model, "user_options": spec.to_user_options(), "display_name": spec.display_name}
    app = app_from_server(settings, owner, server, new_model, "owned" if owner == identity.name else "admin")
    assert app is not None
    return JSONResponse(app.model_dump())


async def _record(
    directory: AppDirectory, thumbnails: ThumbnailStore, owner: str, server: str, spec: AppSpec
) -> None:
    """The service's records once the Hub took a new spec: directory entry, and the app's image
    (the one it replaces is deleted unless another app shows it)."""
    entry = directory_entry(owner, server, spec)
    if spec.public or await directory.get(owner, server) is not None:
        await directory.record(entry)
    await thumbnails.claim(owner, server, spec.thumbnail)


@router.delete(
    "/{owner}/{server}", status_code=204, summary="Stop and delete an app", responses={202: {"model": Accepted}}
)
async def delete_app(
    owner: str,
    server: str,
    request: Request,
    identity: CurrentUser,
    hub: Hub,
    directory: Directory,
    settings: Settings,
) -> Response:
    if not server:
        raise NotFound()
    # Rights first (someone who cannot even read the app gets 404 before anything happens), and the
    # directory entry and the app's image go only once the Hub has accepted the deletion, however
    # long it takes.
    model = await managed_server(identity, owner, server, hub)
    thumbnails: ThumbnailStore = request.app.state.thumbnails
    spec_image = str((model.get("user_options") or {}).get("thumbnail") or "")

    async def forget() -> None:
        await directory.remove(owner, server)
        await thumbnails.release(owner, server, also=spec_image)

    done, _ = await run_bounded(
        hub.stop_server(owner, server, identity.token, remove=True), settings.stop_wait, then=forget
    )
    if done:
        return Response(status_code=204)
    return _accepted(owner, server, "stopping", done=False)


# -- lifecycle -------------------------------------------------------------------------------------


@router.post("/{owner}/{server}/start", response_model=Accepted, summary="Start an app with its stored spec")
async def start_app(
    owner: str, server: str, identity: CurrentUser, hub: Hub, settings: Settings, limits: Limits
) -> JSONResponse:
    model = await managed_server(identity, owner, server, hub)  # 404 before anything, even with a slow Hub
    claim = await _admit_start(limits, hub, identity, owner, server, model, settings)
    done, status = await run_bounded(
        released_after(hub.start_server(owner, server, identity.token), claim), settings.start_wait
    )
    return _accepted(
        owner, server, "running" if done and status == 201 else "starting", done=bool(done and status == 201)
    )


@router.post(
    "/{owner}/{server}/stop", response_model=Accepted, summary="Stop an app (answers at once; the Hub finishes)"
)
async def stop_app(owner: str, server: str, identity: CurrentUser, hub: Hub, settings: Settings) -> JSONResponse:
    await managed_server(identity, owner, server, hub)  # 404 before anything, even with a slow Hub
    done, status = await run_bounded(hub.stop_server(owner, server, identity.token), settings.stop_wait)
    finished = bool(done and status == 204)
    return _accepted(owner, server, "stopped" if finished else "stopping", done=finished)


@router.post("/{owner}/{server}/restart", response_model=Accepted, summary="Stop an app, then start it again")
async def restart_app(
    owner: str, server: str, identity: CurrentUser, hub: Hub, settings: Settings, limits: Limits
) -> JSONResponse:
    model = await managed_server(identity, owner, server, hub)
    claim = await _admit_start(limits, hub, identity, owner, server, model, settings)
    done, _ = await run_bounded(
        released_after(_restart(hub, owner, server, identity.token, settings, None), claim), settings.start_wait
    )
    return _accepted(owner, server, "starting" if done else "stopping", done=False)


async def _admit_start(
    limits: LimitGuard,
    hub: HubClient,
    identity: Identity,
    owner: str,
    server: str,
    model: dict[str, Any],
    settings: ServiceSettings,
) -> Claim:
    """The running-apps limit (and the public one, which the Hub checks at start too) for one start.

    Servers that are not apps (plain JupyterLab) count for no limit, so they are not held to one either.
    """
    facts = facts_of_model(server, model)
    admission = await limits.admit(hub, identity, owner, settings, server, public=facts.public, running=facts.is_app)
    return admission.claim


async def _restart(
    hub: HubClient,
    owner: str,
    server: str,
    token: str,
    settings: ServiceSettings,
    spec: AppSpec | None,
    *,
    applied: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Stop, wait until the Hub has stopped the server, apply a new spec if any, start again.

    ``applied`` runs once the Hub has taken the new spec (and not if it refused or the stop timed out).
    """
    deadline = time.monotonic() + settings.restart_timeout
    with contextlib.suppress(Conflict):  # already stopping
        await hub.stop_server(owner, server, token)
    delay = 0.2
    while True:
        other = await hub.user(owner, token)
        model = ((other or {}).get("servers") or {}).get(server)
        if model is None or server_state(model) == "stopped":
            break
        if time.monotonic() > deadline:
            log.warning("Restart of %s/%s: the server did not stop in time", safe_log(owner), safe_log(server))
            return
        await asyncio.sleep(delay)
        delay = min(delay * 2, 2.0)
    if spec is not None:
        version = await hub.hub_version(token)
        if version >= (6,):
            await hub.update_server(
                owner, server, token, user_options=spec.to_user_options(), display_name=spec.display_name
            )
            if applied is not None:
                await applied()
            await hub.start_server(owner, server, token)
        else:
            await hub.start_server(owner, server, token, user_options=spec.to_user_options())
            if applied is not None:
                await applied()
        return
    await hub.start_server(owner, server, token)


# -- status and logs -------------------------------------------------------------------------------


async def _progress(hub: HubClient, model: dict[str, Any], token: str) -> tuple[int | None, str | None]:
    """The Hub's latest progress event of a starting server (read for a moment, never waited on)."""
    url = model.get("progress_url")
    if not url:
        return None, None
    progress: int | None = None
    message: str | None = None
    async for event in hub.progress_events(str(url), token, seconds=0.5):
        if isinstance(event.get("progress"), int):
            progress = event["progress"]
        if isinstance(event.get("message"), str):
            message = event["message"][:500]
    return progress, message


async def readable_status(identity: Identity, owner: str, server: str, hub: HubClient) -> dict[str, Any]:
    """The Hub's model of a server whose status and log the caller may read; else 404.

    The service itself decides here, because it reads the app with a credential of its own: the
    owner (their own server listing) and admins (the Hub's admin flag, and the owner's listing read
    with the admin's token) may; anyone else gets 404, even someone the Hub lets read the owner's
    servers without being an admin.
    """
    if owner != identity.name and not identity.admin:
        raise NotFound()
    return await managed_server(identity, owner, server, hub)


def is_proxy_app(model: dict[str, Any], registry: FrameworkRegistry) -> bool:
    """Whether the server runs hubapps-proxy (an app spec of an enabled, non-JupyterLab framework).

    Only those have ``_hubapps/`` endpoints and a status key; anything else (JupyterLab apps run
    ``jupyterhub-singleuser``, plain named servers, the default server) is never called at all.
    """
    options = model.get("user_options") or {}
    if not is_app_options(options):
        return False
    try:
        spec = parse_user_options(options)
    except SpecError:
        return False
    if spec.framework not in registry:
        return False
    return not registry.get(spec.framework).singleuser


async def _read_app(
    reader: AppStatusReader, settings: ServiceSettings, model: dict[str, Any], owner: str, server: str, sub: str
) -> dict[str, Any] | None:
    # The Hub's URL of the server (a full URL on the owner's host under subdomain_host).
    url = str(model.get("url") or app_url(settings, owner, server))
    return await reader.get_json(owner, server, url, sub)


@router.get(
    "/{owner}/{server}/status", response_model=AppStatus, summary="State, start progress and the app's startup log"
)
async def app_status(
    owner: str,
    server: str,
    identity: CurrentUser,
    hub: Hub,
    registry: Registry,
    reader: StatusReader,
    settings: Settings,
) -> AppStatus:
    model = await readable_status(identity, owner, server, hub)
    state = server_state(model)
    status = AppStatus(id=f"{owner}/{server}", state=state, ready=bool(model.get("ready")))
    if state == "starting":
        status.progress, status.message = await _progress(hub, model, identity.token)
    if state in ("starting", "running") and is_proxy_app(model, registry):
        proxy, logs = await asyncio.gather(
            _read_app(reader, settings, model, owner, server, "_hubapps/status"),
            _read_app(reader, settings, model, owner, server, "_hubapps/logs"),
        )
        if isinstance(proxy, dict):
            status.app_state = str(proxy.get("state")) if proxy.get("state") else None
            elapsed = proxy.get("elapsed")
            status.elapsed = float(elapsed) if isinstance(elapsed, int | float) else None
            status.reason = str(proxy["reason"])[:2000] if proxy.get("reason") else None
        if isinstance(logs, dict):
            status.log_tail = [str(line) for line in (logs.get("lines") or [])][-20:]
    return status


@router.get("/{owner}/{server}/logs", response_model=LogsPublic, summary="Output of a running app (from its proxy)")
async def app_logs(
    owner: str,
    server: str,
    identity: CurrentUser,
    hub: Hub,
    registry: Registry,
    reader: StatusReader,
    settings: Settings,
    lines: Annotated[int, Query(ge=1)] = 200,
) -> LogsPublic:
    model = await readable_status(identity, owner, server, hub)
    if server_state(model) not in ("starting", "running"):
        raise Conflict("the app is not running, so it has no logs")
    if not is_proxy_app(model, registry):
        raise Conflict("this server is not a hubapps app (JupyterLab keeps its own log); it has no app log")
    if not reader.available:
        raise HubUnavailable(
            "app logs are unavailable: the service knows no proxy URL or has no status key (see docs/security.md)"
        )
    logs = await _read_app(reader, settings, model, owner, server, "_hubapps/logs")
    if not isinstance(logs, dict):
        raise HubUnavailable("the app did not return its logs")
    got = [str(line) for line in (logs.get("lines") or [])]
    return LogsPublic(id=f"{owner}/{server}", lines=got[-min(lines, settings.log_lines_max) :])
