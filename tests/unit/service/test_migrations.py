"""The service database's schema is the migrations' (Alembic): they make exactly the tables the stores
use, take over a database made before them with its rows, and run safely from several workers at once."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, Table, inspect, select, text

import hubapps.service.app  # noqa: F401  (imports every store)
from hubapps.core.settings import AdminSettings
from hubapps.service import db
from hubapps.service.db import SqlStore, make_engine, upgrade
from hubapps.service.directory import AppDirectory, DirectoryEntry

#: The tables releases before Alembic made with ``create_all``.
PRE_ALEMBIC_TABLES = ("hubapps_directory", "hubapps_thumbnails", "hubapps_thumbnail_uses", "hubapps_secret_env")


def _stores() -> list[type[SqlStore]]:
    found: list[type[SqlStore]] = []
    todo = list(SqlStore.__subclasses__())
    while todo:
        store = todo.pop()
        found.append(store)
        todo += store.__subclasses__()
    return [s for s in found if "metadata" in vars(s)]


def _models() -> MetaData:
    combined = MetaData()
    for store in _stores():
        for table in store.metadata.tables.values():
            table.to_metadata(combined)
    return combined


def _head() -> str:
    config = Config()
    config.set_main_option("script_location", db.MIGRATIONS)
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def test_the_schema_head_the_service_checks_is_alembics() -> None:
    """The service skips Alembic for a database at db.SCHEMA_HEAD: a new migration must move it."""
    assert _head() == db.SCHEMA_HEAD


def test_the_service_process_never_loads_alembic_for_a_database_file(tmp_path: Path) -> None:
    """A new database file is made by a process of its own, and one at the head is only checked: the
    service's own process keeps Alembic (and Mako) out of its memory. A failing upgrade says why."""
    import subprocess

    code = (
        "import sys, asyncio\n"
        "from hubapps.service.directory import AppDirectory\n"
        "for _ in range(2):\n"
        "    store = AppDirectory(sys.argv[1]); asyncio.run(store.open()); store.close()\n"
        "    from hubapps.service import db; db._upgraded.clear()\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'alembic', 'mako'}))\n"
    )
    url = f"sqlite:///{tmp_path / 'new.sqlite'}"
    run = subprocess.run([sys.executable, "-c", code, url], capture_output=True, text=True, timeout=60, check=False)
    assert (run.returncode, run.stdout.strip()) == (0, "[]"), run.stderr[-2000:]
    engine = make_engine(url)
    assert db.at_head(engine)
    engine.dispose()
    broken = make_engine(f"sqlite:///{tmp_path / 'no' / 'such.sqlite'}")
    with pytest.raises(RuntimeError, match=r"the service database's upgrade failed: .*No such file or directory"):
        upgrade(broken)


def test_the_migrations_make_exactly_the_stores_tables(tmp_path: Path) -> None:
    assert {s.__name__ for s in _stores()} >= {"AppDirectory", "ThumbnailStore", "SecretEnvMarks"}
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    upgrade(engine)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), _models())
        version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    assert diff == [], "a store's tables differ from what the migrations make: add a migration"
    assert version == _head()
    engine.dispose()


