"""Apps from git and conda environments, end to end on a Hub of this module's own.

- **Conda**: no conda exists here, so the module builds a conda-layout prefix by hand (a venv given
  ``conda-meta/`` with ``history`` and ``state`` as ``conda env config vars set`` writes it,
  ``etc/conda/env_vars.d/*.json`` and ``etc/conda/activate.d/*.sh``), names it in ``environments``,
  and runs the env dumper app in it.
- **Git**: real repositories: a bare one over ``file://`` (public) and one behind a smart-HTTP server
  (``git http-backend`` as CGI behind a small Python server on 127.0.0.1) that wants HTTP basic auth
  (private). The service reads apps' settings from them (hubapps' API, upstream's route, the form), and
  an app from the private one is cloned by its proxy with the owner's sealed token.
"""

from __future__ import annotations

import base64
import io
import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.integration.conftest import Hub, login_to_service, own_hub

pytestmark = [pytest.mark.integration]

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
#: The module's Hub (``{main}`` is filled by ``own_hub``, ``@PREFIX@`` here).
CONFIG = """\
c = get_config()  # noqa: F821
load_subconfig({main!r})  # noqa: F821
import hubapps

c.HubApps.git_allowed_protocols = ["https", "http", "file"]
c.HubApps.git_clone_max_bytes = {max_bytes}
c.HubApps.git_clone_timeout = {clone_timeout}
c.HubApps.environments = {{"sci": @PREFIX@}}
# Upstream's way: names only (c.JAppsConfig.conda_envs), found in conda's folders of environments.
c.HubApps.conda_envs = ["geo"]
c.HubApps.conda_env_dirs = [@ENVS@]
c.HubApps.proxy_limits = {{"activate-timeout": 30, "git-timeout": 60}}
c.Spawner.environment = dict(c.Spawner.environment, TO_UNSET="from the spawner")
hubapps.install(c)
"""
#: The service's clone limits on this Hub: bytes, and seconds (far above what a clone here takes).
CLONE_MAX_BYTES = 1 << 20
CLONE_TIMEOUT = 5
#: The private repository's token (the server wants it as basic auth with the default user name).
TOKEN = "tok-" + secrets.token_hex(12)


# -- a conda-layout environment ------------------------------------------------------------------


def _make_conda_env(prefix: Path, outside: Path) -> None:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(prefix)], check=True, timeout=60)
    meta = prefix / "conda-meta"
    meta.mkdir()
    (meta / "history").write_text("==> 2026-12-01 10:00:00 <==\n# cmd: conda create -n sci python\n")
    # As `conda env config vars set SCI_LEVEL=state SCI_MODE=env` and `conda env config vars unset TO_UNSET` write it.
    (meta / "state").write_text(
        json.dumps({"env_vars": {"SCI_LEVEL": "state", "SCI_MODE": "env", "TO_UNSET": "***unset***"}})
    )
    packages = prefix / "etc" / "conda" / "env_vars.d"
    packages.mkdir(parents=True)
    (packages / "pkg.json").write_text(json.dumps({"PKG_HOME": "from-package", "SCI_LEVEL": "package"}))
    scripts = prefix / "etc" / "conda" / "activate.d"
    scripts.mkdir(parents=True)
    (scripts / "gdal-activate.sh").write_text(
        'export GDAL_DATA="$CONDA_PREFIX/share/gdal"\n'
        'export PATH="$CONDA_PREFIX/extra:$PATH"\n'
        'echo "gdal activated; token:${JUPYTERHUB_API_TOKEN:-none}; app var:${SCI_APP_ONLY:-none}"\n'
    )
    # A script name that would run a command (in the app's folder, its home) if it ever reached a shell as code.
    (scripts / "odd $(touch PWNED) `touch PWNED`.sh").write_text("export ODD_NAME=ran\n")
    (outside / "escape.sh").write_text("export ESCAPED=1\n")
    (scripts / "zz-escape.sh").symlink_to(outside / "escape.sh")


