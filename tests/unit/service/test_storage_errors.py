"""A full disk or a failing database, in the service's words: 507 ``storage_full`` or 503
``database_unavailable``, with nothing half-written (issue 17, requirement 4).

SQLite's ``max_page_count`` makes a real "database or disk is full" (SQLITE_FULL) without a small
disk; the test on a real full filesystem (a 2 MiB tmpfs under a real Hub) is
``tests/integration/test_disk_full.py``.
"""

from __future__ import annotations

import errno
import io
import json
import secrets
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from hubapps.service.errors import DatabaseUnavailable, StorageFull, storage_error
from hubapps.service.settings import ServiceSettings
from tests.unit.service.conftest import FakeHub, Users

SVC = "/services/japps"


@pytest.fixture
def small_db(tmp_path: Path) -> Iterator[Engine]:
    """A SQLite file that cannot grow: every connection caps it at the pages it has now."""
    engine = create_engine(f"sqlite:///{tmp_path / 'small.sqlite'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (v BLOB)"))
    pages = int(sqlite3.connect(tmp_path / "small.sqlite").execute("PRAGMA page_count").fetchone()[0])

    @event.listens_for(engine, "connect")
    def _cap(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    engine.dispose()
    yield engine
    engine.dispose()


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT, errno.EFBIG])
def test_a_full_disk_quota_or_size_limit_is_507(code: int) -> None:
    error = storage_error(OSError(code, "full"))
    assert isinstance(error, StorageFull)
    assert error.status_code == 507
    assert "storage is full" in error.message
    assert "nothing was saved" in error.message


def test_other_os_errors_are_not_storage_errors() -> None:
    assert storage_error(OSError(errno.EACCES, "denied")) is None
    assert storage_error(ValueError("x")) is None


def test_sqlite_full_is_507_and_its_transaction_is_rolled_back(small_db: Engine, tmp_path: Path) -> None:
    with pytest.raises(OperationalError, match="database or disk is full") as caught, small_db.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (:v)"), {"v": b"x" * 200_000})
    error = storage_error(caught.value)
    assert isinstance(error, StorageFull), caught.value
    check = sqlite3.connect(tmp_path / "small.sqlite")
    assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert check.execute("SELECT count(*) FROM t").fetchone()[0] == 0  # no half row


def test_a_locked_database_is_503(tmp_path: Path) -> None:
    path = tmp_path / "locked.sqlite"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (v)")
    holder.execute("BEGIN EXCLUSIVE")
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})
    try:
        with pytest.raises(OperationalError, match="database is locked") as caught, engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (1)"))
    finally:
        engine.dispose()
        holder.close()
    error = storage_error(caught.value)
    assert isinstance(error, DatabaseUnavailable)
    assert (error.status_code, error.headers["Retry-After"]) == (503, "5")


def test_an_integrity_error_is_not_a_storage_error() -> None:
    assert storage_error(IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE"))) is None


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (20, 160, 90)).save(out, format="PNG")
    return out.getvalue()


def test_an_upload_on_a_full_database_answers_507_and_keeps_nothing(
    make_client: Any, settings: ServiceSettings, fake_hub: FakeHub, auth: Users, tmp_path: Path
) -> None:
    database = tmp_path / "service.sqlite"
    client: TestClient = make_client(settings.model_copy(update={"database_url": f"sqlite:///{database}"}))
    store = cast(Any, client.app).state.thumbnails
    pages = int(sqlite3.connect(database).execute("PRAGMA page_count").fetchone()[0])
    cap = event.listens_for(store._engine, "connect")(
        lambda dbapi_connection, _record: dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")
    )
    store._engine.dispose()
    body = {
        "data": json.dumps(
            {
                "servername": "",
                "user_options": {
                    "jhub_app": True,
                    "display_name": "Full",
                    "description": "",
                    "framework": "panel",
                    "filepath": "app.py",
                },
            }
        )
    }
    # A noisy image, so that its WebP does not fit in the pages that are left.
    noisy = Image.frombytes("RGB", (200, 150), secrets.token_bytes(200 * 150 * 3))
    out = io.BytesIO()
    noisy.save(out, format="PNG")

    r = client.post(
        f"{SVC}/server", headers=auth("ann"), data=body, files={"thumbnail": ("a.png", out.getvalue(), "image/png")}
    )

    assert r.status_code == 507, r.text
    assert r.json() == {
        "detail": "the launcher's storage is full: nothing was saved; ask your administrator to free space",
        "field": None,
        "code": "storage_full",
    }
    assert "full" not in fake_hub.users["ann"].servers  # no app was made without its image
    assert not [s for s in fake_hub.users["ann"].servers if s]
    check = sqlite3.connect(database)
    assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert check.execute("SELECT count(*) FROM hubapps_thumbnails").fetchone()[0] == 0

    # Room again: the same request is saved.
    event.remove(store._engine, "connect", cap)
    store._engine.dispose()
    r = client.post(
        f"{SVC}/server", headers=auth("ann"), data=body, files={"thumbnail": ("a.png", out.getvalue(), "image/png")}
    )
    assert r.status_code == 200, r.text
    assert check.execute("SELECT count(*) FROM hubapps_thumbnails").fetchone()[0] == 1
