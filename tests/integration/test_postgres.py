"""The launcher service on a real PostgreSQL, as two replicas of two workers each (docs/scaling.md).

This module's Hub keeps the launcher's database in PostgreSQL (Debian's server, started by the
``postgres`` fixture; a role without superuser rights, its password in a libpq password file, not in
the URL) and runs the launcher with two uvicorn workers: that is replica A, the Hub's managed service.
Replica B is a second launcher started here, outside the Hub, with the very command and environment
the Hub gave A (its fixed service token, its settings) on a port of its own: what a deployment runs
behind a load balancer. The tests reach each replica directly on its own port, with users' API tokens.

- The migrations make exactly the stores' tables on PostgreSQL too; the stores of two workers agree
  under concurrent writes (one image stored at once by both, revisions numbered without a gap).
- Four workers (two replicas of two) starting together on an empty database make its schema once:
  PostgreSQL's log shows each table created a single time, and all four serve.
- Forty apps created at once, split over both replicas (half through the deploy form with an image,
  half through the REST API), each shared through the *other* replica, every other one given a new
  image through the other replica's edit form: afterwards both replicas answer exactly the same
  listings, shares, shared-with-me lists, public lists and image bytes, and the database holds each
  image once, every app's record, no orphan and no duplicate.
- A login begun at one replica ends at the other; its cookie and XSRF token work at both.

Caches are per worker (they only delay what another replica shows, never authorize a write); this
Hub turns them off (TTL 0) so that a read right after the writes must show everything.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import httpx
import psutil
import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from PIL import Image
from sqlalchemy import text

from hubapps.service.app_guard import AppGuard
from hubapps.service.db import _PG_LOCK as UPGRADE_LOCK  # (the lock the upgrade holds)
from hubapps.service.db import make_engine, upgrade
from hubapps.service.errors import Busy
from hubapps.service.lease import WorkerLease
from hubapps.service.revisions import RevisionStore
from hubapps.service.thumbnails import ThumbnailStore
from tests.integration.conftest import Hub, free_ports, own_hub
from tests.integration.postgres import PostgresServer
from tests.unit.service.test_migrations import _head as head_revision
from tests.unit.service.test_migrations import _models as store_models

# (a Hub of its own and a second launcher: slower than the default 60 s on a busy machine)
pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

CONFIG = """\
c = get_config()  # noqa: F821
load_subconfig({main!r})  # noqa: F821
import hubapps

# As docs/scaling.md advises: no password in the URL (it travels in HUBAPPS_SETTINGS); libpq reads it
# from the password file the launcher's environment names.
c.HubApps.database_url = "@DATABASE_URL@"
c.HubApps.service_environment = dict(PGPASSFILE="@PASSFILE@")
# Per-worker caches off: a read right after a write through the other replica must show it.
c.HubApps.user_cache_ttl = 0
c.HubApps.shared_cache_ttl = 0
c.HubApps.directory_cache_ttl = 0
hubapps.install(c, service_workers=2)
# One service token for every replica, as docs/scaling.md sets it (the Hub would make a new one).
for service in c.JupyterHub.services:
    if service["name"] == "japps":
        service["api_token"] = "@SERVICE_TOKEN@"
