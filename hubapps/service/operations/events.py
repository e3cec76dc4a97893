"""Recording app events, the one place every operation writes the audit record through.

An event is recorded once the Hub has taken the change (or, for accepted work that finishes in the
background, once the Hub accepted it); a failure to write it is logged and never undoes or fails the
user's change. ``actor`` is the caller, or "" for the service's own work.
"""

from __future__ import annotations

import logging
from typing import Any

from hubapps.service.errors import safe_log
from hubapps.service.events import EVENT_KINDS, AppEvent, EventStore
from hubapps.service.operations.caller import Caller

__all__ = ["record", "record_as"]

log = logging.getLogger("hubapps.service.events")


async def record_as(store: EventStore, actor: str, kind: str, owner: str, server: str, **detail: Any) -> None:
    """Record one event of ``owner``'s app ``server`` by ``actor`` ("" = the service)."""
    assert kind in EVENT_KINDS, kind
    try:
        await store.add(AppEvent(kind=kind, owner=owner, server=server, actor=actor, detail=detail))
    except Exception as exc:  # the change itself is done: never fail it for its record
        log.error("Could not record %s of %s/%s: %s", kind, safe_log(owner), safe_log(server), safe_log(str(exc)))


async def record(caller: Caller, kind: str, owner: str, server: str, **detail: Any) -> None:
    """Record that ``caller`` did ``kind`` to ``owner``'s app ``server``."""
    await record_as(caller.events, caller.name, kind, owner, server, **detail)
