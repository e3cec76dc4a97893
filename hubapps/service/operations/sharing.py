"""Sharing an app: shares with users and groups, the public flag, and share links (share codes).

Sharing is done with the caller's token, so the Hub checks that they hold ``shares`` on the app and
``read:users:name`` / ``read:groups:name`` on the people they share with. The directory names an app
for the people it is shared with: it is recorded once the Hub has shared it, never before.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from hubapps.core.errors import SpecError
from hubapps.core.spec import AppSpec, is_app_options, parse_user_options
from hubapps.service.app_models import directory_entry, server_state
from hubapps.service.errors import Conflict, Forbidden, InvalidInput, NotFound, ServiceError
from hubapps.service.hub_models import ShareModel
from hubapps.service.operations.caller import Caller
from hubapps.service.operations.events import record
from hubapps.service.operations.lookup import managed_server
from hubapps.service.operations.revisions import ensure_base, record_revision
from hubapps.service.schemas import PublicFlag, ShareCreate, ShareLinkCreate, ShareLinkPublic, SharePublic, SharesPublic
from hubapps.service.settings import ServiceSettings

__all__ = [
    "add_shares",
    "create_link",
    "delete_links",
    "leave_share",
    "links_or_none",
    "list_links",
    "list_shares",
    "revoke_all",
    "revoke_group",
    "revoke_user",
    "set_public",
    "share_pairs",
    "share_suggestions",
    "sharing_allowed",
]


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


def _share_public(share: ShareModel) -> SharePublic | None:
    kind = share.get("kind")
    target = share.get(str(kind)) if kind in ("user", "group") else None
    if not isinstance(target, dict):
        return None
    return SharePublic(kind=kind, name=str(target.get("name", "")), created_at=share.get("created_at"))  # type: ignore[arg-type]


async def _shares_public(caller: Caller, owner: str, server: str, spec: AppSpec) -> SharesPublic:
    shares = [s for s in (_share_public(x) for x in await caller.hub.shares(owner, server, caller.token)) if s]
    return SharesPublic(id=f"{owner}/{server}", public=spec.public, shares=shares)


async def list_shares(caller: Caller, owner: str, server: str) -> SharesPublic:
    """Who has access to an app the caller manages."""
    model = await managed_server(caller.identity, owner, server, caller.hub)
    return await _shares_public(caller, owner, server, _spec(model.get("user_options")))


async def share_pairs(caller: Caller, owner: str, server: str) -> list[tuple[str, str]]:
    """Who has access, as ``(kind, name)`` pairs; none when the caller may not list them."""
    try:
        listed = await list_shares(caller, owner, server)
    except (ServiceError, SpecError):
        return []
    return [(s.kind, s.name) for s in listed.shares]


def _may_list(scopes: set[str], scope: str) -> bool:
    """Whether the token holds ``scope`` at all (``list:users``, or filtered: ``list:users!group=x``)."""
    return any(s == scope or s.startswith(scope + "!") for s in scopes)


async def _listed_names(caller: Caller, path: str) -> set[str]:
    try:
        items = await caller.hub.paginate(path, caller.token)
    except ServiceError:
        return set()
    return {str(i["name"]) for i in items if i.get("name")}


async def share_suggestions(caller: Caller) -> tuple[list[str], list[str]]:
    """User and group names to offer as the caller types in the share fields: only names the caller
    may see; empty when sharing is off or suggestions are turned off.

    - what the Hub lets the caller list with their own token (``list:users`` / ``list:groups``, any
      filter: a role with ``list:users!group=staff`` lists staff); the Hub is asked only when the
      token holds the scope, so a form view costs no refused call;
    - the caller's own groups (from their own model), and, with ``share_suggestions_from = "groups"``,
      the people in those groups (read with the service's token: a group's members know each other).
    """
    settings, identity = caller.settings, caller.identity
    if settings.share_suggestions_max == 0 or not settings.allow_sharing:
        return [], []
    scopes = identity.scopes
    users: set[str] = await _listed_names(caller, "users") if _may_list(scopes, "list:users") else set()
    groups: set[str] = await _listed_names(caller, "groups") if _may_list(scopes, "list:groups") else set()
    groups.update(identity.groups)
    service_token = settings.api_token.get_secret_value()
    if settings.share_suggestions_from == "groups" and service_token:
        for group in sorted(identity.groups):
            try:
                users.update(await caller.hub.group_members(group, service_token))
            except ServiceError:
                continue
    users.discard(caller.name)
    limit = settings.share_suggestions_max
    return sorted(users)[:limit], sorted(groups)[:limit]


async def add_shares(caller: Caller, owner: str, server: str, body: ShareCreate) -> SharesPublic:
    """Share an app with users and groups (sharing must be on, and the body name someone)."""
    sharing_allowed(caller.settings, "users")
    if not body.users and not body.groups:
        raise InvalidInput("name at least one user or group", field="users")
    hub = caller.hub
    model = await managed_server(caller.identity, owner, server, hub)
    spec = _spec(model.get("user_options"))
    # The directory names the app for the people it is shared with: recorded once the Hub has shared
    # it (with anyone), never on the strength of the request alone.
    users: list[str] = []
    groups: list[str] = []
    try:
        for user in body.users:
            await hub.share(owner, server, caller.token, user=user)
            users.append(user)
        for group in body.groups:
            await hub.share(owner, server, caller.token, group=group)
            groups.append(group)
    finally:
        if users or groups:
            await caller.directory.record(directory_entry(owner, server, spec))
            await record(caller, "shared", owner, server, users=users, groups=groups)
    return await _shares_public(caller, owner, server, spec)


async def revoke_all(caller: Caller, owner: str, server: str) -> None:
    """Revoke every share of an app the caller manages."""
    await managed_server(caller.identity, owner, server, caller.hub)
    await caller.hub.revoke_all(owner, server, caller.token)
    await record(caller, "unshared", owner, server, everyone=True)


async def revoke_user(caller: Caller, owner: str, server: str, name: str) -> None:
    """Revoke one user's share."""
    await managed_server(caller.identity, owner, server, caller.hub)
    await caller.hub.revoke(owner, server, caller.token, user=name)
    await record(caller, "unshared", owner, server, users=[name])


