"""Sharing: who may open an app (JupyterHub 5+ shares), the public flag, and share links (share codes).

Sharing is done with the owner's token, so the Hub checks that the caller holds ``shares`` on the app
and ``read:users:name`` / ``read:groups:name`` on the people they share with (see ``docs/api.md`` for
the roles an admin grants). A share gives ``access:servers!server=<owner>/<app>``: the person can open
the app, not start, stop, edit or delete it.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from hubapps.core.errors import SpecError
from hubapps.core.spec import AppSpec, is_app_options, parse_user_options
from hubapps.service.apps import directory_entry, server_state
from hubapps.service.auth import CurrentUser
from hubapps.service.deps import Directory, Hub, Settings
from hubapps.service.errors import Conflict, Forbidden, InvalidInput, NotFound
from hubapps.service.routes.apps import managed_server
from hubapps.service.routes.body import openapi_body, read_model
from hubapps.service.schemas import (
    PublicFlag,
    ShareCreate,
    ShareLinkCreate,
    ShareLinkPublic,
    SharePublic,
    SharesPublic,
)
from hubapps.service.settings import ServiceSettings

__all__ = ["router"]

router = APIRouter(tags=["sharing"])


def _spec(options: object) -> AppSpec:
    if not is_app_options(options):
        raise NotFound()
    try:
        return parse_user_options(options)
    except SpecError:
        raise Conflict("the app's stored settings are invalid; edit the app first") from None


def sharing_allowed(settings: ServiceSettings, field: str | None = None) -> None:
    """New shares and share links need sharing turned on (``c.HubApps.allow_sharing``); revoking never does."""
    if not settings.allow_sharing:
        raise Forbidden(
            "sharing is turned off on this Hub (c.HubApps.allow_sharing; see docs/security.md)", field=field
        )


def _share_public(share: dict[str, object]) -> SharePublic | None:
    kind = share.get("kind")
    target = share.get(str(kind)) if kind in ("user", "group") else None
    if not isinstance(target, dict):
        return None
    return SharePublic(kind=kind, name=str(target.get("name", "")), created_at=share.get("created_at"))  # type: ignore[arg-type]


@router.get("/apps/{owner}/{server}/shares", response_model=SharesPublic, summary="Who has access")
async def list_shares(owner: str, server: str, identity: CurrentUser, hub: Hub) -> SharesPublic:
    model = await managed_server(identity, owner, server, hub)
    spec = _spec(model.get("user_options"))
    shares = [s for s in (_share_public(x) for x in await hub.shares(owner, server, identity.token)) if s]
    return SharesPublic(id=f"{owner}/{server}", public=spec.public, shares=shares)


@router.post(
    "/apps/{owner}/{server}/shares",
    response_model=SharesPublic,
    summary="Share with users and groups",
    openapi_extra=openapi_body(ShareCreate),
)
async def add_shares(
    owner: str, server: str, request: Request, identity: CurrentUser, hub: Hub, directory: Directory, settings: Settings
) -> SharesPublic:
    sharing_allowed(settings, "users")
    body = await read_model(request, ShareCreate)
    if not body.users and not body.groups:
        raise InvalidInput("name at least one user or group", field="users")
    model = await managed_server(identity, owner, server, hub)
    spec = _spec(model.get("user_options"))
    # The directory names the app for the people it is shared with: recorded once the Hub has shared
    # it (with anyone), never on the strength of the request alone.
    shared = False
    try:
        for user in body.users:
            await hub.share(owner, server, identity.token, user=user)
            shared = True
        for group in body.groups:
            await hub.share(owner, server, identity.token, group=group)
            shared = True
    finally:
        if shared:
            await directory.record(directory_entry(owner, server, spec))
    shares = [s for s in (_share_public(x) for x in await hub.shares(owner, server, identity.token)) if s]
    return SharesPublic(id=f"{owner}/{server}", public=spec.public, shares=shares)


@router.delete("/apps/{owner}/{server}/shares", status_code=204, summary="Revoke every share")
async def revoke_all(owner: str, server: str, identity: CurrentUser, hub: Hub) -> Response:
    await managed_server(identity, owner, server, hub)
    await hub.revoke_all(owner, server, identity.token)
    return Response(status_code=204)


@router.delete("/apps/{owner}/{server}/shares/users/{name}", status_code=204, summary="Revoke a user's share")
async def revoke_user(owner: str, server: str, name: str, identity: CurrentUser, hub: Hub) -> Response:
    await managed_server(identity, owner, server, hub)
    await hub.revoke(owner, server, identity.token, user=name)
    return Response(status_code=204)


@router.delete("/apps/{owner}/{server}/shares/groups/{name}", status_code=204, summary="Revoke a group's share")
async def revoke_group(owner: str, server: str, name: str, identity: CurrentUser, hub: Hub) -> Response:
    await managed_server(identity, owner, server, hub)
    await hub.revoke(owner, server, identity.token, group=name)
    return Response(status_code=204)


@router.delete("/shared/{owner}/{server}", status_code=204, summary="Leave an app someone shared with me")
async def leave_share(owner: str, server: str, identity: CurrentUser, hub: Hub) -> Response:
    await hub.leave_share(identity.name, owner, server, identity.token)
    return Response(status_code=204)


@router.put(
    "/apps/{owner}/{server}/public",
    response_model=SharesPublic,
    summary="Make an app public (reachable without login) or private",
    openapi_extra=openapi_body(PublicFlag),
)
async def set_public(
    owner: str, server: str, request: Request, identity: CurrentUser, hub: Hub, directory: Directory, settings: Settings
) -> JSONResponse:
    body = await read_model(request, PublicFlag)
    if body.public and not settings.allow_public_apps:
        raise InvalidInput("public apps are turned off on this Hub", field="public")
    model = await managed_server(identity, owner, server, hub)
    spec = _spec(model.get("user_options"))
    if spec.public != body.public:
        if server_state(model) != "stopped":
            raise Conflict("stop the app first (or edit it with restart=true): the change applies when it starts")
        spec = spec.model_copy(update={"public": body.public})
        await hub.update_server(
            owner, server, identity.token, user_options=spec.to_user_options(), display_name=spec.display_name
        )
    entry = directory_entry(owner, server, spec)
    if spec.public or await directory.get(owner, server) is not None:
        await directory.record(entry)
    shares = [s for s in (_share_public(x) for x in await hub.shares(owner, server, identity.token)) if s]
    return JSONResponse(SharesPublic(id=f"{owner}/{server}", public=spec.public, shares=shares).model_dump())


def _link(model: dict[str, object]) -> ShareLinkPublic:
    return ShareLinkPublic(
        id=str(model.get("id", "")),
        created_at=model.get("created_at"),  # type: ignore[arg-type]
        expires_at=model.get("expires_at"),  # type: ignore[arg-type]
        exchange_count=int(model.get("exchange_count") or 0),  # type: ignore[call-overload]
        accept_url=model.get("full_accept_url") or model.get("accept_url"),  # type: ignore[arg-type]
    )


@router.get("/apps/{owner}/{server}/share-links", response_model=list[ShareLinkPublic], summary="Share links")
async def list_links(owner: str, server: str, identity: CurrentUser, hub: Hub) -> list[ShareLinkPublic]:
    await managed_server(identity, owner, server, hub)
    return [_link(c) for c in await hub.share_codes(owner, server, identity.token)]


@router.post(
    "/apps/{owner}/{server}/share-links",
    response_model=ShareLinkPublic,
    status_code=201,
    summary="Create a share link (anyone logged in who opens it gets access)",
    openapi_extra=openapi_body(ShareLinkCreate),
)
async def create_link(
    owner: str, server: str, request: Request, identity: CurrentUser, hub: Hub, directory: Directory, settings: Settings
) -> JSONResponse:
    sharing_allowed(settings)
    body = await read_model(request, ShareLinkCreate)
    model = await managed_server(identity, owner, server, hub)
    spec = _spec(model.get("user_options"))
    link = _link(await hub.create_share_code(owner, server, identity.token, expires_in=body.expires_in))
    await directory.record(directory_entry(owner, server, spec))  # after the Hub made the link
    return JSONResponse(link.model_dump(), status_code=201)


@router.delete("/apps/{owner}/{server}/share-links", status_code=204, summary="Delete share links (one with ?id=)")
async def delete_links(owner: str, server: str, identity: CurrentUser, hub: Hub, id: str | None = None) -> Response:
    await managed_server(identity, owner, server, hub)
    await hub.delete_share_codes(owner, server, identity.token, code_id=id)
    return Response(status_code=204)
