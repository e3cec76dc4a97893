"""Sharing over HTTP: who may open an app (JupyterHub 5+ shares), the public flag, and share links
(share codes), as routes over :mod:`hubapps.service.operations.sharing`.

Sharing is done with the owner's token, so the Hub checks that the caller holds ``shares`` on the app
and ``read:users:name`` / ``read:groups:name`` on the people they share with (see ``docs/api.md`` for
the roles an admin grants). A share gives ``access:servers!server=<owner>/<app>``: the person can open
the app, not start, stop, edit or delete it.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from hubapps.service import operations
from hubapps.service.body import openapi_body, read_model
from hubapps.service.deps import CurrentCaller
from hubapps.service.schemas import PublicFlag, ShareCreate, ShareLinkCreate, ShareLinkPublic, SharesPublic

__all__ = ["router"]

router = APIRouter(tags=["sharing"])


@router.get("/apps/{owner}/{server}/shares", response_model=SharesPublic, summary="Who has access")
async def list_shares(owner: str, server: str, caller: CurrentCaller) -> SharesPublic:
    return await operations.list_shares(caller, owner, server)


@router.post(
    "/apps/{owner}/{server}/shares",
    response_model=SharesPublic,
    summary="Share with users and groups",
    openapi_extra=openapi_body(ShareCreate),
)
async def add_shares(owner: str, server: str, request: Request, caller: CurrentCaller) -> SharesPublic:
    operations.sharing_allowed(caller.settings, "users")  # before the body is even read
    return await operations.add_shares(caller, owner, server, await read_model(request, ShareCreate))


@router.delete("/apps/{owner}/{server}/shares", status_code=204, summary="Revoke every share")
async def revoke_all(owner: str, server: str, caller: CurrentCaller) -> Response:
    await operations.revoke_all(caller, owner, server)
    return Response(status_code=204)


@router.delete("/apps/{owner}/{server}/shares/users/{name}", status_code=204, summary="Revoke a user's share")
async def revoke_user(owner: str, server: str, name: str, caller: CurrentCaller) -> Response:
    await operations.revoke_user(caller, owner, server, name)
    return Response(status_code=204)


@router.delete("/apps/{owner}/{server}/shares/groups/{name}", status_code=204, summary="Revoke a group's share")
async def revoke_group(owner: str, server: str, name: str, caller: CurrentCaller) -> Response:
    await operations.revoke_group(caller, owner, server, name)
    return Response(status_code=204)


@router.delete("/shared/{owner}/{server}", status_code=204, summary="Leave an app someone shared with me")
async def leave_share(owner: str, server: str, caller: CurrentCaller) -> Response:
    await operations.leave_share(caller, owner, server)
    return Response(status_code=204)


@router.put(
    "/apps/{owner}/{server}/public",
    response_model=SharesPublic,
    summary="Make an app public (reachable without login) or private",
    openapi_extra=openapi_body(PublicFlag),
)
async def set_public(owner: str, server: str, request: Request, caller: CurrentCaller) -> JSONResponse:
    shares = await operations.set_public(caller, owner, server, await read_model(request, PublicFlag))
    return JSONResponse(shares.model_dump())


@router.get("/apps/{owner}/{server}/share-links", response_model=list[ShareLinkPublic], summary="Share links")
async def list_links(owner: str, server: str, caller: CurrentCaller) -> list[ShareLinkPublic]:
    return await operations.list_links(caller, owner, server)


@router.post(
    "/apps/{owner}/{server}/share-links",
    response_model=ShareLinkPublic,
    status_code=201,
    summary="Create a share link (anyone logged in who opens it gets access)",
    openapi_extra=openapi_body(ShareLinkCreate),
)
async def create_link(owner: str, server: str, request: Request, caller: CurrentCaller) -> JSONResponse:
    operations.sharing_allowed(caller.settings)  # before the body is even read
    link = await operations.create_link(caller, owner, server, await read_model(request, ShareLinkCreate))
    return JSONResponse(link.model_dump(), status_code=201)


@router.delete("/apps/{owner}/{server}/share-links", status_code=204, summary="Delete share links (one with ?id=)")
async def delete_links(owner: str, server: str, caller: CurrentCaller, id: str | None = None) -> Response:
    await operations.delete_links(caller, owner, server, code_id=id)
    return Response(status_code=204)
