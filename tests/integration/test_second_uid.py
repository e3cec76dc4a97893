"""LocalProcessSpawner with a real second Unix user: the app runs as that user and cannot read the Hub's secrets.

The Hub runs as root (as a system Hub does) with ``LocalProcessSpawner`` wrapped by ``hubapps.install``'s mixin,
and its user is a real Unix account (created here if missing, idempotent: ``useradd --system``). The app's proxy
runs from an environment that account can read (Debian's ``python3`` with hubapps' base install linked in, as
``test_light_env.py`` builds it: this machine's own interpreter lives under ``/root``). The app reports the ids it
runs as and what it could read: the Hub's database, cookie secret and status key, and the Hub process's
environment (``JUPYTERHUB_CRYPT_KEY``, the proxy's auth token).
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.integration.conftest import REPO, Hub, _process_has_marker, own_hub
from tests.integration.test_light_env import _base_closure, _link_distribution

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]  # a Hub of its own

#: The Unix account (and Hub user) the app runs as.
UNIX_USER = "hubapps-uid-test"
#: A Python that every user may run (this machine's own is under /root, mode 700), of the same minor version.
SYSTEM_PYTHON = "/usr/bin/python3"
RESOURCES = REPO / "tests" / "resources"

CONFIG = """\
c = get_config()  # noqa: F821
load_subconfig({main!r})  # noqa: F821
from jupyterhub.spawner import LocalProcessSpawner
from hubapps.hub import make_spawner_class
c.JupyterHub.spawner_class = make_spawner_class(LocalProcessSpawner)
c.HubApps.proxy_command = [{python!r}, "-I", "-m", "hubapps.proxy"]
"""


@pytest.fixture(scope="module")
def unix_user() -> pwd.struct_passwd:
    if os.geteuid() != 0:
        pytest.skip("needs root: the test creates a Unix user, and LocalProcessSpawner switches to it")
    try:
        return pwd.getpwnam(UNIX_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--create-home", "--shell", "/usr/sbin/nologin", UNIX_USER],
            check=True,
            timeout=60,
        )
    return pwd.getpwnam(UNIX_USER)


@pytest.fixture(scope="module")
def shared_python(unix_user: pwd.struct_passwd) -> Iterator[Path]:
    """An environment with hubapps' base install that ``unix_user`` can run, in a folder it can reach."""
    folder = Path(tempfile.mkdtemp(prefix="hubapps-shared-env-"))
    try:
        folder.chmod(0o755)
        env = folder / "env"
        subprocess.run([SYSTEM_PYTHON, "-m", "venv", "--without-pip", str(env)], check=True, timeout=120)
        site = next(env.glob("lib/python*/site-packages"))
        for dist in _base_closure():
            _link_distribution(dist, site)
        (site / "hubapps").symlink_to(REPO / "hubapps")
        python = env / "bin" / "python"
        check = subprocess.run(
            ["runuser", "-u", UNIX_USER, "--", str(python), "-I", "-c", "import hubapps.proxy.main"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert check.returncode == 0, f"{UNIX_USER} cannot run the proxy's environment: {check.stderr}"
        yield python
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def uid_hub(tmp_path_factory: pytest.TempPathFactory, shared_python: Path) -> Iterator[Hub]:
    config = CONFIG.replace("{python!r}", repr(str(shared_python)))
    with own_hub(tmp_path_factory.mktemp("uid-hub"), config) as hub:
        yield hub


def test_the_app_runs_as_the_users_uid_and_cannot_read_the_hubs_secrets(
    uid_hub: Hub, unix_user: pwd.struct_passwd
) -> None:
    assert uid_hub.process is not None
    home = Path(unix_user.pw_dir)
    probe = home / "uid_probe_app.py"
    shutil.copyfile(RESOURCES / "uid_probe_app.py", probe)
    os.chown(probe, unix_user.pw_uid, unix_user.pw_gid)
    secrets = [
        uid_hub.root / "jupyterhub.sqlite",
        uid_hub.root / "jupyterhub_cookie_secret",
        *uid_hub.root.glob("*status_key*"),
        Path(f"/proc/{uid_hub.process.pid}/environ"),
    ]
    assert all(path.exists() for path in secrets), secrets
    options = {
        "spec_version": 2,
        "framework": "command",
        "display_name": "Who am I",
        "command": ["{python}", str(probe), "{port}"],
        "env": {"PROBE_PATHS": json.dumps([str(p) for p in secrets] + [str(probe)])},
    }
    token = uid_hub.token_for(UNIX_USER)
    uid_hub.create_app(UNIX_USER, "whoami", options, token=token)
    try:
        uid_hub.wait_app(UNIX_USER, "whoami", token)
        seen = httpx.get(uid_hub.app_url(UNIX_USER, "whoami"), headers={"Authorization": f"token {token}"}, timeout=30)
        assert seen.status_code == 200, seen.text
        report = seen.json()
        # The proxy, too, runs as the user (the process this Hub started).
        proxies = [
            p
            for p in psutil.process_iter(["cmdline", "uids"])
            if "hubapps.proxy" in (p.info["cmdline"] or []) and _process_has_marker(p, uid_hub.marker)
        ]
        assert proxies
        assert {p.info["uids"].real for p in proxies} == {unix_user.pw_uid}
    finally:
        uid_hub.stop_app(UNIX_USER, "whoami", remove=True)
    assert (report["uid"], report["euid"], report["gid"]) == (unix_user.pw_uid, unix_user.pw_uid, unix_user.pw_gid)
    assert 0 not in report["groups"]
    assert report["home"] == unix_user.pw_dir
    assert report["readable"] == {**{str(p): False for p in secrets}, str(probe): True}
