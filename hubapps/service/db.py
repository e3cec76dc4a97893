"""The service's database: one way to open it, whatever table a store keeps there."""

from __future__ import annotations

from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool

__all__ = ["make_engine"]


def make_engine(url: str) -> Engine:
    """An engine for ``url``: in-memory SQLite shares one connection, file SQLite waits on locks."""
    if url in ("sqlite://", "sqlite:///:memory:"):
        return create_engine(url, connect_args={"check_same_thread": False}, poolclass=StaticPool)
    if url.startswith("sqlite"):
        return create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
    return create_engine(url, pool_pre_ping=True)