"""
#: Apps created at once, and owners they are spread over.
APPS = 40
OWNERS = 4
#: Distinct images among the uploads (several apps show the same one: content-addressed, stored once).
IMAGES = 6
#: Seconds a replica gets to answer its health check after it was started.
REPLICA_START_TIMEOUT = 60.0
PREFIX = "/services/japps/"
#: The launcher's database of this module's Hub.
DATABASE = "hubapps_replicas"


def h(token: str) -> dict[str, str]:
    return {"Authorization": f"token {token}"}


def _png(index: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (10 + 40 * index, 120, 200 - 20 * index)).save(out, format="PNG")
    return out.getvalue()


@dataclass
class Replica:
    """A launcher service process (uvicorn, its own workers) started here; :meth:`stop` ends it."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + REPLICA_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"replica exited with {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(self.url + "health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"replica at {self.url} did not answer within {REPLICA_START_TIMEOUT:g} s:\n{self.log()}")

    def workers_started(self) -> int:
        """How many of its workers have opened their stores and serve (uvicorn's own log line)."""
        return self.log_path.read_text(errors="replace").count("Application startup complete.")

    def log(self) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-40:])

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def _managed_service(hub: Hub) -> psutil.Process:
    """The Hub's own launcher process (replica A: ``python -m hubapps.service.serve``)."""
    assert hub.process is not None
    for child in psutil.Process(hub.process.pid).children(recursive=True):
        if "hubapps.service.serve" in child.cmdline():
            return child
    raise AssertionError(f"the Hub runs no launcher service\n{hub.log_tail()}")


def start_replica(hub: Hub, log_path: Path, *, database_url: str | None = None) -> Replica:
    """Another launcher with the command and environment the Hub gave its own (service token and
    settings), on a free port; on another database if ``database_url`` is given."""
    managed = _managed_service(hub)
    argv = managed.cmdline()
    (port,) = free_ports(1)
    argv[argv.index("--port") + 1] = str(port)
    env = managed.environ()
    if database_url is not None:
        env["HUBAPPS_SETTINGS"] = json.dumps({**json.loads(env["HUBAPPS_SETTINGS"]), "database_url": database_url})
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            argv,
            cwd=hub.root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Replica(f"http://127.0.0.1:{port}{PREFIX}", process, log_path)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, postgres: PostgresServer) -> Iterator[Hub]:
    """This module's own Hub: the launcher's database in PostgreSQL, two workers (replica A)."""
    root = tmp_path_factory.mktemp("pg-hub")
    config = (
        CONFIG.replace("@DATABASE_URL@", postgres.database(DATABASE, with_password=False))
        .replace("@PASSFILE@", str(postgres.passfile(root)))
        .replace("@SERVICE_TOKEN@", secrets.token_hex(32))
    )
    assert postgres.password not in config
    with own_hub(root, config) as running:
        yield running


@pytest.fixture(scope="module")
def replicas(hub: Hub) -> Iterator[list[str]]:
    """The launcher URLs of replica A (the Hub's, on its own port) and replica B (started here)."""
    second = start_replica(hub, hub.root / "replica-b.log")
    try:
        second.wait_healthy()
        first = f"http://127.0.0.1:{hub.service_port}{PREFIX}"
        assert httpx.get(first + "health", timeout=10).status_code == 200
        yield [first, second.url]
    finally:
        second.stop()


def test_four_workers_starting_together_make_the_schema_once(hub: Hub, postgres: PostgresServer) -> None:
    """Two replicas of two workers on an empty database. So that all four reach the upgrade together
    (however long each takes to import), the test holds the upgrade's advisory lock until all four
    wait on it, as they would on a worker that is upgrading; then each table is created once."""
    name = f"hubapps_fresh_{secrets.token_hex(3)}"
    url = postgres.database(name)
    waiting = (
        "SELECT count(*) FROM pg_locks JOIN pg_database d ON d.oid = pg_locks.database"
        " WHERE locktype = 'advisory' AND NOT granted AND d.datname = current_database()"
    )
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as holder:

        def workers_waiting() -> int:
            row = holder.execute(waiting).fetchone()
            return int(row[0]) if row else 0

        holder.execute("SELECT pg_advisory_lock(%s)", (UPGRADE_LOCK,))
        started = [start_replica(hub, hub.root / f"fresh-{i}.log", database_url=url) for i in range(2)]
        try:
            deadline = time.monotonic() + REPLICA_START_TIMEOUT
            while workers_waiting() < 4 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert workers_waiting() == 4, "the workers did not wait for the upgrade's lock"
            holder.execute("SELECT pg_advisory_unlock(%s)", (UPGRADE_LOCK,))
            for replica in started:
                replica.wait_healthy()
                deadline = time.monotonic() + REPLICA_START_TIMEOUT
                while replica.workers_started() < 2 and time.monotonic() < deadline:
                    if "Traceback" in replica.log_path.read_text(errors="replace"):
                        break  # a worker failed to start (the assertions below show how)
                    time.sleep(0.2)
                assert replica.workers_started() == 2, replica.log()
                assert "Traceback" not in replica.log_path.read_text(), replica.log()
        finally:
            for replica in started:
                replica.stop()
    created = [line for line in postgres.ddl(name) if "CREATE TABLE" in line]
    tables = [line.split("CREATE TABLE", 1)[1].split()[0] for line in created]
    assert "hubapps_directory" in tables, postgres.log_tail()
    assert len(tables) == len(set(tables)), f"a table was created more than once: {tables}"
    versions = postgres.psql("SELECT version_num FROM alembic_version", database=name).split()
    assert len(versions) == 1, versions