async def test_a_database_made_before_the_migrations_is_taken_over_with_its_rows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    old = make_engine(url)
    # What earlier releases did: create_all of the tables they had (those of migration 0001).
    models = _models()
    models.create_all(old, tables=[models.tables[name] for name in PRE_ALEMBIC_TABLES])
    with old.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO hubapps_directory (owner, server, display_name, description, framework, thumbnail,"
                " public) VALUES ('ann', 'sales', 'Sales', 'kept', 'panel', '', 1)"
            )
        )
    old.dispose()
    directory = AppDirectory(url, cache_ttl=0)
    await directory.open()
    try:
        assert await directory.get("ann", "sales") == DirectoryEntry("ann", "sales", "Sales", "kept", "panel", "", True)
    finally:
        directory.close()
    engine = make_engine(url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == _head()
    engine.dispose()


def test_workers_starting_together_upgrade_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def worker() -> None:
        engine = make_engine(url)
        try:
            start.wait()
            # Each as a process of its own would: not remembered from another worker's upgrade.
            db._upgraded.clear()
            upgrade(engine)
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    engine = make_engine(url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
    assert "hubapps_directory" in inspect(engine).get_table_names()
    engine.dispose()


# -- from every earlier schema ------------------------------------------------------------------------

#: The value a release wrote into a column of each Python type (one row per table; the same string in
#: every text column keeps any reference between tables consistent).
SAMPLE_VALUES: dict[type, object] = {str: "kept", int: 7, float: 1.5, bool: True, bytes: b"\x89PNG kept"}


def _revisions() -> list[str]:
    """Every revision, oldest first."""
    config = Config()
    config.set_main_option("script_location", db.MIGRATIONS)
    return [script.revision for script in reversed(list(ScriptDirectory.from_config(config).walk_revisions()))]


def _sample_row(columns: list[dict[str, object]]) -> dict[str, object]:
    row: dict[str, object] = {}
    for column in columns:
        kind = column["type"].python_type  # type: ignore[attr-defined]
        row[str(column["name"])] = SAMPLE_VALUES[kind]
    return row


@pytest.mark.parametrize("revision", _revisions()[:-1])
def test_a_database_of_every_earlier_revision_upgrades_with_its_rows(tmp_path: Path, revision: str) -> None:
    """A database as the release of ``revision`` left it, with a row in each of its tables, upgrades to
    the head: every row is still there with every value, and the schema is exactly the stores'."""
    engine = make_engine(f"sqlite:///{tmp_path / 'earlier.sqlite'}")
    upgrade(engine, revision)
    written: dict[str, dict[str, object]] = {}
    with engine.begin() as connection:
        inspector = inspect(connection)
        for name in inspector.get_table_names():
            if name == "alembic_version":
                continue
            row = _sample_row(inspector.get_columns(name))  # type: ignore[arg-type]
            connection.execute(Table(name, MetaData(), autoload_with=connection).insert(), row)
            written[name] = row
    assert written, f"revision {revision} made no tables"
    db._upgraded.clear()  # (a later release's process: it has not upgraded this database)
    upgrade(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == _head()
        assert compare_metadata(MigrationContext.configure(connection), _models()) == []
        for name, row in written.items():
            table = Table(name, MetaData(), autoload_with=connection)
            kept = connection.execute(select(*(table.c[column] for column in row))).mappings().all()
            assert [dict(r) for r in kept] == [row], f"{name}: the row written at {revision} changed or was lost"
    engine.dispose()


def test_every_revision_is_tested_from() -> None:
    revisions = _revisions()
    assert len(revisions) >= 5
    assert len(set(revisions)) == len(revisions)
    assert revisions[-1] == _head()


def test_a_plain_postgresql_url_means_psycopg_3() -> None:
    # SQLAlchemy's own default for postgresql:// is psycopg2, which hubapps[postgresql] does not install.
    assert db.database_url("postgresql://u:p@db/hubapps").drivername == "postgresql+psycopg"
    assert db.database_url("postgresql+psycopg2://u:p@db/hubapps").drivername == "postgresql+psycopg2"
    assert (
        db.database_url("postgresql://u:p@db/hubapps").render_as_string(hide_password=False).endswith("u:p@db/hubapps")
    )


async def test_the_default_database_is_a_sqlite_file_that_needs_no_postgresql_driver(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    default = AdminSettings.class_traits()["database_url"].default()
    assert default == "sqlite:///hubapps.sqlite"
    monkeypatch.chdir(tmp_path)  # (relative to the folder the service runs in)
    for driver in ("psycopg", "psycopg2", "asyncpg"):
        monkeypatch.setitem(sys.modules, driver, None)  # importing it now raises ImportError
    directory = AppDirectory(default, cache_ttl=0)
    await directory.open()
    try:
        await directory.record(DirectoryEntry("ann", "sales", "Sales", public=True))
        assert [e.server for e in await directory.public()] == ["sales"]
    finally:
        directory.close()
    assert (tmp_path / "hubapps.sqlite").is_file()