# -- git repositories and a smart-HTTP server -----------------------------------------------------


def _git(*args: str, cwd: Path | None = None) -> str:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null"}
    done = subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True, timeout=60)
    return done.stdout.strip()


def _png(color: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(out, format="PNG")
    return out.getvalue()


def _project(display_name: str, **extra: str) -> str:
    variables = {
        "JHUB_APP_CONFIG_display_name": display_name,
        "JHUB_APP_CONFIG_description": "Settings read from git",
        "JHUB_APP_CONFIG_framework": "custom",
        "JHUB_APP_CONFIG_custom_command": "{python} env_dump_app.py {port}",
        "JHUB_APP_CONFIG_keep_alive": "false",
        "GREETING": "hello from git",
        **extra,
    }
    lines = ["name: demo", "variables:"] + [f"  {k}: {json.dumps(v)}" for k, v in variables.items()]
    return "\n".join(lines) + "\n"


def _make_repository(work: Path, bare: Path, outside: Path) -> str:
    """A repository with an app in apps/demo, and folders whose project files point outside."""
    demo = work / "apps" / "demo"
    demo.mkdir(parents=True)
    (demo / "conda-project.yml").write_text(_project("Demo from git", JHUB_APP_CONFIG_thumbnail_path="img/logo.png"))
    (demo / "env_dump_app.py").write_bytes((RESOURCES / "env_dump_app.py").read_bytes())
    (demo / "img").mkdir()
    (demo / "img" / "logo.png").write_bytes(_png("red"))
    (work / "conda-project.yml").write_text(_project("Top level"))
    for folder, path in (("abs", str(outside / "outside.png")), ("dots", "../../../outside.png")):
        (work / folder).mkdir()
        (work / folder / "conda-project.yml").write_text(_project("Evil", JHUB_APP_CONFIG_thumbnail_path=path))
    (outside / "outside.png").write_bytes(_png("blue"))  # a valid image: read, it would come back
    (work / "link").mkdir()
    (work / "link" / "conda-project.yml").write_text(_project("Evil", JHUB_APP_CONFIG_thumbnail_path="logo.png"))
    (work / "link" / "logo.png").symlink_to(outside / "outside.png")
    (work / "linkdir").symlink_to(outside)
    _git("init", "-q", "-b", "main", str(work))
    _git("add", "-A", cwd=work)
    _git("-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "app", cwd=work)
    _git("tag", "v1", cwd=work)
    _git("clone", "-q", "--bare", str(work), str(bare))
    return _git("rev-parse", "HEAD", cwd=work)


class _GitHTTP(BaseHTTPRequestHandler):
    """``git http-backend`` as CGI, for clients that send the right basic auth (else 401)."""

    server: _GitServer

    def do_GET(self) -> None:
        self._cgi()

    def do_POST(self) -> None:
        self._cgi()

    def _cgi(self) -> None:
        auth = self.headers.get("Authorization")
        self.server.seen.append((self.path, auth))
        if self.path.startswith("/slow.git/"):
            self.server.release.wait(60)  # a server that never answers (until the module ends)
            return
        expected = "Basic " + base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
        if auth != expected:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path, _, query = self.path.partition("?")
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        env = {
            "PATH": os.environ["PATH"],
            "GIT_PROJECT_ROOT": str(self.server.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "GIT_CONFIG_NOSYSTEM": "1",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "REQUEST_METHOD": self.command,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
            "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
            "REMOTE_USER": "x-access-token",
            "REMOTE_ADDR": "127.0.0.1",
        }
        out = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True, timeout=60).stdout
        sep = b"\r\n\r\n" if b"\r\n\r\n" in out else b"\n\n"
        head, _, payload = out.partition(sep)
        status, headers = 200, []
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            elif name:
                headers.append((name, value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _GitServer(ThreadingHTTPServer):
    def __init__(self, root: Path) -> None:
        super().__init__(("127.0.0.1", 0), _GitHTTP)
        self.root = root
        self.seen: list[tuple[str, str | None]] = []
        self.release = threading.Event()


# -- fixtures ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("gitconda")
    outside = root / "outside"
    outside.mkdir()
    prefix = root / "envs" / "sci"
    _make_conda_env(prefix, outside)
    (root / "envs" / "geo").symlink_to(prefix)  # a second name, found through conda_env_dirs
    served = root / "served"
    served.mkdir()
    commit = _make_repository(root / "work", served / "private.git", outside)
    big = root / "big"
    big.mkdir()
    (big / "conda-project.yml").write_text(_project("Big"))
    (big / "data.bin").write_bytes(os.urandom(2 * CLONE_MAX_BYTES))  # incompressible
    _git("init", "-q", "-b", "main", str(big))
    _git("add", "-A", cwd=big)
    _git("-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "big", cwd=big)
    _git("clone", "-q", "--bare", str(big), str(served / "big.git"))
    server = _GitServer(served)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {
            "prefix": prefix,
            "outside": outside,
            "commit": commit,
            "public_url": (served / "private.git").as_uri(),  # the same repository, over file://
            "big_url": (served / "big.git").as_uri(),
            "private_url": f"http://127.0.0.1:{server.server_address[1]}/private.git",
            "slow_url": f"http://127.0.0.1:{server.server_address[1]}/slow.git",
            "server": server,
        }
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def gc_hub(world: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    config = (
        CONFIG.replace("@PREFIX@", repr(str(world["prefix"])))
        .replace("@ENVS@", repr(str(world["prefix"].parent)))
        .replace("{max_bytes}", str(CLONE_MAX_BYTES))
        .replace("{clone_timeout}", str(CLONE_TIMEOUT))
    )
    with own_hub(tmp_path_factory.mktemp("gitconda-hub"), config) as running:
        yield running


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=120) as c:
        yield c


def _user(hub: Hub) -> tuple[str, str]:
    name = f"gc-{secrets.token_hex(3)}"
    return name, hub.token_for(name)


def _post(client: httpx.Client, hub: Hub, path: str, token: str, body: dict[str, Any]) -> httpx.Response:
    return client.post(hub.url + "services/japps/" + path, json=body, headers={"Authorization": f"token {token}"})


# -- conda ------------------------------------------------------------------------------------------


def test_a_conda_environment_runs_activated(gc_hub: Hub, world: dict[str, Any], client: httpx.Client) -> None:
    owner, token = _user(gc_hub)
    prefix: Path = world["prefix"]
    options = {
        "spec_version": 2,
        "framework": "command",
        "display_name": "Conda env",
        "command": ["{python}", str(RESOURCES / "env_dump_app.py"), "{port}"],
        "python_env": "sci",
        "env": {"SCI_MODE": "mine", "SCI_APP_ONLY": "app"},
    }
    gc_hub.create_app(owner, "conda-env", options)
    try:
        gc_hub.wait_app(owner, "conda-env", token)
        seen = client.get(gc_hub.app_url(owner, "conda-env"), headers={"Authorization": f"token {token}"}).json()
        logs = client.get(
            gc_hub.app_url(owner, "conda-env") + "_hubapps/logs", headers={"Authorization": f"token {token}"}
        ).json()["lines"]
    finally:
        gc_hub.stop_app(owner, "conda-env", remove=True)
    env = seen["env"]
    assert seen["prefix"] == str(prefix)  # the environment's own python runs the app
    # PATH as conda makes it, then as the activate.d script changed it.
    assert env["PATH"].split(os.pathsep)[:2] == [f"{prefix}/extra", f"{prefix}/bin"]
    assert (env["CONDA_PREFIX"], env["CONDA_DEFAULT_ENV"], env["CONDA_SHLVL"]) == (str(prefix), "sci", "1")
    assert "VIRTUAL_ENV" not in env
    # Declared variables: packages' first, the state file's win; ***unset*** removes the spawner's.
    assert (env["PKG_HOME"], env["SCI_LEVEL"]) == ("from-package", "state")
    assert "TO_UNSET" not in env
    # The scripts' exports, including the one with a shell-looking name (run, never interpreted).
    assert env["GDAL_DATA"] == f"{prefix}/share/gdal"
    assert env["ODD_NAME"] == "ran"
    assert not (gc_hub.home(owner) / "PWNED").exists()
    assert "ESCAPED" not in env  # a script that is a link out of the environment never runs
    assert env["SCI_MODE"] == "mine"  # the app's own variables win over the environment's
    # The scripts saw neither the Hub token nor the app's own variables.
    assert "gdal activated; token:none; app var:none" in "\n".join(logs)


def test_a_conda_envs_name_is_found_in_conda_env_dirs(gc_hub: Hub, world: dict[str, Any], client: httpx.Client) -> None:
    owner, token = _user(gc_hub)
    assert (
        "geo"
        in client.get(
            gc_hub.url + "services/japps/api/environments", headers={"Authorization": f"token {token}"}
        ).json()
    )
    options = {
        "spec_version": 2,
        "framework": "command",
        "display_name": "Conda by name",
        "command": ["{python}", str(RESOURCES / "env_dump_app.py"), "{port}"],
        "python_env": "geo",
    }
    options.pop("spec_version")
    response = _post(client, gc_hub, "api/apps", token, {**options, "start": True})
    assert response.status_code in (200, 201, 202), response.text
    assert response.json()["name"] == "conda-by-name"
    try:
        gc_hub.wait_app(owner, "conda-by-name", token)
        url = gc_hub.app_url(owner, "conda-by-name")
        seen = client.get(url, headers={"Authorization": f"token {token}"}).json()
    finally:
        gc_hub.stop_app(owner, "conda-by-name", remove=True)
    geo = str(world["prefix"].parent / "geo")
    assert (seen["env"]["CONDA_PREFIX"], seen["env"]["CONDA_DEFAULT_ENV"]) == (geo, "geo")
    assert seen["env"]["PATH"].split(os.pathsep)[1] == f"{geo}/bin"
    assert seen["env"]["SCI_LEVEL"] == "state"  # the environment's declared variables


# -- git --------------------------------------------------------------------------------------------


def test_settings_are_read_from_a_repository(gc_hub: Hub, world: dict[str, Any], client: httpx.Client) -> None:
    _, token = _user(gc_hub)
    r = _post(
        client,
        gc_hub,
        "api/apps/from-git",
        token,
        {"url": world["public_url"], "ref": "main", "subdirectory": "apps/demo"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["display_name"] == "Demo from git"
    assert body["framework"] == "command"
    assert body["command"] == ["{python}", "env_dump_app.py", "{port}"]
    assert body["env"] == {"GREETING": "hello from git"}
    assert body["repository"] == {"url": world["public_url"], "ref": "main", "subdirectory": "apps/demo", "token": None}
    assert body["commit"] == world["commit"]
    head, _, data = body["thumbnail_data_url"].partition(",")
    assert head == "data:image/webp;base64"
    image = Image.open(io.BytesIO(base64.b64decode(data)))
    assert image.format == "WEBP"
    pixel = image.convert("RGB").getpixel((1, 1))
    assert isinstance(pixel, tuple)
    assert pixel[0] > 200  # the red logo of the repository

    # The default branch and the top-level project file (upstream's only one), and a tag.
    top = _post(client, gc_hub, "api/apps/from-git", token, {"url": world["public_url"]}).json()
    assert (top["display_name"], top["thumbnail_data_url"]) == ("Top level", "")
    tagged = _post(client, gc_hub, "api/apps/from-git", token, {"url": world["public_url"], "ref": "v1"})
    assert tagged.json()["commit"] == world["commit"]

    # Upstream's route and shapes.
    r = _post(
        client,
        gc_hub,
        "app-config-from-git/",
        token,
        {"url": world["public_url"], "config_directory": "apps/demo", "ref": "main"},
    )
    assert r.status_code == 200, r.text
    upstream = r.json()
    assert set(upstream) == {
        "display_name",
        "description",
        "thumbnail",
        "filepath",
        "framework",
        "custom_command",
        "public",
        "keep_alive",
        "env",
        "repository",
    }
    assert (upstream["framework"], upstream["custom_command"]) == ("custom", "{python} env_dump_app.py {port}")
    assert upstream["thumbnail"].startswith("data:image/webp;base64,")
    assert upstream["repository"] == {"url": world["public_url"], "config_directory": "apps/demo", "ref": "main"}
    missing = _post(
        client, gc_hub, "app-config-from-git/", token, {"url": world["public_url"], "config_directory": "nope"}
    )
    assert missing.status_code == 400
    assert "'nope'" in missing.json()["detail"]


@pytest.mark.parametrize(
    ("subdirectory", "message"),
    [
        ("abs", "must be a relative path inside the repository"),
        ("dots", "must be a relative path inside the repository"),
        ("link", "leads outside the repository"),
        ("linkdir", "leads outside the repository"),
        ("../..", "must not contain '..'"),
    ],
)
def test_no_path_leaves_the_checkout(
    gc_hub: Hub, world: dict[str, Any], client: httpx.Client, subdirectory: str, message: str
) -> None:
    _, token = _user(gc_hub)
    for path in ("api/apps/from-git", "app-config-from-git/"):
        key = "subdirectory" if path.startswith("api") else "config_directory"
        r = _post(client, gc_hub, path, token, {"url": world["public_url"], "ref": "main", key: subdirectory})
        assert r.status_code in (400, 422), r.text
        assert message in r.json()["detail"]
        assert "data:image" not in r.text


def test_transports_and_urls_the_admin_did_not_allow_are_refused(
    gc_hub: Hub, world: dict[str, Any], client: httpx.Client
) -> None:
    _, token = _user(gc_hub)
    marker = world["outside"] / "EXT-RAN"
    for url in (f"ext::sh -c touch% {marker}", "ssh://git@127.0.0.1/repo.git", "-uhelp", "https://u:p@host/repo.git"):
        r = _post(client, gc_hub, "api/apps/from-git", token, {"url": url})
        assert r.status_code == 422, (url, r.text)
        assert r.json()["field"].startswith("repository")
    assert not marker.exists()


def test_a_clone_is_bounded_in_size_and_time_and_leaves_nothing(
    gc_hub: Hub, world: dict[str, Any], client: httpx.Client
) -> None:
    _, token = _user(gc_hub)
    before = set(Path(tempfile.gettempdir()).glob("hubapps-git-*"))
    big = _post(client, gc_hub, "api/apps/from-git", token, {"url": world["big_url"]})
    assert big.status_code == 422, big.text
    assert big.json()["detail"] == "the repository is larger than 1 MiB (setting git_clone_max_bytes)"
    slow = _post(client, gc_hub, "api/apps/from-git", token, {"url": world["slow_url"]})
    assert slow.status_code == 422, slow.text
    limit = f"the repository could not be read within {CLONE_TIMEOUT} s (setting git_clone_timeout)"
    assert slow.json()["detail"] == limit
    assert set(Path(tempfile.gettempdir()).glob("hubapps-git-*")) <= before  # each clone's folder is removed


def test_a_private_repository_works_with_a_sealed_token(
    gc_hub: Hub, world: dict[str, Any], client: httpx.Client
) -> None:
    owner, token = _user(gc_hub)
    url = world["private_url"]
    request = {"url": url, "ref": "main", "subdirectory": "apps/demo"}
    refused = _post(client, gc_hub, "api/apps/from-git", token, request)
    assert refused.status_code == 422
    assert "the token if it is private" in refused.json()["detail"]
    assert "401" not in refused.text
    assert "Authentication" not in refused.text

    prefill = _post(client, gc_hub, "api/apps/from-git", token, {**request, "token": TOKEN})
    assert prefill.status_code == 200, prefill.text
    found = prefill.json()
    assert found["display_name"] == "Demo from git"

    # Create it (as the form or a script would), with the token, and start it: its proxy clones with it.
    create = {
        "framework": found["framework"],
        "display_name": "Private demo",
        "command": found["command"],
        "env": found["env"],
        "repository": {**found["repository"], "token": TOKEN},
        "start": True,
    }
    r = _post(client, gc_hub, "api/apps", token, create)
    assert r.status_code in (201, 202), r.text
    server = r.json()["name"] if r.status_code == 201 else r.json()["id"].split("/", 1)[1]
    try:
        gc_hub.wait_ready(owner, server)
        gc_hub.wait_app(owner, server, token)
        seen = client.get(gc_hub.app_url(owner, server), headers={"Authorization": f"token {token}"}).json()
        stored = gc_hub.api("GET", f"users/{owner}", params={"include_stopped_servers": "1"}).json()
        shown = client.get(
            gc_hub.url + f"services/japps/api/apps/{owner}/{server}", headers={"Authorization": f"token {token}"}
        ).json()
        git_config = (gc_hub.home(owner) / ".hubapps" / "checkouts" / server / ".git" / "config").read_text()
    finally:
        gc_hub.stop_app(owner, server, remove=True)
    # The app runs from the checkout, with the repository's variables, and never sees the token.
    assert seen["env"]["GREETING"] == "hello from git"
    assert seen["cwd"].endswith(f"/.hubapps/checkouts/{server}/apps/demo")
    assert TOKEN not in json.dumps(seen)
    assert "HUBAPPS_GIT_AUTH" not in seen["env"]
    # Stored sealed (the Hub holds ciphertext), shown as "token": null, nowhere in clear.
    options = stored["servers"][server]["user_options"]
    assert options["repository"]["secret_token"].startswith("gA")
    assert TOKEN not in json.dumps(stored)
    assert shown["spec"]["repository"]["token"] is None
    assert "secret_token" not in shown["spec"]["repository"]
    assert TOKEN not in git_config
    assert TOKEN not in gc_hub.log_path.read_text()
    # Every request the server saw carried the token in its header, none in its URL.
    assert all(TOKEN not in path for path, _ in world["server"].seen)


def test_the_deploy_form_reads_settings_from_git(gc_hub: Hub, world: dict[str, Any]) -> None:
    owner, _ = _user(gc_hub)
    browser = gc_hub.login(owner)
    try:
        svc = gc_hub.url + "services/japps/"
        xsrf = login_to_service(browser, svc)
        form = {
            "_xsrf": xsrf,
            "action": "prefill",
            "source": "git",
            "framework": "streamlit",
            "repo_url": world["private_url"],
            "repo_ref": "main",
            "repo_subdirectory": "apps/demo",
            "repo_token": TOKEN,
            "env_rows": "0",
        }
        r = browser.post(svc + "create-app", data=form, follow_redirects=False)
    finally:
        browser.close()
    assert r.status_code == 200, r.text[:500]
    page = r.text
    assert 'value="Demo from git"' in page
    assert "{python} env_dump_app.py {port}" in page
    assert 'value="GREETING"' in page
    assert 'value="hello from git"' in page
    assert f"Read from commit {world['commit'][:12]}" in page
    assert "data:image/webp;base64," in page  # the repository's thumbnail, pending until the app is saved
    assert TOKEN not in page  # typed once, never shown back