def test_the_migrations_make_exactly_the_stores_tables_on_postgresql(postgres: PostgresServer) -> None:
    engine = make_engine(postgres.database(f"hubapps_schema_{secrets.token_hex(3)}"))
    try:
        upgrade(engine)
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), store_models())
            version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    finally:
        engine.dispose()
    assert diff == [], "a store's tables differ on PostgreSQL from what the migrations make"
    assert version == head_revision()


async def test_stores_of_two_workers_on_postgresql_agree(postgres: PostgresServer) -> None:
    """The stores as two workers use them, on one PostgreSQL database: the same image stored by both
    at once is one row; revisions of one app added by both at once are numbered without a gap; an
    image one worker deletes while the other's save is under way is stored again by that save."""
    url = postgres.database(f"hubapps_stores_{secrets.token_hex(3)}")
    thumbs = [ThumbnailStore(url), ThumbnailStore(url)]
    revisions = [RevisionStore(url), RevisionStore(url)]
    for store in [*thumbs, *revisions]:
        await store.open()
    try:
        image = await thumbs[0].check(_png(1), max_bytes=200_000, max_pixels=4_000_000, width=480, height=320)
        stored = await asyncio.gather(*(thumbs[i % 2].put(image) for i in range(10)))
        assert sorted(stored) == [False] * 9 + [True]

        added = await asyncio.gather(
            *(revisions[i % 2].add("ann", "app", {"n": i}, actor="ann", note="edited") for i in range(4))
        )
        assert sorted(r.number for r in added) == [1, 2, 3, 4]
        assert [r.number for r in await revisions[1].revisions("ann", "app")] == [4, 3, 2, 1]

        await thumbs[1].claim("ann", "p", image.ref)
        assert await thumbs[0].put(image) is False  # a save of app Q on worker 0 finds it stored
        other = await thumbs[1].add(_png(2), max_bytes=200_000, max_pixels=4_000_000, width=480, height=320)
        await thumbs[1].claim("ann", "p", other.ref)  # P lets go of it on worker 1: deleted
        assert await thumbs[1].get(image.ref) is None
        await thumbs[0].claim("bob", "q", image.ref)
        kept = await thumbs[1].get(image.ref)
        assert kept is not None
        assert kept.data == image.data
    finally:
        for store in [*thumbs, *revisions]:
            store.close()


HOLDER = """
import asyncio, sys, time
from hubapps.service.app_guard import AppGuard

async def main():
    await AppGuard(sys.argv[1]).hold("ann", "app", "being restarted")
    print("held", flush=True)
    time.sleep(600)

asyncio.run(main())
"""


