"""One worker at a time: a lease on work that every service worker and replica could do, but only one
should (the idle-policy loop), held for as long as that worker lives.

With a SQLite file (one machine), the lease is an exclusive ``flock`` on ``<database>.policy-lock``;
with PostgreSQL (several replicas), a session advisory lock on a connection of its own
(:mod:`hubapps.service.advisory`). Either is let go
by the operating system or the database when the holder exits or dies, so another worker takes over at
its next try. An in-memory database belongs to one process: its worker always holds the lease.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from typing import Any

from sqlalchemy.engine import Connection, make_url

from hubapps.service.advisory import end_session, lock_engine, try_session_lock
from hubapps.service.db import private_lock_file

__all__ = ["WorkerLease"]

log = logging.getLogger("hubapps.service")

#: PostgreSQL advisory lock of the policy loop ("hubapps-idle" folded into 63 bits).
_PG_POLICY_LOCK = 0x6875626170706964


class WorkerLease:
    """Try to become the one worker doing ``name``'s work (:meth:`try_hold`); release on :meth:`close`."""

    def __init__(self, database_url: str, name: str) -> None:
        self._url = make_url(database_url)
        self._engine = lock_engine(database_url) if self._url.get_backend_name() == "postgresql" else None
        self._name = name
        self._held = False
        self._handle: Any = None
        self._connection: Connection | None = None

    @property
    def held(self) -> bool:
        return self._held

    def try_hold(self) -> bool:
        """True when this worker holds the lease (taken now or before); never waits (blocking I/O:
        call it in a thread)."""
        if self._held:
            return True
        url = self._url
        backend = url.get_backend_name()
        if backend == "sqlite":
            if url.database in (None, "", ":memory:"):
                self._held = True
            else:
                self._held = self._file_lock(f"{url.database}.{self._name}-lock")
        elif backend == "postgresql":
            self._held = self._pg_lock()
        else:
            self._held = True  # no way to share a lock: every worker does the work (it is idempotent)
        if self._held:
            log.info("This worker (pid %d) runs the %s loop", os.getpid(), self._name)
        return self._held

    def _file_lock(self, path: str) -> bool:
        handle = private_lock_file(str(path))  # held open for as long as the lease
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._handle = handle
        return True

    def _pg_lock(self) -> bool:
        assert self._engine is not None
        self._connection = try_session_lock(self._engine, _PG_POLICY_LOCK)
        return self._connection is not None

    def close(self) -> None:
        if self._handle is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None
        if self._connection is not None:
            end_session(self._connection, _PG_POLICY_LOCK)
            self._connection = None
        self._held = False
