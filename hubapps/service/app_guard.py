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
- with PostgreSQL (workers of several replicas), a hold is also a session advisory lock on a hash of the
  app (:mod:`hubapps.service.advisory`), released by PostgreSQL if the worker or its connection dies; a
  check takes its shared form for one transaction. A hold of another replica is reported as "being
  changed" (PostgreSQL keeps no text with a lock);
- an in-memory database is one worker's, and so are its holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO, TypeVar

from sqlalchemy.engine import make_url

from hubapps.service.advisory import advisory_key, end_session, is_free, lock_engine, try_session_lock
from hubapps.service.db import private_lock_file, shared_engine
from hubapps.service.errors import Busy

__all__ = ["AppGuard", "Hold", "held_until_done"]

T = TypeVar("T")


def _busy(what: str) -> Busy:
    return Busy(f"the app is {what or 'being changed'}; send this again when that has finished")


class Hold:
    """An app held by one operation; :meth:`release` (idempotent) once the Hub has finished it."""

    def __init__(self, guard: AppGuard, key: tuple[str, str], let_go: Callable[[], None] | None) -> None:
        self._guard = guard
        self._key = key
        self._let_go = let_go  # unlocks the lock file, or ends the PostgreSQL session holding the lock
        self._released = False

    def release(self) -> None:
        if self._released:
            return
        self._released = True
        self._guard._held.pop(self._key, None)
        if self._let_go is not None:
            self._let_go()


def _unlock(handle: IO[bytes]) -> None:
    with contextlib.suppress(OSError):
        handle.truncate(0)
        fcntl.flock(handle, fcntl.LOCK_UN)
    handle.close()


def _pg_key(key: tuple[str, str]) -> int:
    return advisory_key(f"hubapps-app:{key[0]}/{key[1]}")


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
        postgres = url.get_backend_name() == "postgresql"
        #: PostgreSQL: connections of their own for holds (a hold keeps one), the stores' pool for checks.
        self._pg = lock_engine(database_url) if postgres else None
        self._pg_checks = shared_engine(database_url) if postgres else None
        #: What is under way, by app, in this worker.
        self._held: dict[tuple[str, str], str] = {}

    def _path(self, key: tuple[str, str]) -> Path:
        assert self._folder is not None
        return self._folder / hashlib.sha256(f"{key[0]}/{key[1]}".encode()).hexdigest()[:40]

    def _lock(self, key: tuple[str, str], what: str) -> Callable[[], None] | None:
        """Blocking part of :meth:`hold` (a local file or a PostgreSQL lock; run in a thread): how to let go."""
        if self._pg is not None:
            connection = try_session_lock(self._pg, _pg_key(key))
            if connection is None:
                raise _busy("")  # (PostgreSQL keeps no text with a lock)
            return lambda: end_session(connection, _pg_key(key))
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
        return lambda: _unlock(handle)

    def _probe(self, key: tuple[str, str]) -> None:
        """Blocking part of :meth:`check`."""
        if self._pg_checks is not None:
            if not is_free(self._pg_checks, _pg_key(key)):
                raise _busy("")
            return
        if self._folder is None or not self._path(key).exists():
            return
        with private_lock_file(str(self._path(key))) as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:
                raise _busy(handle.read(200).decode("utf-8", "replace")) from None
            fcntl.flock(handle, fcntl.LOCK_UN)

    def close(self) -> None:
        """Close the pooled connections of the checks (holds end with their release)."""
        if self._pg_checks is not None:
            self._pg_checks.dispose()

    async def hold(self, owner: str, server: str, what: str) -> Hold:
        """Hold ``owner/server`` for an operation (``what`` it does, as in "the app is <what>");
        :class:`Busy` (409) when another one holds it."""
        key = (owner, server)
        if key in self._held:
            raise _busy(self._held[key])
        self._held[key] = what  # (before the thread runs: a second request in this worker sees it at once)
        try:
            let_go = await asyncio.to_thread(self._lock, key, what)
        except BaseException:
            self._held.pop(key, None)
            raise
        return Hold(self, key, let_go)

    async def check(self, owner: str, server: str) -> None:
        """:class:`Busy` (409) when an operation holds ``owner/server``."""
        key = (owner, server)
        if key in self._held:
            raise _busy(self._held[key])
        await asyncio.to_thread(self._probe, key)