async def test_a_hold_spans_replicas_and_ends_with_its_worker(postgres: PostgresServer) -> None:
    """Two replicas' guards on one database: an app held by one is busy at the other (a restart there is
    refused, a start checks and is refused), other apps are not; released, it is free; a worker killed
    while holding an app lets go of it (PostgreSQL ends its session)."""
    url = postgres.database(f"hubapps_guard_{secrets.token_hex(3)}")
    one, two = AppGuard(url), AppGuard(url)
    hold = await one.hold("ann", "app", "being restarted")
    with pytest.raises(Busy, match="being changed"):
        await two.hold("ann", "app", "being edited")
    with pytest.raises(Busy):
        await two.check("ann", "app")
    await two.check("ann", "other")
    (await two.hold("bob", "app", "being deleted")).release()
    hold.release()
    await two.check("ann", "app")
    (await two.hold("ann", "app", "being edited")).release()

    worker = subprocess.Popen([sys.executable, "-c", HOLDER, url], stdout=subprocess.PIPE, text=True)
    assert worker.stdout is not None
    try:
        assert worker.stdout.readline().strip() == "held"
        with pytest.raises(Busy):
            await one.check("ann", "app")
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        worker.stdout.close()
    deadline = time.monotonic() + 30
    while True:  # PostgreSQL notices the closed socket at once, ends the session and its locks
        try:
            (await one.hold("ann", "app", "being edited")).release()
            break
        except Busy:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)
    one.close()
    two.close()


def test_one_replica_holds_the_policy_lease_until_it_lets_go(postgres: PostgresServer) -> None:
    """The idle-policy loop's lease on PostgreSQL (the same advisory locks as the holds): one worker of
    all replicas holds it; once it lets go, another takes it."""
    url = postgres.database(f"hubapps_lease_{secrets.token_hex(3)}")
    first, second = WorkerLease(url, "policy"), WorkerLease(url, "policy")
    try:
        assert first.try_hold()
        assert first.try_hold()
        assert not second.try_hold()
        first.close()
        assert second.try_hold()
        assert not first.try_hold()
    finally:
        first.close()
        second.close()


@pytest.fixture(scope="module")
def people(hub: Hub) -> dict[str, Any]:
    suffix = secrets.token_hex(3)
    owners = [f"pg-owner{i}-{suffix}" for i in range(OWNERS)]
    viewer, member, stranger = (f"pg-{role}-{suffix}" for role in ("viewer", "member", "stranger"))
    tokens = {name: hub.token_for(name) for name in [*owners, viewer, member, stranger]}
    group = f"pg-group-{suffix}"
    assert hub.api("POST", f"groups/{group}").status_code in (201, 409)
    assert hub.api("POST", f"groups/{group}/users", json={"users": [member]}).status_code == 200
    return {"owners": owners, "viewer": viewer, "member": member, "stranger": stranger, "group": group} | {
        "tokens": tokens
    }


def _form(index: int) -> dict[str, str]:
    fields = {
        "display_name": f"Replicated {index}",
        "description": f"app number {index}",
        "framework": "streamlit",
        "source": "file",
        "filepath": "examples/streamlit_app.py",
        "env_rows": "0",
    }
    if index % 4 == 0:
        fields["public"] = "on"
    return fields