async def revoke_group(caller: Caller, owner: str, server: str, name: str) -> None:
    """Revoke one group's share."""
    await managed_server(caller.identity, owner, server, caller.hub)
    await caller.hub.revoke(owner, server, caller.token, group=name)
    await record(caller, "unshared", owner, server, groups=[name])


async def leave_share(caller: Caller, owner: str, server: str) -> None:
    """Give up an app someone shared with the caller."""
    await caller.hub.leave_share(caller.name, owner, server, caller.token)
    await record(caller, "unshared", owner, server, users=[caller.name], left=True)


async def set_public(caller: Caller, owner: str, server: str, body: PublicFlag) -> SharesPublic:
    """Make a stopped app public (reachable without login) or private; the directory follows."""
    if body.public and not caller.settings.allow_public_apps:
        raise InvalidInput("public apps are turned off on this Hub", field="public")
    model = await managed_server(caller.identity, owner, server, caller.hub)
    spec = _spec(model.get("user_options"))
    if spec.public != body.public:
        if server_state(model) != "stopped":
            raise Conflict("stop the app first (or edit it with restart=true): the change applies when it starts")
        hold = await caller.apps.hold(owner, server, "being changed")  # a restart's spec would undo this one
        try:
            await ensure_base(caller, owner, server, model.get("user_options") or {})
            spec = spec.model_copy(update={"public": body.public})
            await caller.hub.update_server(
                owner, server, caller.token, user_options=spec.to_user_options(), display_name=spec.display_name
            )
        finally:
            hold.release()
        await record_revision(caller, owner, server, spec, "made public" if body.public else "made private")
        await record(caller, "shared" if body.public else "unshared", owner, server, public=body.public)
    entry = directory_entry(owner, server, spec)
    if spec.public or await caller.directory.get(owner, server) is not None:
        await caller.directory.record(entry)
    return await _shares_public(caller, owner, server, spec)


def _link(settings: ServiceSettings, model: Mapping[str, object]) -> ShareLinkPublic:
    accept = model.get("full_accept_url") or model.get("accept_url")
    # The Hub gives a path unless it knows its public_url; the service may know the Hub's origin.
    origin = settings.hub_host if settings.own_host else settings.public_url
    if isinstance(accept, str) and accept.startswith("/") and origin:
        parts = urlsplit(origin)
        accept = f"{parts.scheme}://{parts.netloc}{accept}"
    return ShareLinkPublic(
        id=str(model.get("id", "")),
        created_at=model.get("created_at"),  # type: ignore[arg-type]
        expires_at=model.get("expires_at"),  # type: ignore[arg-type]
        exchange_count=int(model.get("exchange_count") or 0),  # type: ignore[call-overload]
        accept_url=accept,  # type: ignore[arg-type]
    )


async def list_links(caller: Caller, owner: str, server: str) -> list[ShareLinkPublic]:
    """The share links of an app the caller manages."""
    await managed_server(caller.identity, owner, server, caller.hub)
    return [_link(caller.settings, c) for c in await caller.hub.share_codes(owner, server, caller.token)]


async def links_or_none(caller: Caller, owner: str, server: str) -> list[ShareLinkPublic]:
    """The app's share links for its details page; none when the caller may not list them."""
    try:
        return await list_links(caller, owner, server)
    except ServiceError:
        return []


async def create_link(caller: Caller, owner: str, server: str, body: ShareLinkCreate) -> ShareLinkPublic:
    """A new share link (anyone logged in who opens it gets access); sharing must be on."""
    sharing_allowed(caller.settings)
    model = await managed_server(caller.identity, owner, server, caller.hub)
    spec = _spec(model.get("user_options"))
    link = _link(
        caller.settings, await caller.hub.create_share_code(owner, server, caller.token, expires_in=body.expires_in)
    )
    await caller.directory.record(directory_entry(owner, server, spec))  # after the Hub made the link
    await record(caller, "shared", owner, server, link=link.id, expires_at=str(link.expires_at or ""))
    return link


async def delete_links(caller: Caller, owner: str, server: str, code_id: str | None = None) -> None:
    """Delete an app's share links (only ``code_id``'s, if given)."""
    await managed_server(caller.identity, owner, server, caller.hub)
    await caller.hub.delete_share_codes(owner, server, caller.token, code_id=code_id)
    await record(caller, "unshared", owner, server, link=code_id or "all")
