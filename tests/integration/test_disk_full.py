"""A full disk under the launcher's database, on a real Hub (issue 17, requirement 4).

The launcher service keeps its database (thumbnails, the public directory, revisions, events) on a
2 MiB tmpfs here, which the test fills to the last byte. Then:

- a thumbnail upload (upstream's ``POST /server``, the image stored before the app is made) answers
  507 ``storage_full`` with a clear message, and no app is made without its image;
- a write of the database after the Hub took a change (making an app public: the Hub holds the flag,
  then the public directory gets its row) answers 507 too, and sending it again once there is room
  writes the row: the app is listed in the public directory;
- no half-written row: SQLite rolled each transaction back (``PRAGMA integrity_check`` is ``ok``,
  no image row, no directory row), and the launcher goes on answering while the disk is full.

Mounting a tmpfs needs root (the test machine and CI run as root).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.integration.conftest import Hub, own_hub

pytestmark = [pytest.mark.integration]

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
ECHO = RESOURCES / "echo_app.py"
CONFIG = """\
c = get_config()  # noqa: F821
load_subconfig({{main!r}})  # noqa: F821
import hubapps

# The launcher's database on a small filesystem of its own; install() again, so the service gets it.
c.HubApps.database_url = "sqlite:///{database}"
hubapps.install(c, spawner_class="simple", service_port=int(__import__("os").environ["HUBAPPS_TEST_SERVICE_PORT"]))
"""
FULL = "the launcher's storage is full: nothing was saved; ask your administrator to free space"


@contextlib.contextmanager
def small_disk(folder: Path, size: str = "2m") -> Iterator[Path]:
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(folder)], check=False
    )
    if mounted.returncode != 0:
        pytest.skip("mounting a tmpfs needs root")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path) -> Path:
    """Write a file until the filesystem is full (to the last byte)."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 16, 1 << 12, 1 << 9, 1):
            with contextlib.suppress(OSError):  # ENOSPC: on with smaller writes, down to one byte
                while os.write(fd, b"\0" * size):
                    pass
    finally:
        os.close(fd)
    assert shutil.disk_usage(folder).free == 0
    return filler


@pytest.fixture(scope="module")
def disk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with small_disk(tmp_path_factory.mktemp("disk-full") / "state") as folder:
        yield folder


@pytest.fixture(scope="module")
def full_hub(tmp_path_factory: pytest.TempPathFactory, disk: Path) -> Iterator[Hub]:
    with own_hub(tmp_path_factory.mktemp("disk-full-hub"), CONFIG.format(database=disk / "hubapps.sqlite")) as hub:
        yield hub


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=60) as c:
        yield c


def h(token: str) -> dict[str, str]:
    return {"Authorization": f"token {token}"}


def noisy_png() -> bytes:
    """An image whose thumbnail does not compress to nothing."""
    image = Image.frombytes("RGB", (300, 200), secrets.token_bytes(300 * 200 * 3))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def rows(database: Path, table: str) -> int:
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        count: int = db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608 (a test's constant)
    return count


def upstream_form(name: str) -> dict[str, str]:
    options: dict[str, Any] = {
        "jhub_app": True,
        "display_name": name,
        "description": "",
        "framework": "custom",
        "filepath": "",
        "custom_command": f"{{python}} {ECHO} {{port}}",
        "public": False,
    }
    return {"data": json.dumps({"servername": name, "user_options": options})}


def test_a_full_disk_answers_507_keeps_nothing_half_written_and_the_retry_succeeds(
    full_hub: Hub, disk: Path, client: httpx.Client
) -> None:
    hub = full_hub
    database = disk / "hubapps.sqlite"
    owner = f"disk-{secrets.token_hex(3)}"
    token = hub.token_for(owner)
    svc = hub.url + "services/japps/"
    created = client.post(
        svc + "api/apps",
        headers=h(token),
        json={"framework": "command", "display_name": "Full disk", "command": ["{python}", str(ECHO), "{port}"]},
    )
    assert created.status_code == 201, created.text
    server = created.json()["name"]
    images_before = rows(database, "hubapps_thumbnails")

    filler = fill(disk)
    try:
        # A thumbnail upload: refused before anything is made.
        r = client.post(
            svc + "server",
            headers=h(token),
            data=upstream_form("With image"),
            files={"thumbnail": ("logo.png", noisy_png(), "image/png")},
        )
        assert r.status_code == 507, r.text
        assert r.json() == {"detail": FULL, "field": None, "code": "storage_full"}
        servers = hub.api("GET", f"users/{owner}", params={"include_stopped_servers": "1"}).json()["servers"]
        assert {s for s in servers if s} == {server}  # no app without its image

        # A database write after the Hub took the change: 507, nothing half-written.
        made_public = client.put(f"{svc}api/apps/{owner}/{server}/public", headers=h(token), json={"public": True})
        assert made_public.status_code == 507, made_public.text
        assert made_public.json()["code"] == "storage_full"

        # The launcher still answers (reads need no room).
        listed = client.get(svc + "api/apps", headers=h(token))
        assert listed.status_code == 200
        assert [a["name"] for a in listed.json()["data"]] == [server]
    finally:
        filler.unlink()

    assert rows(database, "hubapps_thumbnails") == images_before
    assert rows(database, "hubapps_directory") == 0
    # Room again: the same write is saved, and the app is in the public directory.
    again = client.put(f"{svc}api/apps/{owner}/{server}/public", headers=h(token), json={"public": True})
    assert again.status_code == 200, again.text
    assert rows(database, "hubapps_directory") == 1
    viewer = hub.token_for(f"{owner}-viewer")
    public = client.get(svc + "api/apps", headers=h(viewer), params={"access": "public"})
    assert public.status_code == 200, public.text
    assert f"{owner}/{server}" in {a["id"] for a in public.json()["data"]}
    # And the upload too.
    r = client.post(
        svc + "server",
        headers=h(token),
        data=upstream_form("With image"),
        files={"thumbnail": ("logo.png", noisy_png(), "image/png")},
    )
    assert r.status_code == 200, r.text
    assert rows(database, "hubapps_thumbnails") == images_before + 1
    hub.stop_app(owner, r.json()[1], remove=True)
    hub.stop_app(owner, server, remove=True)
