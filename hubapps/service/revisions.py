"""App revisions: every spec an app has had, numbered 1..n per app, so it can be compared and rolled back.

The operations layer (:mod:`hubapps.service.operations.revisions`) adds one revision each time the Hub
takes a new spec (create, edit, public flag, rollback). A revision holds the spec exactly as it went
into the Hub's ``user_options`` (:meth:`~hubapps.core.spec.AppSpec.to_user_options`): secret values
are the Fernet tokens the service sealed, which it cannot open; nothing here decrypts them, and the
API shows their names only.

Rows are immutable, except two things: :meth:`RevisionStore.attach_source` fills, once, the source
the app's proxy reported when the spec first ran (the sha256 of the app's file, or the repository's
commit), and retention deletes an app's oldest revisions beyond
:attr:`~hubapps.service.settings.ServiceSettings.revision_keep`. A deleted app's revisions are
deleted with it, and a newly created app starts a history of its own (never continuing that of an
earlier app of the same name).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from hubapps.service.db import SqlStore

__all__ = ["Revision", "RevisionStore"]

#: Inserts retried when another worker took the same number at the same moment.
_INSERT_ATTEMPTS = 5

_metadata = MetaData()
_table = Table(
    "hubapps_revisions",
    _metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("owner", String(255), nullable=False),
    Column("server", String(255), nullable=False),
    Column("number", Integer, nullable=False),
    Column("at", Float, nullable=False),
    # NULL: not known (the first revision of an app made before revisions were recorded).
    Column("actor", String(255), nullable=True),
    Column("note", String(255), nullable=False),
    Column("spec", Text, nullable=False),
    Column("source_sha256", String(64), nullable=True),
    Column("source_commit", String(64), nullable=True),
    UniqueConstraint("owner", "server", "number", name="uq_hubapps_revisions_app_number"),
)


@dataclass(frozen=True)
class Revision:
    """Revision ``number`` of ``owner``'s app ``server``: the ``spec`` (``user_options``, secrets
    sealed) saved at ``at`` by ``actor`` (None: unknown), with a ``note`` ("created", "edited",
    "rolled back to 3") and the source it first ran with, once the proxy reported it."""

    owner: str
    server: str
    number: int
    at: float
    actor: str | None
    note: str
    spec: Mapping[str, Any] = field(default_factory=dict)
    source_sha256: str | None = None
    source_commit: str | None = None


def _revision(row: Any) -> Revision:
    try:
        spec = json.loads(row["spec"])
    except ValueError:
        spec = {}
    return Revision(
        owner=row["owner"],
        server=row["server"],
        number=int(row["number"]),
        at=float(row["at"]),
        actor=row["actor"],
        note=row["note"],
        spec=spec if isinstance(spec, dict) else {},
        source_sha256=row["source_sha256"],
        source_commit=row["source_commit"],
    )


def _app(owner: str, server: str) -> Any:
    return (_table.c.owner == owner) & (_table.c.server == server)


class RevisionStore(SqlStore):
    """The ``hubapps_revisions`` table: add (with retention), read, attach a source, forget an app."""

    metadata = _metadata

    # -- writing -----------------------------------------------------------------------------------

    def _prune(self, conn: Connection, owner: str, server: str, keep: int) -> None:
        if keep <= 0:
            return
        newest = select(_table.c.number).where(_app(owner, server)).order_by(_table.c.number.desc())
        cut = conn.execute(newest.offset(keep - 1).limit(1)).scalar()
        if cut is not None:
            conn.execute(delete(_table).where(_app(owner, server), _table.c.number < cut))

    def _insert(
        self, owner: str, server: str, spec: str, actor: str | None, note: str, keep: int, fresh: bool, base: bool
    ) -> Revision | None:
        for attempt in range(_INSERT_ATTEMPTS):
            try:
                with self._engine.begin() as conn:
                    if fresh:
                        conn.execute(delete(_table).where(_app(owner, server)))
                    last = conn.execute(select(func.max(_table.c.number)).where(_app(owner, server))).scalar()
                    if base and last is not None:
                        return None  # the app has its history already
                    row = {
                        "owner": owner,
                        "server": server,
                        "number": int(last or 0) + 1,
                        "at": time.time(),
                        "actor": actor,
                        "note": note,
                        "spec": spec,
                    }
                    conn.execute(insert(_table), [row])
                    self._prune(conn, owner, server, keep)
                    return _revision({**row, "source_sha256": None, "source_commit": None})
            except IntegrityError:
                if attempt == _INSERT_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    async def add(
        self,
        owner: str,
        server: str,
        spec: Mapping[str, Any],
        *,
        actor: str | None,
        note: str,
        keep: int = 0,
        fresh: bool = False,
    ) -> Revision:
        """Record ``spec`` as the app's next revision; then only its newest ``keep`` revisions stay
        (0: all). ``fresh`` (a newly created app) first forgets any history of that name."""
        text = json.dumps(dict(spec), separators=(",", ":"), sort_keys=True)
        made = await asyncio.to_thread(self._insert, owner, server, text, actor, note, keep, fresh, False)
        assert made is not None
        return made

    async def add_base(self, owner: str, server: str, spec: Mapping[str, Any], *, note: str) -> Revision | None:
        """Record ``spec`` as revision 1 (actor unknown) unless the app has revisions already; the
        revision made, or None."""
        text = json.dumps(dict(spec), separators=(",", ":"), sort_keys=True)
        return await asyncio.to_thread(self._insert, owner, server, text, None, note, 0, False, True)

    def _attach(self, owner: str, server: str, sha256: str | None, commit: str | None) -> int | None:
        with self._engine.begin() as conn:
            newest = conn.execute(
                select(_table.c.id, _table.c.number, _table.c.source_sha256, _table.c.source_commit)
                .where(_app(owner, server))
                .order_by(_table.c.number.desc())
                .limit(1)
            ).first()
            if newest is None or newest.source_sha256 is not None or newest.source_commit is not None:
                return None
            conn.execute(
                update(_table)
                .where(_table.c.id == newest.id, _table.c.source_sha256.is_(None), _table.c.source_commit.is_(None))
                .values(source_sha256=sha256, source_commit=commit)
            )
            return int(newest.number)

    async def attach_source(
        self, owner: str, server: str, sha256: str | None = None, commit: str | None = None
    ) -> int | None:
        """Fill the source of the app's newest revision if it has none yet: the sha256 of the app's file
        or the repository's commit, as the proxy reported it at a start. The number of the revision
        filled, or None (no revision, nothing given, or the newest one has its source already: a later
        start of the same spec does not change what it first ran with, and an older revision is
        never given a source it did not run with)."""
        if not sha256 and not commit:
            return None
        return await asyncio.to_thread(self._attach, owner, server, sha256 or None, commit or None)

    def _delete(self, owner: str, server: str) -> int:
        with self._engine.begin() as conn:
            return int(conn.execute(delete(_table).where(_app(owner, server))).rowcount or 0)

    async def delete_app(self, owner: str, server: str) -> int:
        """Forget every revision of the app (it was deleted); how many."""
        return await asyncio.to_thread(self._delete, owner, server)

    def _delete_owner(self, owner: str) -> int:
        with self._engine.begin() as conn:
            return int(conn.execute(delete(_table).where(_table.c.owner == owner)).rowcount or 0)

    async def delete_owner(self, owner: str) -> int:
        """Forget every revision of ``owner``'s apps (the user is being forgotten); how many."""
        return await asyncio.to_thread(self._delete_owner, owner)

    # -- reading -----------------------------------------------------------------------------------

    def _select(self, owner: str, server: str, number: int | None) -> list[Revision]:
        query = select(_table).where(_app(owner, server))
        if number is not None:
            query = query.where(_table.c.number == number)
        with self._engine.connect() as conn:
            rows = conn.execute(query.order_by(_table.c.number.desc())).mappings().all()
        return [_revision(r) for r in rows]

    def _newest(self, owner: str, server: str) -> int | None:
        with self._engine.connect() as conn:
            found = conn.execute(select(func.max(_table.c.number)).where(_app(owner, server))).scalar()
        return None if found is None else int(found)

    async def newest_number(self, owner: str, server: str) -> int | None:
        """The number of the app's newest revision; None if it has none."""
        return await asyncio.to_thread(self._newest, owner, server)

    async def revisions(self, owner: str, server: str) -> list[Revision]:
        """The app's revisions, newest first."""
        return await asyncio.to_thread(self._select, owner, server, None)

    async def get(self, owner: str, server: str, number: int) -> Revision | None:
        """Revision ``number`` of the app, or None (never made, or deleted by retention)."""
        found = await asyncio.to_thread(self._select, owner, server, number)
        return found[0] if found else None
