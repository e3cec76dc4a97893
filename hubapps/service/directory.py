"""The app directory: names and descriptions of apps that their owners made visible to others.

Why it exists: the Hub tells a user *which* servers are shared with them (``GET /users/{me}/shared``)
but not their display names or descriptions, and it tells nobody which of other users' apps are
public unless the asker may read every user's servers. Giving the service's own token
``read:servers`` on all users would make every listing read the whole Hub (upstream's design and its
slowness), so instead the service keeps a small record, written when an owner publishes or shares an
app through the service and re-checked lazily: every time owners list their own apps (with their
own token, so the data is authoritative), the directory entries of that owner are brought in line
(apps gone or made private drop out). A change made behind the service's back (directly through the
Hub API) shows until the owner's next listing; see ``docs/api.md``.

The table lives in the service's database (SQLite by default; PostgreSQL for several replicas). Each
worker keeps a snapshot for :attr:`ServiceSettings.directory_cache_ttl` seconds, indexed by owner and
with its public entries apart, so a listing costs the caller's own entries, not the whole directory;
database calls run in a thread so they never block the event loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Boolean, Column, MetaData, String, Table, Text, delete, insert, select, update

from hubapps.service.db import SqlStore

__all__ = ["AppDirectory", "DirectoryEntry"]

_metadata = MetaData()
_table = Table(
    "hubapps_directory",
    _metadata,
    Column("owner", String(255), primary_key=True),
    Column("server", String(255), primary_key=True),
    Column("display_name", String(255), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("framework", String(64), nullable=False, default=""),
    Column("thumbnail", String(200), nullable=False, default=""),
    Column("public", Boolean, nullable=False, default=False),
)


@dataclass(frozen=True)
class DirectoryEntry:
    owner: str
    server: str
    display_name: str
    description: str = ""
    framework: str = ""
    thumbnail: str = ""
    public: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return (self.owner, self.server)


class AppDirectory(SqlStore):
    """Public and shared apps' display data, by ``(owner, server)``."""

    metadata = _metadata

    def __init__(self, database_url: str, *, cache_ttl: float = 5.0) -> None:
        super().__init__(database_url)
        self._ttl = cache_ttl
        self._snapshot: dict[tuple[str, str], DirectoryEntry] | None = None
        self._by_owner: dict[str, dict[tuple[str, str], DirectoryEntry]] = {}
        self._public: list[DirectoryEntry] = []
        self._loaded_at = 0.0
        self._lock = asyncio.Lock()
        self._ready = False

    def _create(self) -> None:
        super()._create()
        self._ready = True

    # -- reading -----------------------------------------------------------------------------------

    def _load(self) -> dict[tuple[str, str], DirectoryEntry]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(_table)).mappings().all()
        return {(r["owner"], r["server"]): DirectoryEntry(**dict(r)) for r in rows}

    def _use(self, snapshot: dict[tuple[str, str], DirectoryEntry]) -> None:
        """Make ``snapshot`` current, with its indexes (never changed in place afterwards)."""
        by_owner: dict[str, dict[tuple[str, str], DirectoryEntry]] = {}
        for key, entry in snapshot.items():
            by_owner.setdefault(key[0], {})[key] = entry
        self._snapshot = snapshot
        self._by_owner = by_owner
        self._public = [e for e in snapshot.values() if e.public]

    async def snapshot(self) -> dict[tuple[str, str], DirectoryEntry]:
        if self._snapshot is not None and time.monotonic() - self._loaded_at < self._ttl:
            return self._snapshot
        async with self._lock:
            if self._snapshot is None or time.monotonic() - self._loaded_at >= self._ttl:
                self._use(await asyncio.to_thread(self._load))
                self._loaded_at = time.monotonic()
        assert self._snapshot is not None
        return self._snapshot

    async def public(self) -> list[DirectoryEntry]:
        """Public entries (a list shared by callers: do not change it)."""
        await self.snapshot()
        return self._public

    async def owned_by(self, owner: str) -> dict[tuple[str, str], DirectoryEntry]:
        """One owner's entries (a mapping shared by callers: do not change it)."""
        await self.snapshot()
        return self._by_owner.get(owner, {})

    async def get(self, owner: str, server: str) -> DirectoryEntry | None:
        return (await self.snapshot()).get((owner, server))

    # -- writing -----------------------------------------------------------------------------------

    def _write(self, upserts: list[DirectoryEntry], removals: list[tuple[str, str]]) -> None:
        with self._engine.begin() as conn:
            for owner, server in removals:
                conn.execute(delete(_table).where(_table.c.owner == owner, _table.c.server == server))
            for entry in upserts:
                values = {
                    "display_name": entry.display_name,
                    "description": entry.description,
                    "framework": entry.framework,
                    "thumbnail": entry.thumbnail,
                    "public": entry.public,
                }
                done = conn.execute(
                    update(_table)
                    .where(_table.c.owner == entry.owner, _table.c.server == entry.server)
                    .values(**values)
                )
                if done.rowcount == 0:
                    conn.execute(insert(_table).values(owner=entry.owner, server=entry.server, **values))

    async def _apply(self, upserts: list[DirectoryEntry], removals: list[tuple[str, str]]) -> None:
        if not upserts and not removals:
            return
        await asyncio.to_thread(self._write, upserts, removals)
        if self._snapshot is not None:
            snapshot = dict(self._snapshot)
            for key in removals:
                snapshot.pop(key, None)
            for entry in upserts:
                snapshot[entry.key] = entry
            self._use(snapshot)

    async def record(self, entry: DirectoryEntry) -> None:
        """Add or update one app (its owner published or shared it through the service)."""
        current = await self.get(entry.owner, entry.server)
        if current != entry:
            await self._apply([entry], [])

    async def remove(self, owner: str, server: str) -> None:
        if await self.get(owner, server) is not None:
            await self._apply([], [(owner, server)])

    async def sync_owner(self, owner: str, apps: Iterable[DirectoryEntry]) -> None:
        """Bring one owner's entries in line with their apps as the Hub just reported them.

        Public apps are added; apps already listed (shared ones) are updated; entries whose app is
        gone are dropped. Writes happen only when something changed.
        """
        mine = await self.owned_by(owner)
        seen: set[tuple[str, str]] = set()
        upserts: list[DirectoryEntry] = []
        for app in apps:
            seen.add(app.key)
            current = mine.get(app.key)
            if (app.public or current is not None) and current != app:
                upserts.append(app)
        removals = [key for key in mine if key not in seen]
        await self._apply(upserts, removals)
