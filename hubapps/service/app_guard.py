"""One change at a time per app: a restart, an edit or a deletion holds the app until the Hub has
finished it, and a conflicting request meanwhile answers 409 ``busy``, naming what is under way.

Why: a restart is several Hub calls (stop, wait, store the new spec, start) that go on in the
background after the request was answered. Without a hold, a second edit sent meanwhile stored its
spec and then the first one's stale spec over it (the last accepted edit lost); a stop was undone by
the restart's start; and a deletion followed by the restart's start made a new, empty server of the
app's name. Starts and stops are single Hub calls that the Hub itself orders (a second start of a
starting server joins it, a stop interrupts a pending start), so they only check that no hold is
taken (:meth:`AppGuard.check`); they do not hold the app themselves, so a stop still interrupts a
start.

Holds are shared by every service worker that shares the database:

- with a SQLite file (the workers of one machine), a hold is also an exclusive ``flock`` on a file of
  its own in ``<database>.app-locks/`` (named by a hash of the app), released by the operating system if
  the worker dies;
- with PostgreSQL (workers of several replicas), a hold is also PostgreSQL's session-level advisory lock
  on a 64-bit hash of the app, on a connection of its own kept until the release; PostgreSQL releases it
  if the worker or its connection dies. A check takes and at once gives back the shared form of that
  lock. A hold of another replica is reported as "being changed" (PostgreSQL keeps no text with a lock);
- an in-memory database is one worker's, and so are its holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
from collections.abc import Awaitable
from pathlib import Path
from typing import IO, Any, TypeVar

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from hubapps.service.db import database_url as sqlalchemy_url
from hubapps.service.db import private_lock_file
from hubapps.service.errors import Busy

__all__ = ["AppGuard", "Hold", "held_until_done"]

T = TypeVar("T")


def _busy(what: str) -> Busy:
    return Busy(f"the app is {what or 'being changed'}; send this again when that has finished")


class Hold:
    """An app held by one operation; :meth:`release` (idempotent) once the Hub has finished it."""

    def __init__(self, guard: AppGuard, key: tuple[str, str], handle: Any) -> None:
        self._guard = guard
        self._key = key
        self._handle = handle  # a lock file, or a PostgreSQL connection holding the advisory lock
        self._released = False

    def release(self) -> None:
        if self._released:
            return
        self._released = True
        self._guard._held.pop(self._key, None)
        if self._handle is None:
            return
        if self._guard._pg is not None:
            with contextlib.suppress(Exception):  # closing the session releases its lock in any case
                self._handle.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _pg_key(self._key)})
            with contextlib.suppress(Exception):
                self._handle.close()
            return
        with contextlib.suppress(OSError):
            self._handle.truncate(0)
            fcntl.flock(self._handle, fcntl.LOCK_UN)
        self._handle.close()


def _pg_key(key: tuple[str, str]) -> int:
    """The app's advisory lock: a signed 64-bit hash of ``owner/server``."""
    return int.from_bytes(hashlib.sha256(f"hubapps-app:{key[0]}/{key[1]}".encode()).digest()[:8], "big", signed=True)


async def held_until_done(work: Awaitable[T], hold: Hold) -> T:
    """Await ``work`` (the Hub calls of an operation), then release ``hold`` whatever came of it."""
    try:
        return await work
    finally:
        hold.release()


class AppGuard:
    """The holds of this service's apps (see the module's docstring)."""

    def __init__(self, database_url: str) -> None:
        url = make_url(database_url)
        database = url.database
        shared = url.get_backend_name() == "sqlite" and database not in (None, "", ":memory:")
        self._folder = Path(f"{database}.app-locks") if shared else None
        #: Connections of their own for PostgreSQL's advisory locks (not the stores' pool: a hold keeps one).
        self._pg = (
            create_engine(sqlalchemy_url(database_url), poolclass=NullPool)
            if url.get_backend_name() == "postgresql"
            else None
        )
        #: What is under way, by app, in this worker.
        self._held: dict[tuple[str, str], str] = {}

    def _path(self, key: tuple[str, str]) -> Path:
        assert self._folder is not None
        return self._folder / hashlib.sha256(f"{key[0]}/{key[1]}".encode()).hexdigest()[:40]

    def _pg_lock(self, key: tuple[str, str]) -> Any:
        assert self._pg is not None
        connection = self._pg.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            taken = connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _pg_key(key)}).scalar_one()
        except BaseException:
            connection.close()
            raise
        if not taken:
            connection.close()
            raise _busy("")
        return connection

    def _pg_probe(self, key: tuple[str, str]) -> None:
        assert self._pg is not None
        with self._pg.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            k = {"k": _pg_key(key)}
            if not connection.execute(text("SELECT pg_try_advisory_lock_shared(:k)"), k).scalar_one():
                raise _busy("")
            connection.execute(text("SELECT pg_advisory_unlock_shared(:k)"), k)

    def _lock(self, key: tuple[str, str], what: str) -> IO[bytes] | Any | None:
        """Blocking part of :meth:`hold` (a local file or a PostgreSQL lock; run in a thread)."""
        if self._pg is not None:
            return self._pg_lock(key)
        if self._folder is None:
            return None
        self._folder.mkdir(mode=0o700, exist_ok=True)
        handle = private_lock_file(str(self._path(key)))
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            doing = handle.read(200).decode("utf-8", "replace")
            handle.close()
            raise _busy(doing) from None
        handle.truncate(0)
        handle.write(what.encode())
        handle.flush()
        return handle

    def _probe(self, key: tuple[str, str]) -> None:
        """Blocking part of :meth:`check`."""
        if self._pg is not None:
            self._pg_probe(key)
            return
        if self._folder is None or not self._path(key).exists():
            return
        with private_lock_file(str(self._path(key))) as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:
                raise _busy(handle.read(200).decode("utf-8", "replace")) from None
            fcntl.flock(handle, fcntl.LOCK_UN)

    async def hold(self, owner: str, server: str, what: str) -> Hold:
        """Hold ``owner/server`` for an operation (``what`` it does, as in "the app is <what>");
        :class:`Busy` (409) when another one holds it."""
        key = (owner, server)
        if key in self._held:
            raise _busy(self._held[key])
        self._held[key] = what  # (before the thread runs: a second request in this worker sees it at once)
        try:
            handle = await asyncio.to_thread(self._lock, key, what)
        except BaseException:
            self._held.pop(key, None)
            raise
        return Hold(self, key, handle)

    async def check(self, owner: str, server: str) -> None:
        """:class:`Busy` (409) when an operation holds ``owner/server``."""
        key = (owner, server)
        if key in self._held:
            raise _busy(self._held[key])
        await asyncio.to_thread(self._probe, key)