def _write_one(index: int, replicas: list[str], people: dict[str, Any]) -> tuple[str, str, int | None]:
    """Create app ``index`` through one replica, share it through the other, and (every other app)
    give it a new image through the other's edit form. Its owner, server and image index."""
    owner = people["owners"][index % OWNERS]
    token = people["tokens"][owner]
    here, there = replicas[index % 2], replicas[(index + 1) % 2]
    server = f"replicated-{index}"
    image: int | None = None
    with httpx.Client(timeout=60) as client:
        if index % 2 == 0:  # the deploy form, with an image
            image = index % IMAGES
            files = {"thumbnail": ("t.png", _png(image), "image/png")}
            r = client.post(here + "create-app", headers=h(token), data=_form(index), files=files)
            assert r.status_code == 303, r.text[:500]
        else:  # the REST API, then an image through the other replica's edit form
            form = _form(index)
            body: dict[str, Any] = {k: form[k] for k in ("display_name", "description", "framework", "filepath")}
            body["public"] = index % 4 == 0
            r = client.post(here + "api/apps", headers=h(token), json=body)
            assert r.status_code == 201, r.text[:500]
            assert r.json()["name"] == server
        r = client.post(
            there + f"api/apps/{quote(owner)}/{server}/shares",
            headers=h(token),
            json={"users": [people["viewer"]], "groups": [people["group"]]},
        )
        assert r.status_code == 200, r.text[:500]
        if index % 2 == 1:
            image = (index + 3) % IMAGES
            files = {"thumbnail": ("t.png", _png(image), "image/png")}
            # The edit form as the launcher fills it in: with the app's shares (a form without them revokes them).
            form = {**_form(index), "share_users": people["viewer"], "share_groups": people["group"]}
            r = client.post(there + f"ui/apps/{quote(owner)}/{server}/edit", headers=h(token), data=form, files=files)
            assert r.status_code == 303, r.text[:500]
    return owner, server, image


def _view(client: httpx.Client, base: str, token: str, access: str) -> list[tuple[Any, ...]]:
    r = client.get(base + "api/apps", headers=h(token), params={"access": access})
    assert r.status_code == 200, r.text[:500]
    fields = ("id", "display_name", "description", "access", "public", "thumbnail")
    return sorted(tuple(app[f] for f in fields) for app in r.json()["data"])


def test_concurrent_writes_through_both_replicas_lose_nothing(
    replicas: list[str], people: dict[str, Any], postgres: PostgresServer
) -> None:
    with ThreadPoolExecutor(max_workers=16) as pool:
        written = list(pool.map(lambda i: _write_one(i, replicas, people), range(APPS)))
    tokens = people["tokens"]
    apps = {f"{owner}/{server}": image for owner, server, image in written}
    assert len(apps) == APPS

    with httpx.Client(timeout=60) as client:
        # Each owner's apps, the same through both replicas, every one there once, each with its image.
        thumbnails: dict[str, str] = {}
        for owner in people["owners"]:
            views = [_view(client, base, tokens[owner], "owned") for base in replicas]
            assert views[0] == views[1]
            assert sorted(row[0] for row in views[0]) == sorted(k for k in apps if k.startswith(owner + "/"))
            for app_id, display, description, _access, public, thumbnail in views[0]:
                index = int(app_id.rsplit("-", 1)[1])
                assert (display, description, public) == (f"Replicated {index}", f"app number {index}", index % 4 == 0)
                assert thumbnail, f"{app_id} lost its image"
                thumbnails[app_id] = thumbnail
        # The same image is the same reference, whichever replica stored it; different images differ.
        by_image: dict[int, set[str]] = {}
        for app_id, image in apps.items():
            assert image is not None
            by_image.setdefault(image, set()).add(thumbnails[app_id])
        assert all(len(refs) == 1 for refs in by_image.values()), by_image
        refs = {next(iter(found)) for found in by_image.values()}
        assert len(refs) == len(by_image)

        # Shares, each made through the other replica: the same seen through both.
        for app_id in apps:
            owner = app_id.split("/")[0]
            answers = [client.get(base + f"api/apps/{app_id}/shares", headers=h(tokens[owner])) for base in replicas]
            assert [a.status_code for a in answers] == [200, 200]
            assert answers[0].json() == answers[1].json()
            shares = {(s["kind"], s["name"]) for s in answers[0].json()["shares"]}
            assert shares == {("user", people["viewer"]), ("group", people["group"])}, answers[0].text

        # Shared with the viewer directly and with the member through the group: all forty, both ways.
        for who in ("viewer", "member"):
            views = [_view(client, base, tokens[people[who]], "shared") for base in replicas]
            assert views[0] == views[1]
            assert [row[0] for row in views[0]] == sorted(apps)
            assert {row[0]: row[5] for row in views[0]} == thumbnails
        # Public apps, to someone nothing was shared with.
        views = [_view(client, base, tokens[people["stranger"]], "public") for base in replicas]
        assert views[0] == views[1]
        assert [row[0] for row in views[0]] == sorted(k for k in apps if int(k.rsplit("-", 1)[1]) % 4 == 0)

        # Every image, byte for byte the same through both replicas.
        for ref in refs:
            viewer = h(tokens[people["viewer"]])
            answers = [client.get(base + f"ui/thumbnails/{ref}", headers=viewer) for base in replicas]
            assert [a.status_code for a in answers] == [200, 200], ref
            assert answers[0].content == answers[1].content
            assert answers[0].headers["content-type"] == "image/webp"

    # The database: each image once, one use per app, nothing orphaned, a directory row per shared app.
    db = DATABASE
    stored = postgres.psql("SELECT ref FROM hubapps_thumbnails", database=db).split()
    assert sorted(stored) == sorted(refs)
    uses = postgres.psql("SELECT owner || '/' || server, ref FROM hubapps_thumbnail_uses", database=db).split()
    assert sorted(u.split("|")[0] for u in uses) == sorted(apps)
    assert {u.split("|")[1] for u in uses} == set(stored)
    directory = postgres.psql("SELECT owner || '/' || server FROM hubapps_directory", database=db).split()
    assert sorted(directory) == sorted(apps)
    # Every app's history: one "created" event and a share; revisions 1 (and 2 after the image edit).
    events = postgres.psql("SELECT owner || '/' || server || '|' || kind FROM hubapps_events", database=db).split()
    for app_id in apps:
        assert events.count(f"{app_id}|created") == 1, app_id
        assert f"{app_id}|shared" in events, app_id
    revisions = postgres.psql(
        "SELECT owner || '/' || server, string_agg(number::text, ',' ORDER BY number) FROM hubapps_revisions"
        " GROUP BY owner, server",
        database=db,
    ).split()
    assert sorted(revisions) == sorted(f"{k}|{'1,2' if int(k.rsplit('-', 1)[1]) % 2 else '1'}" for k in apps)


