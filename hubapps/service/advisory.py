"""PostgreSQL's advisory locks, as the service's workers and replicas share them.

A *session* lock lives on a connection of its own (:func:`lock_engine`: no pool, so that closing the
connection ends the session) and is held until :func:`end_session`, or until PostgreSQL notices that the
worker or its connection died: the idle-policy lease (:mod:`hubapps.service.lease`) and an app's hold
(:mod:`hubapps.service.app_guard`). A check for a lock someone holds takes its shared form inside a
transaction of a pooled connection (:func:`is_free`), which PostgreSQL lets go at the commit.
"""

from __future__ import annotations

import contextlib
import hashlib

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from hubapps.service.db import database_url

__all__ = ["advisory_key", "end_session", "is_free", "lock_engine", "try_session_lock"]


def advisory_key(name: str) -> int:
    """The lock of ``name``: a signed 64-bit hash, as PostgreSQL's ``bigint`` keys are."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def lock_engine(url: str) -> Engine:
    """Connections for session locks: each one opened for its lock and closed with it (never pooled,
    where a returned connection would keep holding the lock)."""
    return create_engine(database_url(url), poolclass=NullPool)


def try_session_lock(engine: Engine, key: int) -> Connection | None:
    """``key``'s exclusive session lock, on a new connection that holds it; None if another session has
    it. Blocking I/O: call it in a thread."""
    connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        taken = bool(connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar_one())
    except BaseException:
        connection.close()
        raise
    if not taken:
        connection.close()
        return None
    return connection


def end_session(connection: Connection, key: int) -> None:
    """Let go of ``key``'s session lock and close ``connection``. The unlock is one round trip, waited
    for: a check right after (the next request of the same user) finds the app free, which it might not
    if only the closing socket told PostgreSQL. Closing ends the session, and any lock left with it."""
    with contextlib.suppress(Exception):
        connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
    with contextlib.suppress(Exception):
        connection.close()


def is_free(engine: Engine, key: int) -> bool:
    """Whether no session holds ``key`` exclusively: its shared form taken in a transaction, which lets go
    of it at the commit. One round trip on a pooled connection. Blocking I/O: call it in a thread."""
    with engine.begin() as connection:
        return bool(connection.execute(text("SELECT pg_try_advisory_xact_lock_shared(:k)"), {"k": key}).scalar_one())
