"""The app events: who did what to which app, and when (the audit record and the usage counts).

Every change an operation makes (created, edited, started, stopped, shared, deleted, ...) and every
viewer session an app's proxy reports ("opened") is one row, written by the operations layer
(:mod:`hubapps.service.operations.events`) once the Hub has taken the change, so each event is
recorded in one place whichever way it came in (REST, pages, CLI, upstream routes, the service's own
work such as the idle policy).

Rows are never changed, only added, pruned by age (:attr:`ServiceSettings.event_retention_days`) or
deleted for one user (:meth:`EventStore.delete_user`). ``actor`` is the Hub user who acted, or empty
when the service acted on its own (an idle stop, a startup app). ``detail`` is a small JSON object
of the kind's own facts (whom an app was shared with, why it stopped); never a secret, a token or a
spec's environment.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    case,
    delete,
    func,
    insert,
    or_,
    select,
)

from hubapps.service.db import SqlStore

__all__ = ["EVENT_KINDS", "AppEvent", "EventStore"]

#: Every kind of event, and what it means.
EVENT_KINDS: dict[str, str] = {
    "created": "the app was created",
    "edited": "the app's spec was changed",
    "started": "the app was started",
    "stopped": "the app was stopped",
    "restarted": "the app was stopped and started again",
    "deleted": "the app was deleted",
    "shared": "the app was shared with users or groups, made public, or got a share link",
    "unshared": "a share, the public flag or a share link was taken back",
    "opened": "a viewer session began (reported by the app's proxy, once per viewer session)",
    "failed": "the app failed (reported by its proxy as it exited, with the reason)",
    "rolled-back": "the app's spec was set back to an earlier revision",
}

_metadata = MetaData()
_table = Table(
    "hubapps_events",
    _metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("owner", String(255), nullable=False),
    Column("server", String(255), nullable=False),
    Column("actor", String(255), nullable=False, default=""),
    Column("detail", Text, nullable=False, default="{}"),
    Index("ix_hubapps_events_app", "owner", "server", "at"),
    Index("ix_hubapps_events_at", "at"),
    Index("ix_hubapps_events_actor", "actor"),
)


@dataclass(frozen=True)
class AppEvent:
    """One event: ``kind`` of ``owner``'s app ``server``, by ``actor`` ("" = the service), at ``at``."""

    kind: str
    owner: str
    server: str
    actor: str = ""
    at: float = 0.0
    detail: Mapping[str, Any] = field(default_factory=dict)
    id: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at,
            "kind": self.kind,
            "owner": self.owner,
            "server": self.server,
            "actor": self.actor,
            "detail": dict(self.detail),
        }


def _event(row: Any) -> AppEvent:
    try:
        detail = json.loads(row["detail"] or "{}")
    except ValueError:
        detail = {}
    return AppEvent(
        kind=row["kind"],
        owner=row["owner"],
        server=row["server"],
        actor=row["actor"] or "",
        at=float(row["at"]),
        detail=detail if isinstance(detail, dict) else {},
        id=int(row["id"]),
    )


