"""What the service remembers of the startup apps: per entry, the spec it last applied and the last
reconcile's verdict; and the one lease that lets a single worker reconcile at a time.

The spec last applied is what tells an admin's change (the entry differs from it) from its owner's
edit (the app differs from it). The verdicts are the admin's report, read by every worker. The lease
(``hubapps_startup_lease``, one row) is taken with a conditional ``UPDATE`` (or the first ``INSERT``)
in one transaction, which SQLite and PostgreSQL both make atomic: of workers and replicas that start
together, one reconciles while the others skip; a worker that dies holding it loses it when it
expires (``startup_apps_lease``).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Boolean, Column, Float, Integer, MetaData, String, Table, Text, insert, select, update
from sqlalchemy.exc import IntegrityError

from hubapps.service.db import SqlStore

__all__ = ["StartupRecord", "StartupRecords"]

_LEASE = "reconcile"

_metadata = MetaData()
_apps = Table(
    "hubapps_startup_apps",
    _metadata,
    Column("owner", String(255), primary_key=True),
    Column("server", String(255), primary_key=True),
    # The spec options last applied (spec_key JSON), "" before the service made or took the app.
    Column("applied", Text, nullable=False, default=""),
    Column("created", Boolean, nullable=False, default=False),
    Column("state", String(16), nullable=False, default=""),
    Column("message", Text, nullable=False, default=""),
    Column("checked_at", Float, nullable=False, default=0.0),
    Column("attempts", Integer, nullable=False, default=0),
)
_lease = Table(
    "hubapps_startup_lease",
    _metadata,
    Column("name", String(32), primary_key=True),
    Column("holder", String(64), nullable=False),
    Column("expires", Float, nullable=False),
    Column("started_at", Float, nullable=False, default=0.0),
    Column("finished_at", Float, nullable=False, default=0.0),
)


@dataclass(frozen=True)
class StartupRecord:
    """One entry's memory: ``applied`` (the options last applied, "" if none), whether the service
    ``created`` the app, the last verdict (``state``, ``message``, when) and the tries while waiting."""

    owner: str
    server: str
    applied: str = ""
    created: bool = False
    state: str = ""
    message: str = ""
    checked_at: float = 0.0
    attempts: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"state": self.state, "message": self.message, "checked_at": self.checked_at or None}


class StartupRecords(SqlStore):
    """The ``hubapps_startup_apps`` and ``hubapps_startup_lease`` tables."""

    metadata = _metadata

    # -- per entry ---------------------------------------------------------------------------------

    def _all(self) -> dict[tuple[str, str], StartupRecord]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(_apps)).mappings().all()
        return {(r["owner"], r["server"]): StartupRecord(**dict(r)) for r in rows}

    async def all(self) -> dict[tuple[str, str], StartupRecord]:
        """Every entry's record, by (owner, server)."""
        return await asyncio.to_thread(self._all)

    def _put(self, record: StartupRecord) -> None:
        values = {k: getattr(record, k) for k in StartupRecord.__dataclass_fields__}
        key = (_apps.c.owner == record.owner) & (_apps.c.server == record.server)
        with self._engine.begin() as conn:
            if not conn.execute(update(_apps).where(key).values(**values)).rowcount:
                conn.execute(insert(_apps).values(**values))

    async def put(self, record: StartupRecord) -> None:
        """Store ``record`` (replacing the entry's earlier one)."""
        await asyncio.to_thread(self._put, record)

    # -- the lease ---------------------------------------------------------------------------------

    def _acquire(self, holder: str, seconds: float) -> bool:
        now = time.time()
        with self._engine.begin() as conn:
            taken = conn.execute(
                update(_lease)
                .where((_lease.c.name == _LEASE) & ((_lease.c.expires < now) | (_lease.c.holder == holder)))
                .values(holder=holder, expires=now + seconds, started_at=now)
            ).rowcount
            if taken:
                return True
        try:
            with self._engine.begin() as conn:
                conn.execute(insert(_lease).values(name=_LEASE, holder=holder, expires=now + seconds, started_at=now))
        except IntegrityError:
            return False  # another worker made the row first, and holds it
        return True

    async def acquire(self, holder: str, seconds: float) -> bool:
        """Take (or renew) the lease for ``seconds``; False when another holder has it."""
        return await asyncio.to_thread(self._acquire, holder, seconds)

    def _release(self, holder: str, finished: bool) -> None:
        values: dict[str, Any] = {"expires": 0.0}
        if finished:
            values["finished_at"] = time.time()
        with self._engine.begin() as conn:
            conn.execute(update(_lease).where((_lease.c.name == _LEASE) & (_lease.c.holder == holder)).values(**values))

    async def release(self, holder: str, *, finished: bool = True) -> None:
        """Give the lease back (``finished``: a whole reconcile ran; its time is the report's)."""
        await asyncio.to_thread(self._release, holder, finished)

    def _last(self) -> float:
        with self._engine.connect() as conn:
            value = conn.execute(select(_lease.c.finished_at).where(_lease.c.name == _LEASE)).scalar()
        return float(value or 0.0)

    async def last_reconcile(self) -> float:
        """When the last whole reconcile finished (unix time; 0 if never)."""
        return await asyncio.to_thread(self._last)
