"""``/api/apps``: the REST API of apps — list, read, create, edit, delete, start, stop, restart,
status and logs — as HTTP over :mod:`hubapps.service.operations`.

An app is addressed as ``<owner>/<server>``. Every Hub call is made with the caller's token, so the
Hub's RBAC decides; whatever the Hub will not let the caller see or do answers 404.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from hubapps.service import operations
from hubapps.service.body import openapi_body, read_model
from hubapps.service.deps import CurrentCaller
from hubapps.service.responses import accepted_response
from hubapps.service.schemas import Accepted, AppCreate, AppPublic, AppsPublic, AppStatus, AppUpdate, LogsPublic

__all__ = ["router"]

router = APIRouter(prefix="/apps", tags=["apps"])


@router.get(
    "", response_model=AppsPublic, name="list_apps", summary="List my apps, apps shared with me and public apps"
)
async def list_apps_route(
    caller: CurrentCaller,
    access: Annotated[
        list[str] | None,
        Query(description="owned, shared and/or public; admin (other users' apps) or all: Hub admins only"),
    ] = None,
    framework: str | None = None,
    state: str | None = None,
    q: Annotated[str | None, Query(max_length=200, description="search names, descriptions, owners")] = None,
    sort: Annotated[str, Query(pattern=r"^-?(name|last_activity|owner|framework|state)$")] = "name",
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int | None, Query(ge=1)] = None,
    all_servers: bool = False,
) -> Response:
    listing = await operations.list_apps(
        caller,
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
async def read_app(owner: str, server: str, caller: CurrentCaller) -> AppPublic:
    app = await operations.app_details(caller, owner, server)
    return (await operations.with_usage(caller, [app]))[0]


@router.post(
    "",
    response_model=AppPublic,
    status_code=201,
    summary="Create an app (stopped, unless start is true)",
    description="An app of the same name answers 409 (`app_exists`, naming it in `existing`) unless "
    "`on_conflict` is `update` (that app is changed: 200, or 202 while it restarts) or `new`.",
    openapi_extra=openapi_body(AppCreate),
    responses={200: {"model": AppPublic}, 202: {"model": Accepted}},
)
async def create_app(request: Request, caller: CurrentCaller) -> JSONResponse:
    body = await read_model(request, AppCreate)
    result, created = await operations.deploy_app(caller, body)
    if isinstance(result, Accepted):
        return accepted_response(result)
    return JSONResponse(result.model_dump(), status_code=201 if created else 200)


@router.patch(
    "/{owner}/{server}",
    response_model=AppPublic,
    summary="Edit an app (a running app only with restart=true)",
    openapi_extra=openapi_body(AppUpdate),
    responses={202: {"model": Accepted}},
)
async def update_app(owner: str, server: str, request: Request, caller: CurrentCaller) -> JSONResponse:
    result = await operations.update_app(caller, owner, server, await read_model(request, AppUpdate))
    if isinstance(result, Accepted):
        return accepted_response(result)
    return JSONResponse(result.model_dump())


@router.delete(
    "/{owner}/{server}", status_code=204, summary="Stop and delete an app", responses={202: {"model": Accepted}}
)
async def delete_app(owner: str, server: str, caller: CurrentCaller) -> Response:
    accepted = await operations.delete_app(caller, owner, server)
    return Response(status_code=204) if accepted.done else accepted_response(accepted)


@router.post(
    "/{owner}/{server}/start",
    response_model=Accepted,
    summary="Start an app with its stored spec",
    description="Its owner and admins start it with their own rights. Someone it is shared with, or anyone "
    "logged in for a public app, may start it when stopped if its owner allows (`viewers_can_start`): the "
    "service starts it with the owner's stored spec and rights, once per `viewer_start_interval` seconds per "
    "person (429 `too_soon` before that); when the owner does not allow it, 403 names the owner.",
    responses={403: {"description": "only the owner may start it"}, 429: {"description": "too soon"}},
)
async def start_app(owner: str, server: str, caller: CurrentCaller) -> JSONResponse:
    return accepted_response(await operations.start_or_wake(caller, owner, server))


@router.post(
    "/{owner}/{server}/stop", response_model=Accepted, summary="Stop an app (answers at once; the Hub finishes)"
)
async def stop_app(owner: str, server: str, caller: CurrentCaller) -> JSONResponse:
    return accepted_response(await operations.stop_app(caller, owner, server))


@router.post("/{owner}/{server}/restart", response_model=Accepted, summary="Stop an app, then start it again")
async def restart_app(owner: str, server: str, caller: CurrentCaller) -> JSONResponse:
    return accepted_response(await operations.restart_app(caller, owner, server))


@router.get(
    "/{owner}/{server}/status", response_model=AppStatus, summary="State, start progress and the app's startup log"
)
async def app_status(owner: str, server: str, caller: CurrentCaller) -> AppStatus:
    return await operations.app_status(caller, owner, server)


@router.get("/{owner}/{server}/logs", response_model=LogsPublic, summary="Output of a running app (from its proxy)")
async def app_logs(
    owner: str, server: str, caller: CurrentCaller, lines: Annotated[int, Query(ge=1)] = 200
) -> LogsPublic:
    return await operations.app_logs(caller, owner, server, lines)
