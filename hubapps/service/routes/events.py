"""``/api/events``: the audit record (who created, edited, started, stopped, shared, deleted and opened
which app, and when) as HTTP over :mod:`hubapps.service.operations.audit`.

=====================================  ==============================================================
``GET /api/events``                    one page, newest first; filters; ``?before=<id>`` pages back
``GET /api/events.jsonl``              the same events as JSON lines, streamed, as a download
``GET /api/apps/<owner>/<app>/events`` one app's events (its owner and admins; anyone else 404)
``DELETE /api/events?user=NAME``       forget one user (Hub admins only)
=====================================  ==============================================================

Owners read their own apps' events, admins everyone's (the rules are the operations'). The export's
file name is fixed: no user-controlled text goes into a header.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from hubapps.service import operations
from hubapps.service.deps import CurrentCaller
from hubapps.service.schemas import EventsDeleted, EventsPublic

__all__ = ["router"]

router = APIRouter(tags=["events"])

Owner = Annotated[str | None, Query(max_length=255, description="an app owner (not an admin: yourself only)")]
Server = Annotated[str | None, Query(max_length=255, description="an app's server name")]
Actor = Annotated[str | None, Query(max_length=255, description="who acted")]
Kinds = Annotated[list[str] | None, Query(description="event kinds (repeatable): created, started, opened, ...")]
Since = Annotated[datetime | None, Query(description="events at or after this time (ISO 8601, UTC if no zone)")]
Before = Annotated[int | None, Query(ge=1, description="events older than this event id (the next page)")]
Limit = Annotated[int | None, Query(ge=1, description="events per page (cut to events_page_max)")]

#: The export's headers: a fixed file name (never a user name), and no caching of the audit record.
EXPORT_HEADERS = {
    "Content-Disposition": 'attachment; filename="hubapps-events.jsonl"',
    "Cache-Control": "no-store",
}


def _unix(when: datetime | None) -> float | None:
    if when is None:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def _filter(
    owner: str | None,
    server: str | None,
    actor: str | None,
    kind: list[str] | None,
    since: datetime | None,
    before: int | None,
) -> operations.EventFilter:
    # An empty parameter (``?owner=``, as a form sends it) filters nothing.
    return operations.EventFilter(
        owner=owner or None,
        server=server or None,
        actor=actor or None,
        kinds=tuple(k for k in kind or () if k),
        since=_unix(since),
        before=before,
    )


@router.get(
    "/events",
    response_model=EventsPublic,
    summary="App events: your apps' (admins: everyone's), newest first",
    description="A non-admin's `owner` may only be themselves (another answers 404). Page back with "
    "`before=<next_before>`.",
)
async def list_events(
    caller: CurrentCaller,
    owner: Owner = None,
    server: Server = None,
    actor: Actor = None,
    kind: Kinds = None,
    since: Since = None,
    before: Before = None,
    limit: Limit = None,
) -> EventsPublic:
    return await operations.list_events(caller, _filter(owner, server, actor, kind, since, before), limit)


@router.get(
    "/events.jsonl",
    summary="App events as JSON lines (a download), with the same rights and filters",
    description="One event per line, newest first, every matching event unless `limit`.",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}}}},
)
async def export_events(
    caller: CurrentCaller,
    owner: Owner = None,
    server: Server = None,
    actor: Actor = None,
    kind: Kinds = None,
    since: Since = None,
    before: Before = None,
    limit: Annotated[int | None, Query(ge=1, description="most events (default: all)")] = None,
) -> StreamingResponse:
    lines = await operations.export_events(caller, _filter(owner, server, actor, kind, since, before), limit)
    return StreamingResponse(lines, media_type="application/x-ndjson", headers=EXPORT_HEADERS)


@router.delete(
    "/events",
    response_model=EventsDeleted,
    summary="Delete every event of a user's apps and every event the user caused (Hub admins)",
)
async def delete_events(
    caller: CurrentCaller, user: Annotated[str, Query(max_length=255, description="the user to forget")] = ""
) -> EventsDeleted:
    return await operations.delete_user_events(caller, user)


@router.get(
    "/apps/{owner}/{server}/events",
    response_model=EventsPublic,
    tags=["apps"],
    summary="One app's events, newest first (its owner and admins)",
)
async def app_events(
    owner: str, server: str, caller: CurrentCaller, before: Before = None, limit: Limit = None
) -> EventsPublic:
    return await operations.app_events(caller, owner, server, before=before, limit=limit)
