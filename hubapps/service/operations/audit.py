"""Reading and forgetting the audit record (app events), and apps' usage counts.

Who reads what, decided here for every way in (REST, pages, CLI, export):

- Hub admins (the Hub's ``admin`` flag) read every event, and may delete one user's events.
- Anyone else reads the events of **their own apps** only, whoever caused them (the viewers who opened
  the app included): never the events of apps shared with them, nor what they did to other users' apps.
  Asking for another owner's events (``?owner=``, an app's events) answers 404, as for an app they may
  not see; it says nothing of whether that owner or app exists.
- Usage counts ("opened" events) go with an app only for those who manage it (owner, admins): a viewer
  sees neither who else opened an app nor how often.

Event rows hold user-controlled strings (names, display names in ``detail``): pages escape them, and
none is ever put in a header (the export's file name is fixed).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from hubapps.service.errors import Forbidden, InvalidInput, NotFound, safe_log
from hubapps.service.events import EVENT_KINDS, AppEvent
from hubapps.service.operations.caller import Caller
from hubapps.service.schemas import AppPublic, EventPublic, EventsDeleted, EventsPublic, UsagePublic

__all__ = [
    "EventFilter",
    "app_events",
    "delete_user_events",
    "export_events",
    "list_events",
    "with_usage",
]

log = logging.getLogger("hubapps.service.audit")

#: The event kind usage counts count: a viewer session the app's proxy reported.
USAGE_KIND = "opened"


@dataclass(frozen=True)
class EventFilter:
    """What a reader asks for; every filter given must match. ``before`` is an event id (paging back)."""

    owner: str | None = None
    server: str | None = None
    actor: str | None = None
    kinds: tuple[str, ...] = ()
    since: float | None = None
    before: int | None = None


def event_public(event: AppEvent) -> EventPublic:
    at = datetime.fromtimestamp(event.at, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    return EventPublic(
        id=event.id,
        at=at,
        kind=event.kind,
        owner=event.owner,
        server=event.server,
        actor=event.actor,
        detail=dict(event.detail),
    )


def _scoped(caller: Caller, wanted: EventFilter) -> EventFilter:
    """``wanted`` narrowed to what the caller may read (admins: all; anyone else: their own apps)."""
    unknown = sorted(set(wanted.kinds) - set(EVENT_KINDS))
    if unknown:
        raise InvalidInput(f"unknown event kind {unknown[0][:40]!r}: one of {', '.join(EVENT_KINDS)}", field="kind")
    if caller.identity.admin:
        return wanted
    if wanted.owner is not None and wanted.owner != caller.name:
        raise NotFound("only Hub admins read the events of other users' apps", field="owner")
    return replace(wanted, owner=caller.name)


def _page_size(caller: Caller, limit: int | None) -> int:
    settings = caller.settings
    size: int = min(limit or settings.events_page_default, settings.events_page_max)
    return max(1, size)


async def _read(caller: Caller, scoped: EventFilter, limit: int) -> list[AppEvent]:
    return await caller.events.events(
        owner=scoped.owner,
        server=scoped.server,
        actor=scoped.actor,
        kinds=scoped.kinds,
        since=scoped.since,
        before_id=scoped.before,
        limit=limit,
    )


async def list_events(caller: Caller, wanted: EventFilter, limit: int | None = None) -> EventsPublic:
    """One page of the events the caller may read, newest first (``limit`` cut to ``events_page_max``)."""
    scoped = _scoped(caller, wanted)
    size = _page_size(caller, limit)
    events = await _read(caller, scoped, size)
    return EventsPublic(
        data=[event_public(e) for e in events],
        limit=size,
        next_before=events[-1].id if len(events) == size else None,
    )


async def app_events(
    caller: Caller, owner: str, server: str, *, before: int | None = None, limit: int | None = None
) -> EventsPublic:
    """The events of ``owner``'s app ``server`` (its owner and admins; anyone else 404). They stay
    readable after the app is deleted, until the retention deletes them."""
    if owner != caller.name and not caller.identity.admin:
        raise NotFound()
    return await list_events(caller, EventFilter(owner=owner, server=server, before=before), limit)


async def export_events(caller: Caller, wanted: EventFilter, limit: int | None = None) -> AsyncIterator[bytes]:
    """The events the caller may read as JSON lines (one event per line, newest first), read from the
    database a page (``events_page_max``) at a time; all of them unless ``limit``.

    The rights are checked here, before the first byte: a refusal is still an error answer, not a
    stream cut short.
    """
    scoped = _scoped(caller, wanted)
    page = caller.settings.events_page_max

    async def lines() -> AsyncIterator[bytes]:
        left = limit
        before = scoped.before
        while left is None or left > 0:
            size = page if left is None else min(page, left)
            events = await _read(caller, replace(scoped, before=before), size)
            if not events:
                return
            chunk = "".join(json.dumps(event_public(e).model_dump(), separators=(",", ":")) + "\n" for e in events)
            yield chunk.encode()
            if len(events) < size:
                return
            before = events[-1].id
            if left is not None:
                left -= len(events)

    return lines()


async def delete_user_events(caller: Caller, user: str) -> EventsDeleted:
    """Delete every event of ``user``'s apps and every event ``user`` caused (Hub admins only).

    The user need not exist on the Hub any more: this is how a deleted user's traces are removed.
    """
    if not caller.identity.admin:
        raise Forbidden("only Hub admins may delete a user's events")
    if not user.strip():
        raise InvalidInput("name the user whose events to delete", field="user")
    deleted = await caller.events.delete_user(user)
    log.info("%s deleted %d app events of %s", safe_log(caller.name), deleted, safe_log(user))
    return EventsDeleted(user=user, deleted=deleted)


async def with_usage(caller: Caller, apps: Iterable[AppPublic]) -> list[AppPublic]:
    """``apps`` with the usage counts of those the caller manages (owned, admin), from one grouped
    query for them all (never one per app); the others unchanged (copies: listings are cached)."""
    apps = list(apps)
    managed = [a for a in apps if a.access in ("owned", "admin") and a.is_app]
    if not managed:
        return apps
    window = caller.settings.usage_window_days
    counts = await caller.events.usage(
        USAGE_KIND,
        owners={a.owner for a in managed},
        since=time.time() - window * 86400,
        server=managed[0].name if len(managed) == 1 else None,
    )
    out = []
    for app in apps:
        if app.access in ("owned", "admin") and app.is_app:
            recent, total = counts.get((app.owner, app.name), (0, 0))
            usage = UsagePublic(opened_recent=recent, opened_total=total, window_days=window)
            app = app.model_copy(update={"usage": usage})
        out.append(app)
    return out
