"""Which environment variables of an app are secret, so the edit form never shows their values again.

The values themselves stay where every other launch option lives (the server's ``user_options`` in
the Hub, readable only by the owner and admins). What the service keeps, in its own database, is the
*names* the owner marked secret. Names that look like credentials (``…TOKEN``, ``…PASSWORD``,
``…SECRET``, ``…KEY``) are treated as secret whether marked or not.
"""

from __future__ import annotations

import asyncio
import re

from sqlalchemy import Column, MetaData, String, Table, delete, select

from hubapps.service.db import SqlStore

__all__ = ["SecretEnvMarks", "looks_secret"]

_LOOKS_SECRET = re.compile(r"(TOKEN|PASSWORD|PASSWD|SECRET|_KEY$|^KEY$|CREDENTIAL|PRIVATE)")

_metadata = MetaData()
_table = Table(
    "hubapps_secret_env",
    _metadata,
    Column("owner", String(255), primary_key=True),
    Column("server", String(255), primary_key=True),
    Column("name", String(128), primary_key=True),
)


def looks_secret(name: str) -> bool:
    return bool(_LOOKS_SECRET.search(name))


class SecretEnvMarks(SqlStore):
    """Names of secret environment variables, by ``(owner, server)``."""

    metadata = _metadata

    def _get(self, owner: str, server: str) -> set[str]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(_table.c.name).where(_table.c.owner == owner, _table.c.server == server)).all()
        return {r[0] for r in rows}

    def _set(self, owner: str, server: str, names: set[str]) -> None:
        with self._engine.begin() as conn:
            conn.execute(delete(_table).where(_table.c.owner == owner, _table.c.server == server))
            if names:
                conn.execute(_table.insert(), [{"owner": owner, "server": server, "name": n} for n in sorted(names)])

    async def get(self, owner: str, server: str) -> set[str]:
        return await asyncio.to_thread(self._get, owner, server)

    async def set(self, owner: str, server: str, names: set[str]) -> None:
        await asyncio.to_thread(self._set, owner, server, names)