def test_a_login_begun_at_one_replica_ends_at_the_other(hub: Hub, replicas: list[str]) -> None:
    """No sticky sessions: the OAuth state, the login cookie and the XSRF token of one replica are
    good at the other (sealed with a key both derive from the service's token)."""
    user = f"pg-login-{secrets.token_hex(3)}"
    first, second = replicas
    browser = hub.login(user)
    try:
        r = browser.get(first + "oauth_login", params={"next": PREFIX + "api/user"}, follow_redirects=False)
        target = ""
        for _ in range(6):
            assert r.is_redirect, r.text[:300]
            target = urljoin(hub.url, r.headers["location"])  # the Hub's pages: through its proxy
            if urlsplit(target).path == PREFIX + "oauth_callback":
                break
            r = browser.get(target, follow_redirects=False)
        r = browser.get(second + "oauth_callback?" + urlsplit(target).query, follow_redirects=False)
        assert r.status_code == 302, r.text[:300]
        for base in replicas:
            me = browser.get(base + "api/user")
            assert me.status_code == 200, me.text[:300]
            assert me.json()["name"] == user
        xsrf = browser.cookies.get("_xsrf", path=PREFIX)
        assert xsrf
        spec = {"framework": "streamlit", "display_name": "Logged in", "filepath": "examples/streamlit_app.py"}
        r = browser.post(first + "api/apps", json=spec, headers={"X-XSRFToken": xsrf})
        assert r.status_code == 201, r.text[:300]
        r = browser.post(second + "api/apps", json=spec, headers={"X-XSRFToken": "forged"})
        assert r.status_code == 403, r.text[:300]
    finally:
        browser.close()