class EventStore(SqlStore):
    """The ``hubapps_events`` table: add, read (newest first), count, prune, forget a user."""

    metadata = _metadata

    # -- writing -----------------------------------------------------------------------------------

    def _insert(self, events: list[AppEvent]) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                insert(_table),
                [
                    {
                        "at": e.at or time.time(),
                        "kind": e.kind,
                        "owner": e.owner,
                        "server": e.server,
                        "actor": e.actor,
                        "detail": json.dumps(dict(e.detail), separators=(",", ":"), sort_keys=True),
                    }
                    for e in events
                ],
            )

    async def add(self, *events: AppEvent) -> None:
        """Record ``events`` (their ``at`` is now where it is 0)."""
        if events:
            await asyncio.to_thread(self._insert, list(events))

    def _delete(self, condition: Any) -> int:
        with self._engine.begin() as conn:
            return int(conn.execute(delete(_table).where(condition)).rowcount or 0)

    async def prune(self, older_than: float) -> int:
        """Delete events from before the unix time ``older_than``; how many were deleted."""
        return await asyncio.to_thread(self._delete, _table.c.at < older_than)

    async def delete_user(self, name: str) -> int:
        """Delete every event of ``name``'s apps and every event ``name`` caused; how many."""
        return await asyncio.to_thread(self._delete, or_(_table.c.owner == name, _table.c.actor == name))

    # -- reading -----------------------------------------------------------------------------------

    def _select(
        self,
        owner: str | None,
        server: str | None,
        actor: str | None,
        kinds: tuple[str, ...],
        since: float | None,
        before_id: int | None,
        limit: int,
    ) -> list[AppEvent]:
        query = select(_table)
        if owner is not None:
            query = query.where(_table.c.owner == owner)
        if server is not None:
            query = query.where(_table.c.server == server)
        if actor is not None:
            query = query.where(_table.c.actor == actor)
        if kinds:
            query = query.where(_table.c.kind.in_(kinds))
        if since is not None:
            query = query.where(_table.c.at >= since)
        if before_id is not None:
            query = query.where(_table.c.id < before_id)
        query = query.order_by(_table.c.id.desc()).limit(limit)
        with self._engine.connect() as conn:
            return [_event(r) for r in conn.execute(query).mappings().all()]

    async def events(
        self,
        *,
        owner: str | None = None,
        server: str | None = None,
        actor: str | None = None,
        kinds: Iterable[str] = (),
        since: float | None = None,
        before_id: int | None = None,
        limit: int = 100,
    ) -> list[AppEvent]:
        """Events matching every filter given, newest first; ``before_id`` pages back."""
        return await asyncio.to_thread(
            self._select, owner, server, actor, tuple(kinds), since, before_id, max(1, limit)
        )

    def _count(self, kind: str, owners: tuple[str, ...], since: float | None) -> dict[tuple[str, str], int]:
        query = select(_table.c.owner, _table.c.server, func.count()).where(_table.c.kind == kind)
        if owners:
            query = query.where(_table.c.owner.in_(owners))
        if since is not None:
            query = query.where(_table.c.at >= since)
        query = query.group_by(_table.c.owner, _table.c.server)
        with self._engine.connect() as conn:
            return {(o, s): int(n) for o, s, n in conn.execute(query).all()}

    async def counts(
        self, kind: str, *, owners: Iterable[str] = (), since: float | None = None
    ) -> dict[tuple[str, str], int]:
        """How many ``kind`` events each app had (of ``owners``' apps, if given), since ``since``."""
        return await asyncio.to_thread(self._count, kind, tuple(sorted(set(owners))), since)

    def _usage(
        self, kind: str, owners: tuple[str, ...], server: str | None, since: float
    ) -> dict[tuple[str, str], tuple[int, int]]:
        recent = func.sum(case((_table.c.at >= since, 1), else_=0))
        query = select(_table.c.owner, _table.c.server, recent, func.count()).where(_table.c.kind == kind)
        if owners:
            query = query.where(_table.c.owner.in_(owners))
        if server is not None:
            query = query.where(_table.c.server == server)
        query = query.group_by(_table.c.owner, _table.c.server)
        with self._engine.connect() as conn:
            return {(o, s): (int(r or 0), int(n)) for o, s, r, n in conn.execute(query).all()}

    async def usage(
        self, kind: str, *, owners: Iterable[str], since: float, server: str | None = None
    ) -> dict[tuple[str, str], tuple[int, int]]:
        """``(since since, in all)`` counts of ``kind`` events of each app of ``owners`` (only their app
        ``server``, if given), in one grouped query: what a listing page shows with its apps."""
        names = tuple(sorted(set(owners)))
        if not names:
            return {}
        return await asyncio.to_thread(self._usage, kind, names, server, since)
