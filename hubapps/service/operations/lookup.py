"""Finding apps for a caller: the servers they manage, one app as they may see it, and the listing.

Every read is made with the caller's token, so the Hub's RBAC decides; whatever the Hub will not let
the caller see answers 404 (:class:`~hubapps.service.errors.NotFound`).
"""

from __future__ import annotations

import contextlib

from hubapps.core.errors import SpecError
from hubapps.core.frameworks import FrameworkRegistry
from hubapps.core.spec import is_app_options, parse_user_options
from hubapps.service.app_models import app_from_entry, app_from_server, app_from_share, directory_entry, page_of
from hubapps.service.auth import Identity
from hubapps.service.directory import DirectoryEntry
from hubapps.service.errors import InvalidInput, NotFound
from hubapps.service.hub_client import HubClient
from hubapps.service.hub_models import ServerModel, servers_of
from hubapps.service.operations.caller import Caller
from hubapps.service.schemas import AppPublic, AppsPublic
from hubapps.service.settings import ServiceSettings

__all__ = ["find_app", "is_proxy_app", "list_apps", "managed_server", "own_apps", "readable_status"]


async def managed_server(identity: Identity, owner: str, server: str, hub: HubClient) -> ServerModel:
    """The Hub's model of a server the caller may read in full (their own, or as an admin); else 404.

    The caller's own servers come from their identity, unless this request changed them since (an
    edit, then its shares: the directory must get the new description, not the one the request saw
    as it began).
    """
    if owner == identity.name:
        model = identity.servers.get(server) if hub.changes_of(owner) == identity.changes else None
        if model is None:
            model = servers_of(await hub.whoami(identity.token, fresh=True)).get(server)
    else:
        model = servers_of(await hub.user(owner, identity.token)).get(server)
    if not isinstance(model, dict):
        raise NotFound()
    return model


async def find_app(caller: Caller, owner: str, server: str) -> AppPublic:
    """The app as the caller may see it: own, shared with them, public, or (admins) anyone's; else 404."""
    identity, hub, settings = caller.identity, caller.hub, caller.settings
    if owner == identity.name:
        model = await managed_server(identity, owner, server, hub)
        app = app_from_server(settings, owner, server, model, "owned", include_all=True)
        assert app is not None
        return app
    shares = await hub.shared_with(identity.name, identity.token)
    for share in shares:
        s = share.get("server") or {}
        if (s.get("user") or {}).get("name") == owner and s.get("name") == server:
            return app_from_share(settings, s, await caller.directory.get(owner, server))
    found = servers_of(await hub.user(owner, identity.token)).get(server)
    if isinstance(found, dict):
        app = app_from_server(settings, owner, server, found, "admin", include_all=True)
        assert app is not None
        return app
    entry = await caller.directory.get(owner, server)
    if entry is not None and entry.public:
        return app_from_entry(settings, entry)
    raise NotFound()


async def managed_app(caller: Caller, owner: str, server: str) -> AppPublic:
    """An app the caller manages (their own, or as an admin); anything else, a plain server too, 404."""
    app = await find_app(caller, owner, server)
    if app.access not in ("owned", "admin") or not app.is_app:
        raise NotFound()
    return app


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
    caller: Caller,
    *,
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
    identity, hub, directory, settings = caller.identity, caller.hub, caller.directory, caller.settings
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


async def readable_status(caller: Caller, owner: str, server: str) -> ServerModel:
    """The Hub's model of a server whose status and log the caller may read; else 404.

    The service itself decides here, because it reads the app with a credential of its own: the
    owner (their own server listing) and admins (the Hub's admin flag, and the owner's listing read
    with the admin's token) may; anyone else gets 404, even someone the Hub lets read the owner's
    servers without being an admin.
    """
    identity = caller.identity
    if owner != identity.name and not identity.admin:
        raise NotFound()
    return await managed_server(identity, owner, server, caller.hub)


def is_proxy_app(model: ServerModel, registry: FrameworkRegistry) -> bool:
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
