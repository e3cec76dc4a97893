"""The service's database: one way to open it, its schema (Alembic migrations), and the lifecycle every
store in it shares.

The schema is made and changed only by the migrations in ``hubapps/service/migrations/versions``
(:func:`upgrade`, run when a store opens), never by ``create_all``: a database written by any earlier
release is brought to this release's schema with its rows kept. Several service workers or replicas
may start at once, so the upgrade holds a lock: PostgreSQL's advisory lock, or a lock file next to a
SQLite file (``<database>.migrate-lock``).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from typing import IO

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, create_engine
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.pool import QueuePool

__all__ = ["MIGRATIONS", "SqlStore", "database_url", "make_engine", "upgrade"]

#: Where the migrations are (a package resource, so it works from an installed wheel).
MIGRATIONS = "hubapps.service:migrations"
#: PostgreSQL advisory lock taken while the schema is upgraded ("hubapps" in ASCII, cut to 63 bits).
_PG_LOCK = 0x68756261707073
#: Databases this process has brought up to date (in-memory ones are not listed: each engine has its own).
_upgraded: set[tuple[str, str]] = set()
_upgraded_lock = threading.Lock()


def database_url(url: str) -> URL:
    """``url`` as SQLAlchemy reads it, a plain ``postgresql://`` naming psycopg 3 (``hubapps[postgresql]``):
    SQLAlchemy's own default for it is psycopg2, which hubapps does not install."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(url: str) -> Engine:
    """An engine for ``url``: in-memory SQLite is one connection, file SQLite waits on locks.

    The one connection of an in-memory database (the database lives as long as it does) is a pool of one:
    the stores' worker threads (``asyncio.to_thread``) take turns with it, so that two transactions never
    interleave on it (one's rollback would undo the other's writes), as they could with a shared
    ``StaticPool`` connection.
    """
    if url in ("sqlite://", "sqlite:///:memory:"):
        return create_engine(
            url, connect_args={"check_same_thread": False}, poolclass=QueuePool, pool_size=1, max_overflow=0
        )
    if url.startswith("sqlite"):
        return create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
    return create_engine(database_url(url), pool_pre_ping=True)


def _in_memory(engine: Engine) -> bool:
    return engine.url.get_backend_name() == "sqlite" and engine.url.database in (None, "", ":memory:")


def private_lock_file(path: str) -> IO[bytes]:
    """Open (or make) a lock file only the service's own user may open: ``flock`` works on a descriptor
    opened for reading, so a lock file others can read is one another local user could hold."""
    return os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT, 0o600), "r+b")


@contextlib.contextmanager
def _file_lock(engine: Engine) -> Iterator[None]:
    """An exclusive lock beside a SQLite file (a file of its own: closing a descriptor of the database
    file itself would drop SQLite's own locks in this process)."""
    database = engine.url.database
    if engine.url.get_backend_name() != "sqlite" or _in_memory(engine) or not database:
        yield
        return
    with private_lock_file(f"{database}.migrate-lock") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision`` (blocking; once per database and process)."""
    key = "" if _in_memory(engine) else engine.url.render_as_string(hide_password=False)
    with _upgraded_lock:
        if key and (key, revision) in _upgraded:
            return
    with _file_lock(engine), engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK})")
        config = Config()
        config.set_main_option("script_location", MIGRATIONS)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    if key:
        with _upgraded_lock:
            _upgraded.add((key, revision))


class SqlStore:
    """Tables of one store in the service database, made by the migrations on :meth:`open`, released on
    :meth:`close`.

    Database calls are blocking: subclasses run them with ``asyncio.to_thread``.
    """

    #: The store's tables (as the migrations make them); set by each subclass.
    metadata: MetaData

    def __init__(self, database_url: str) -> None:
        self._engine = make_engine(database_url)

    def _create(self) -> None:
        upgrade(self._engine)

    async def open(self) -> None:
        await asyncio.to_thread(self._create)

    def close(self) -> None:
        self._engine.dispose()
