"""The service's database: one way to open it, its schema (Alembic migrations), and the lifecycle every
store in it shares.

The schema is made and changed only by the migrations in ``hubapps/service/migrations/versions``
(:func:`upgrade`, run when a store opens), never by ``create_all``: a database written by any earlier
release is brought to this release's schema with its rows kept. Several service workers or replicas
may start at once, so the upgrade holds a lock: PostgreSQL's advisory lock, or a lock file next to a
SQLite file (``<database>.migrate-lock``).

Alembic stays out of the service's own memory (about 12 MB of its 150 MB budget, issue 15): a database
already at :data:`SCHEMA_HEAD` is checked with one query, and one that needs its schema made or changed
is upgraded by a short-lived process of its own (``python -m hubapps.service.db``, the URL on its standard
input, so that no password shows in the process list). In-memory databases, which live only in this
process, are upgraded here.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import subprocess
import sys
import threading
import weakref
from collections.abc import Iterator
from typing import IO

from sqlalchemy import MetaData, create_engine, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import QueuePool

__all__ = ["MIGRATIONS", "SCHEMA_HEAD", "SqlStore", "database_url", "make_engine", "upgrade"]

#: Where the migrations are (a package resource, so it works from an installed wheel).
MIGRATIONS = "hubapps.service:migrations"
#: The newest migration's revision (``tests/unit/service/test_migrations.py`` checks it is Alembic's head).
SCHEMA_HEAD = "0005"
#: Seconds an upgrade in a process of its own may take (a big database's data migration can be slow).
UPGRADE_TIMEOUT = 600.0
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


#: The engine of each database URL in this process (see :func:`shared_engine`).
_engines: weakref.WeakValueDictionary[str, Engine] = weakref.WeakValueDictionary()
_engines_lock = threading.Lock()


def shared_engine(url: str) -> Engine:
    """The one engine of ``url`` in this process, which every store of the database uses: one pool of
    connections, not one a store (seven stores each kept up to five SQLite connections, each with a page
    cache of its own). An in-memory database is one per engine, so each call gets a new one."""
    if url in ("sqlite://", "sqlite:///:memory:"):
        return make_engine(url)
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = make_engine(url)
        return engine


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
    if not key or revision != "head":
        upgrade_here(engine, revision)
    elif not at_head(engine):
        _upgrade_in_child(key)
    if key:
        with _upgraded_lock:
            _upgraded.add((key, revision))


def at_head(engine: Engine) -> bool:
    """Whether the database's schema is :data:`SCHEMA_HEAD` (one query; no Alembic)."""
    try:
        with engine.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except SQLAlchemyError:  # no such table yet
        return False
    return list(versions) == [SCHEMA_HEAD]


def upgrade_here(engine: Engine, revision: str = "head") -> None:
    """Run Alembic's upgrade to ``revision`` in this process, under the lock."""
    from alembic import command
    from alembic.config import Config

    with _file_lock(engine), engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK})")
        config = Config()
        config.set_main_option("script_location", MIGRATIONS)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def _upgrade_in_child(url: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "hubapps.service.db"],
        input=url,
        capture_output=True,
        text=True,
        timeout=UPGRADE_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        said = done.stderr.strip().splitlines()
        raise RuntimeError(f"the service database's upgrade failed: {said[-1] if said else done.returncode}")


def _main() -> None:
    """``python -m hubapps.service.db``: upgrade the database whose URL is on standard input to the head."""
    engine = make_engine(sys.stdin.read().strip())
    try:
        upgrade_here(engine)
    finally:
        engine.dispose()


class SqlStore:
    """Tables of one store in the service database, made by the migrations on :meth:`open`, released on
    :meth:`close`.

    Database calls are blocking: subclasses run them with ``asyncio.to_thread``.
    """

    #: The store's tables (as the migrations make them); set by each subclass.
    metadata: MetaData

    def __init__(self, database_url: str) -> None:
        self._engine = shared_engine(database_url)

    def _create(self) -> None:
        upgrade(self._engine)

    async def open(self) -> None:
        await asyncio.to_thread(self._create)

    def close(self) -> None:
        self._engine.dispose()


if __name__ == "__main__":
    _main()
