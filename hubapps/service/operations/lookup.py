"""Finding apps for a caller: the servers they manage, one app as they may see it, and the listing.

Every read is made with the caller's token, so the Hub's RBAC decides; whatever the Hub will not let
the caller see answers 404 (:class:`~hubapps.service.errors.NotFound`).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace
from typing import cast

from hubapps.core.errors import SpecError
from hubapps.core.spec import parse_user_options
from hubapps.service.app_models import (
    app_from_entry,
    app_from_server,
    app_from_share,
    directory_entry,
    page_of,
    run_public,
    with_state,
)
from hubapps.service.auth import Identity
from hubapps.service.directory import DirectoryEntry
from hubapps.service.errors import InvalidInput, NotFound
from hubapps.service.hub_client import HubClient
from hubapps.service.hub_models import ServerModel, UserModel, servers_of
from hubapps.service.operations.audit import with_usage
from hubapps.service.operations.caller import Caller
from hubapps.service.operations.states import is_proxy_app, live_state, live_states, may_read_status
from hubapps.service.operations.thumbnail_imports import with_imported_thumbnails
from hubapps.service.schemas import AppPublic, AppsPublic
from hubapps.service.settings import ServiceSettings

__all__ = [
    "ACCESS_VALUES",
    "app_details",
    "find_app",
    "is_proxy_app",
    "list_apps",
    "managed_server",
    "others_apps",
    "own_apps",
    "readable_status",
]


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
        (app,) = await with_imported_thumbnails(caller, owner, [app], {server: model})
        return with_state(app, await live_state(caller, owner, server, model))
    # A request that writes (a viewer's start) relies on the share: it is read afresh then.
    shares = await hub.shared_with(identity.name, identity.token, fresh=identity.fresh)
    for share in shares:
        s = share.get("server") or {}
        if (s.get("user") or {}).get("name") == owner and s.get("name") == server:
            return app_from_share(settings, s, await caller.directory.get(owner, server))
    found = servers_of(await hub.user(owner, identity.token)).get(server)
    if isinstance(found, dict):
        app = app_from_server(settings, owner, server, found, "admin", include_all=True)
        assert app is not None
        (app,) = await with_imported_thumbnails(caller, owner, [app], {server: found})
        if may_read_status(caller, owner):
            return with_state(app, await live_state(caller, owner, server, found))
        return app
    entry = await caller.directory.get(owner, server)
    if entry is not None and entry.public:
        return app_from_entry(settings, entry)
    raise NotFound()


async def app_details(caller: Caller, owner: str, server: str) -> AppPublic:
    """:func:`find_app` with the app's last run (failure memory): all of it for those who may manage the
    app, only its state and times for those it is shared with or public to (as for its status)."""
    app = await find_app(caller, owner, server)
    if not app.is_app:
        return app
    run = await caller.runs.last(owner, server)
    if run is None:
        return app
    return app.model_copy(update={"last_run": run_public(run, full=app.access in ("owned", "admin"))})


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


#: ``access`` values of the listing; ``all`` stands for every one of them (Hub admins only).
ACCESS_VALUES = ("owned", "shared", "public", "admin")


def _wanted_access(identity: Identity, access: list[str] | None) -> set[str]:
    """The access kinds asked for: by default owned, shared and public; ``admin``/``all`` for Hub admins.

    A non-admin asking for ``admin`` or ``all`` is refused with a clear message (never silently shown
    less): the value names a listing they may not have, nothing about any app.
    """
    wanted = set(access or ()) or {"owned", "shared", "public"}
    if "all" in wanted:
        wanted = (wanted - {"all"}) | set(ACCESS_VALUES)
    unknown = wanted - set(ACCESS_VALUES)
    if unknown:
        raise InvalidInput("must be owned, shared, public, admin or all", field="access")
    if "admin" in wanted and not identity.admin:
        raise InvalidInput("admin and all list other users' apps: only Hub admins may ask for them", field="access")
    return wanted


async def others_apps(caller: Caller, seen: set[tuple[str, str]], *, all_servers: bool) -> list[AppPublic]:
    """Every other user's apps, as a Hub admin sees them (access ``admin``), from one paginated listing.

    Read with the admin's own token (``list:users`` and ``read:servers``), so the Hub decides.
    """
    apps: list[AppPublic] = []
    models: dict[str, list[tuple[str, ServerModel]]] = {}
    users = await caller.hub.paginate("users", caller.token, {"include_stopped_servers": "1"})
    for user in users:
        owner = str(user.get("name") or "")
        if not owner or owner == caller.name:
            continue
        for name, model in servers_of(cast(UserModel, user)).items():
            if (owner, name) in seen:
                continue
            app = app_from_server(caller.settings, owner, name, model, "admin", include_all=all_servers)
            if app is not None:
                seen.add((owner, name))
                apps.append(app)
                models.setdefault(owner, []).append((name, model))
    # Their running apps' proxies tell failed from running, as for the admin's own apps.
    gate = asyncio.Semaphore(caller.settings.listing_status_concurrency)
    found = await asyncio.gather(*(live_states(caller, owner, servers, gate=gate) for owner, servers in models.items()))
    states = {(owner, name): view for owner, views in zip(models, found, strict=True) for name, view in views.items()}
    return [with_state(app, states[(app.owner, app.name)]) if (app.owner, app.name) in states else app for app in apps]


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
    """The caller's apps, apps shared with them and public apps (and, for Hub admins who ask, every
    other user's apps): filtered, sorted, one page."""
    identity, hub, directory, settings = caller.identity, caller.hub, caller.directory, caller.settings
    wanted = _wanted_access(identity, access)
    limit = min(limit or settings.page_default, settings.page_max)

    # Built once per Hub model of the caller (cached by the Hub client, replaced and never changed).
    mine, own_entries = hub.derived(
        identity.model, ("own_apps", all_servers), lambda: own_apps(settings, identity, all_servers=all_servers)
    )
    # The Hub calls a failed app (its proxy still up, showing why) running: its proxy tells apart.
    states = await live_states(caller, identity.name, list(identity.servers.items()))
    apps = [with_state(app, states[app.name]) if app.name in states else app for app in mine]
    # Images upstream JHub Apps stored inline: imported ones shown, the others imported meanwhile.
    apps = await with_imported_thumbnails(caller, identity.name, apps, identity.servers)
    shown = {a.name: a.thumbnail for a in apps}
    own_entries = [
        replace(e, thumbnail=shown[e.server]) if not e.thumbnail and shown.get(e.server) else e for e in own_entries
    ]
    # Lazy check of the directory: the owner's own listing is the authority on their apps.
    await directory.sync_owner(identity.name, own_entries)
    seen = {(identity.name, a.name) for a in apps}

    if "admin" in wanted:
        # Before shares and public apps: an admin manages those too, so they are listed as "admin".
        apps += await others_apps(caller, seen, all_servers=all_servers)
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
    # Usage counts of the page's apps the caller manages: one grouped query for the page.
    return AppsPublic(data=await with_usage(caller, page), count=count, offset=offset, limit=limit)


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
