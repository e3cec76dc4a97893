"""The service's database: one way to open it, and the lifecycle every store in it shares."""

from __future__ import annotations

import asyncio

from sqlalchemy import MetaData, create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool

__all__ = ["SqlStore", "make_engine"]


def make_engine(url: str) -> Engine:
    """An engine for ``url``: in-memory SQLite shares one connection, file SQLite waits on locks."""
    if url in ("sqlite://", "sqlite:///:memory:"):
        return create_engine(url, connect_args={"check_same_thread": False}, poolclass=StaticPool)
    if url.startswith("sqlite"):
        return create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
    return create_engine(url, pool_pre_ping=True)


class SqlStore:
    """Tables of one store in the service database, created on :meth:`open`, released on :meth:`close`.

    Database calls are blocking: subclasses run them with ``asyncio.to_thread``.
    """

    #: The store's tables; set by each subclass.
    metadata: MetaData

    def __init__(self, database_url: str) -> None:
        self._engine = make_engine(database_url)

    def _create(self) -> None:
        self.metadata.create_all(self._engine)

    async def open(self) -> None:
        await asyncio.to_thread(self._create)

    def close(self) -> None:
        self._engine.dispose()
