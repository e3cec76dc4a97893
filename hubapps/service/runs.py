"""Failure memory: the last runs of each app, as their proxies reported them (``hubapps_runs``).

An app's proxy exits when its app fails for good (or when the Hub stops it), and with it goes the only
record of why. So it reports, before it exits (:mod:`hubapps.core.reports`), and the service keeps one
row per run: when it started, how long it took to be ready, the sha256 of the app's file or the commit
it ran, when and how it ended (``stopped`` or ``failed``), the reason and the last lines of its log.

What is kept is bounded: ``runs_kept_per_app`` rows per app (older runs are forgotten as new ones
start), each row no larger than one report (``report_max_bytes``); rows of a deleted app are forgotten
with it, and every row older than ``event_retention_days`` goes with the daily prune. Everything in a
row is the app's own word about itself (its proxy's key can be read by the app's code): it is shown
escaped, and the reason and log tail only to those who may read the app's output (owner, admins).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, Float, Index, Integer, MetaData, String, Table, Text, delete, insert, select, update

from hubapps.service.db import SqlStore

__all__ = ["AppRun", "RunStore"]

_metadata = MetaData()
_table = Table(
    "hubapps_runs",
    _metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("owner", String(255), nullable=False),
    Column("server", String(255), nullable=False),
    Column("run", String(32), nullable=False),
    Column("started_at", Float, nullable=False),
    Column("ready_after", Float, nullable=True),
    Column("source_sha256", String(64), nullable=True),
    Column("source_commit", String(64), nullable=True),
    Column("ended_at", Float, nullable=True),
    Column("state", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("log_tail", Text, nullable=False),
    Index("ix_hubapps_runs_run", "owner", "server", "run", unique=True),
    Index("ix_hubapps_runs_started", "started_at"),
)


@dataclass(frozen=True)
class AppRun:
    """One run of ``owner``'s app ``server``: ``state`` is running (no end reported yet), stopped or failed."""

    owner: str
    server: str
    run: str
    started_at: float
    state: str = "running"
    ready_after: float | None = None
    source_sha256: str | None = None
    source_commit: str | None = None
    ended_at: float | None = None
    reason: str = ""
    log_tail: tuple[str, ...] = field(default_factory=tuple)


def _run(row: Any) -> AppRun:
    try:
        tail = json.loads(row["log_tail"] or "[]")
    except ValueError:
        tail = []
    return AppRun(
        owner=row["owner"],
        server=row["server"],
        run=row["run"],
        started_at=float(row["started_at"]),
        state=row["state"],
        ready_after=row["ready_after"],
        source_sha256=row["source_sha256"],
        source_commit=row["source_commit"],
        ended_at=row["ended_at"],
        reason=row["reason"] or "",
        log_tail=tuple(str(line) for line in tail) if isinstance(tail, list) else (),
    )


class RunStore(SqlStore):
    """The ``hubapps_runs`` table: record a run's start, readiness and end; read an app's last run."""

    metadata = _metadata

    def __init__(self, database_url: str, *, keep: int = 5) -> None:
        super().__init__(database_url)
        self.keep = max(1, keep)

    # -- writing (each call one transaction) ------------------------------------------------------

    def _where(self, owner: str, server: str, run: str) -> Any:
        return (_table.c.owner == owner) & (_table.c.server == server) & (_table.c.run == run)

    def _ensure(self, conn: Any, owner: str, server: str, run: str, at: float) -> None:
        """The run's row, made if this is the first word of it (oldest runs past ``keep`` forgotten)."""
        found = conn.execute(select(_table.c.id).where(self._where(owner, server, run))).first()
        if found is not None:
            return
        conn.execute(
            insert(_table).values(
                owner=owner, server=server, run=run, started_at=at, state="running", reason="", log_tail="[]"
            )
        )
        app = (_table.c.owner == owner) & (_table.c.server == server)
        kept = select(_table.c.id).where(app).order_by(_table.c.id.desc()).limit(self.keep)
        conn.execute(delete(_table).where(app & _table.c.id.not_in(kept.scalar_subquery())))

    def _started(self, owner: str, server: str, run: str, at: float, sha256: str | None, commit: str | None) -> None:
        with self._engine.begin() as conn:
            self._ensure(conn, owner, server, run, at)
            conn.execute(
                update(_table)
                .where(self._where(owner, server, run))
                .values(started_at=at, source_sha256=sha256, source_commit=commit)
            )

    async def started(
        self, owner: str, server: str, run: str, *, sha256: str | None, commit: str | None, at: float | None = None
    ) -> None:
        """A run began (at ``at``, now by default), running the file ``sha256`` or the commit ``commit``."""
        await asyncio.to_thread(self._started, owner, server, run, at or time.time(), sha256, commit)

    def _ready(self, owner: str, server: str, run: str, ready_after: float) -> None:
        with self._engine.begin() as conn:
            self._ensure(conn, owner, server, run, time.time() - ready_after)
            conn.execute(update(_table).where(self._where(owner, server, run)).values(ready_after=ready_after))

    async def ready(self, owner: str, server: str, run: str, ready_after: float) -> None:
        """The run's app answered, ``ready_after`` seconds after it started."""
        await asyncio.to_thread(self._ready, owner, server, run, ready_after)

    def _ended(
        self, owner: str, server: str, run: str, state: str, reason: str, log_tail: list[str], at: float
    ) -> bool:
        with self._engine.begin() as conn:
            self._ensure(conn, owner, server, run, at)
            changed = conn.execute(
                update(_table)
                .where(self._where(owner, server, run) & _table.c.ended_at.is_(None))
                .values(ended_at=at, state=state, reason=reason, log_tail=json.dumps(log_tail))
            )
            return bool(changed.rowcount)

    async def ended(
        self,
        owner: str,
        server: str,
        run: str,
        *,
        state: str,
        reason: str,
        log_tail: list[str],
        at: float | None = None,
    ) -> bool:
        """The run ended (``stopped`` or ``failed``); True the first time only (a run ends once)."""
        return await asyncio.to_thread(self._ended, owner, server, run, state, reason, log_tail, at or time.time())

    def _delete(self, condition: Any) -> int:
        with self._engine.begin() as conn:
            return int(conn.execute(delete(_table).where(condition)).rowcount or 0)

    async def forget(self, owner: str, server: str) -> int:
        """Forget every run of an app (it was deleted)."""
        return await asyncio.to_thread(self._delete, (_table.c.owner == owner) & (_table.c.server == server))

    async def delete_user(self, owner: str) -> int:
        """Forget every run of ``owner``'s apps."""
        return await asyncio.to_thread(self._delete, _table.c.owner == owner)

    async def prune(self, older_than: float) -> int:
        """Forget runs that started before the unix time ``older_than``."""
        return await asyncio.to_thread(self._delete, _table.c.started_at < older_than)

    # -- reading ----------------------------------------------------------------------------------

    def _last(self, owner: str, server: str) -> AppRun | None:
        query = (
            select(_table)
            .where((_table.c.owner == owner) & (_table.c.server == server))
            .order_by(_table.c.id.desc())
            .limit(1)
        )
        with self._engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return _run(row) if row is not None else None

    async def last(self, owner: str, server: str) -> AppRun | None:
        """The app's latest run (the one whose start was reported last), or None."""
        return await asyncio.to_thread(self._last, owner, server)
