"""Apps stored by upstream JHub Apps keep working when the same Hub database moves to hubapps.

The module does what docs/migrating.md ("Moving a running deployment") tells an admin to do:

1. Upstream JHub Apps 2026.9.1 runs on JupyterHub 5.5 (``.venv-upstream``) with its own
   ``install_jhub_apps`` and FastAPI service; alice creates apps through upstream's own API (its
   OAuth login ``/jhub-login``, then ``POST /server`` with the multipart ``data`` and ``thumbnail``),
   one per kind of stored app. Upstream starts each app at once; here that start fails (upstream
   downloads its proxy binary at every start, and this machine is offline), which is what it does on
   an air-gapped Hub: the named server and its ``user_options`` are stored all the same (checked).
2. That Hub stops; hubapps starts on JupyterHub 5.5 (``.venv-jh55``) with hubapps' configuration, on
   the same SQLite file and cookie secret. Each app lists, opens, edits, shares; the cheap ones start
   for real; what hubapps refuses on purpose stays listed with the reason.
3. That Hub stops; ``jupyterhub upgrade-db`` of JupyterHub 6 (the main ``.venv``) upgrades the
   database and hubapps starts on JupyterHub 6: the apps are still there and a framework app starts.
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import re
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from hubapps.core.command import LaunchContext, build_command
from hubapps.core.frameworks import FrameworkRegistry
from hubapps.core.spec import parse_user_options
from tests.integration.conftest import CHP, CONFIG_FILE, HUB_KEY, PASSWORD, VENV_BIN, Hub, login_to_service
from tests.migration.conftest import hub_from

# Three Hubs one after the other; the module's setup (upstream's Hub, its apps, their failed starts)
# takes about a minute on a small machine.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
OWNER = "alice"
FRIEND = "bob"
GROUP = "team"
#: Seconds upstream gets to give up on every app it tried to start.
UPSTREAM_SETTLE_TIMEOUT = 90.0

# Upstream's own documented configuration (docs/migrating.md quotes the same lines), plus a test
# overlay that only puts everything on 127.0.0.1 and free ports, as requirement 1's overlay does.
UPSTREAM_CONFIG = """\
import sys

from jupyterhub.spawner import SimpleLocalProcessSpawner

from jhub_apps import theme_template_paths
from jhub_apps.configuration import install_jhub_apps

c = get_config()  # noqa: F821
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = {password!r}
c.Authenticator.allow_all = True
c.Authenticator.admin_users = {{"admin"}}
c.JupyterHub.bind_url = "http://127.0.0.1:{proxy_port}"
c.JAppsConfig.jupyterhub_config_path = {config_path!r}
c.JAppsConfig.conda_envs = ["analysis"]
c.JAppsConfig.python_exec = sys.executable
c.JAppsConfig.service_workers = 1
c.JupyterHub.default_url = "/hub/home"
c.JupyterHub.load_groups = {{"{group}": {{"users": ["{friend}"]}}}}
c = install_jhub_apps(c, spawner_to_subclass=SimpleLocalProcessSpawner, oauth_no_confirm=True)
c.JupyterHub.template_paths = theme_template_paths
for role in c.JupyterHub.load_roles:
    if role["name"] == "user":
        role["scopes"].extend(["read:users:name", "read:groups:name", "shares!user"])

# -- test overlay: addresses, files, a test admin; nothing of upstream's behaviour changes ------------
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{hub_port}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api_port}"
c.ConfigurableHTTPProxy.command = [{chp!r}]
c.ConfigurableHTTPProxy.pid_file = {root!r} + "/chp.pid"
c.JupyterHub.db_url = "sqlite:///" + {root!r} + "/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = {root!r} + "/jupyterhub_cookie_secret"
c.JupyterHub.pid_file = {root!r} + "/jupyterhub.pid"
c.SimpleLocalProcessSpawner.home_dir_template = {root!r} + "/home/{{username}}"
from traitlets.config import LazyConfigValue

services = c.JupyterHub.services  # upstream extends a lazy value when the config had no services
c.JupyterHub.services = services = services.get_value([]) if isinstance(services, LazyConfigValue) else services
for service in services:
    if service["name"] == "japps":  # upstream binds 0.0.0.0:10202, whoever else uses it
        service["url"] = "http://127.0.0.1:{service_port}"
        service["command"] = [
            {{"--port=10202": "--port={service_port}", "--host=0.0.0.0": "--host=127.0.0.1"}}.get(a, a)
            for a in service["command"]
        ]
c.JupyterHub.services.append({{"name": "test-admin", "api_token": {admin_token!r}}})
c.JupyterHub.load_roles.append(
    {{"name": "test-admin", "scopes": ["admin:users", "admin:servers", "admin:groups", "tokens", "shares"],
      "services": ["test-admin"]}}
)
# Upstream's start script fetches its proxy from the internet: refuse that at once (no proxy) rather
# than wait for a network timeout, and let the Hub answer the spawn request before the start ends.
c.Spawner.environment = {{
    "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9", "HUBAPPS_TEST_MARKER": {marker!r}
}}
c.JupyterHub.tornado_settings = {{"slow_spawn_timeout": 0}}
c.Spawner.http_timeout = 5
"""

# hubapps on the same folder: the integration suite's configuration (it keeps its database and cookie
# secret in HUBAPPS_TEST_DIR, the folder upstream used) with the environment upstream offered.
HUBAPPS_CONFIG = """\
c = get_config()  # noqa: F821
load_subconfig({main!r})  # noqa: F821
import hubapps

c.HubApps.environments = {{"analysis": {prefix!r}}}
hubapps.install(c)
"""


@dataclass(frozen=True)
class Stored:
    """One app as alice created it through upstream's API."""

    display_name: str
    options: dict[str, Any]
    thumbnail: bytes | None = None
    #: What hubapps refuses on purpose: the field its reason names (None: it runs as it is).
    refused: str | None = None
    server: str = field(init=False, default="")

    def __post_init__(self) -> None:
        # Upstream's HubClient.normalize_server_name.
        name = re.sub(r"[^a-z0-9\s-]", "", self.display_name.lower()).replace(" ", "-")[:240]
        object.__setattr__(self, "server", name)


def _png(color: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(out, format="PNG")
    return out.getvalue()


def _stored_apps(root: Path) -> list[Stored]:
    """Every kind of app upstream stores (framework, environment, profile, repository, ...)."""
    examples = "examples"
    env_dump = str(root / "home" / OWNER / "env_dump_app.py")
    return [
        Stored(
            "Panel Dashboard",
            {
                "framework": "panel",
                "filepath": f"{examples}/panel_app.py",
                "share_with": {"users": [FRIEND], "groups": [GROUP]},
            },
            thumbnail=_png((200, 30, 30)),
        ),
        Stored("Bokeh Plot", {"framework": "bokeh", "filepath": f"{examples}/bokeh_app.py", "keep_alive": True}),
        Stored(
            "Streamlit Report", {"framework": "streamlit", "filepath": f"{examples}/streamlit_app.py", "public": True}
        ),
        Stored(
            "Dash Board",
            {"framework": "plotlydash", "filepath": f"{examples}/dash_app.py", "env": {"dash_debug": "false"}},
        ),
        Stored(
            "Voila Notebook",
            {"framework": "voila", "filepath": f"{examples}/voila_app.ipynb", "conda_env": "analysis"},
        ),
        Stored("Gradio Greeter", {"framework": "gradio", "filepath": f"{examples}/gradio_app.py"}),
        Stored("Extra Lab", {"framework": "jupyterlab"}),
        # Upstream's placeholders: {port} (the app's port), {-} and {--} (a "-" or "--" its proxy
        # would otherwise read as its own option); lowercase variable names.
        Stored(
            "Env Echo",
            {
                "framework": "custom",
                "custom_command": f"python3 {{-}}u {env_dump} {{port}}",
                "env": {"my_setting": "kept lowercase", "API_LEVEL": "2"},
                "keep_alive": True,
            },
        ),
        Stored(
            "Static Files",
            {"framework": "custom", "custom_command": "python3 {-}m http.server {port} {--}bind 127.0.0.1"},
        ),
        Stored(
            "Git App",
            {
                "framework": "panel",
                "filepath": "app.py",
                "repository": {"url": f"file://{root / 'repo.git'}", "config_directory": "apps", "ref": "main"},
            },
        ),
        Stored("Profile App", {"framework": "panel", "filepath": f"{examples}/panel_app.py", "profile": "small"}),
        # What hubapps refuses on purpose.
        Stored("Empty Path", {"framework": "panel", "filepath": ""}, refused="filepath"),
        Stored(
            "Pipeline",
            {"framework": "custom", "custom_command": "python3 -m http.server {port} | tee /tmp/upstream.log"},
            refused="command",
        ),
        Stored(
            "Own Image",
            {"framework": "panel", "filepath": f"{examples}/panel_app.py", "profile_image": "evil/miner:latest"},
            refused="profile_image",
        ),
    ]


def _upstream_login(hub: Hub, username: str) -> httpx.Client:
    """A browser session with upstream's service cookie, the way upstream's own e2e tests log in:
    the Hub's login form, then ``/services/japps/jhub-login`` (OAuth, no confirmation page)."""
    client = hub.login(username)
    try:
        r = client.get("services/japps/jhub-login", follow_redirects=True)
        assert r.status_code == 200, r.text[:300]
        assert client.cookies.get("jhub_apps_access_token"), "upstream's service set no access cookie"
        return client
    except BaseException:
        client.close()
        raise


def _create_upstream(client: httpx.Client, app: Stored) -> None:
    """``POST /services/japps/server`` as upstream's UI sends it (multipart ``data`` + ``thumbnail``)."""
    user_options = {
        "jhub_app": True,
        "display_name": app.display_name,
        "description": f"{app.display_name}, made by JHub Apps",
        **app.options,
    }
    files: dict[str, Any] = {"data": (None, json.dumps({"servername": app.display_name, "user_options": user_options}))}
    if app.thumbnail is not None:
        files["thumbnail"] = ("logo.png", app.thumbnail, "image/png")
    r = client.post("services/japps/server", files=files, timeout=60.0)
    assert r.status_code == 200, f"{app.display_name}: {r.status_code} {r.text[:500]}"
    assert r.json()[1] == app.server


def _stored_servers(hub: Hub) -> dict[str, dict[str, Any]]:
    r = hub.api("GET", f"users/{OWNER}", params={"include_stopped_servers": "1"})
    r.raise_for_status()
    servers: dict[str, dict[str, Any]] = r.json()["servers"]
    return servers


def _make_repository(root: Path) -> None:
    work = root / "repo-work"
    (work / "apps").mkdir(parents=True)
    shutil.copy(RESOURCES.parent.parent / "hubapps" / "examples" / "panel_app.py", work / "apps" / "app.py")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q", "-b", "main", str(work)], check=True)
    subprocess.run([*git, "-C", str(work), "add", "."], check=True)
    subprocess.run([*git, "-C", str(work), "commit", "-q", "-m", "app"], check=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(root / "repo.git")], check=True)


@dataclass
class Moved:
    root: Path
    apps: list[Stored]
    #: user_options exactly as upstream stored them, by server name.
    stored: dict[str, dict[str, Any]]
    crypt_key: str


@pytest.fixture(scope="module")
def upstream_db(tmp_path_factory: pytest.TempPathFactory, upstream_bin: Path, pytestconfig: pytest.Config) -> Moved:
    """Step 1: upstream JHub Apps stores alice's apps in the Hub database, then its Hub stops."""
    root = tmp_path_factory.mktemp("upstream-move")
    apps = _stored_apps(root)
    _make_repository(root)
    hub = Hub(root)
    pytestconfig.stash[HUB_KEY] = hub  # failing tests show its log's tail
    config = root / "upstream_config.py"
    config.write_text(
        UPSTREAM_CONFIG.format(
            password=PASSWORD,
            proxy_port=hub.proxy_port,
            proxy_api_port=hub.proxy_api_port,
            hub_port=hub.hub_port,
            service_port=hub.service_port,
            config_path=str(config),
            chp=str(CHP),
            root=str(root),
            admin_token=hub.admin_token,
            marker=hub.marker,
            group=GROUP,
            friend=FRIEND,
        )
    )
    # Upstream's startup-apps service runs `sh -c "... && tail -f /dev/null"`; stopping the Hub ends
    # the shell and leaves the tail (docs/migrating.md says so).
    with hub_from(hub, upstream_bin, config, known_leftovers=(": tail -f /dev/null",)):
        hub.ensure_user(FRIEND)
        hub.ensure_user(OWNER)
        shutil.copy(RESOURCES / "env_dump_app.py", hub.home(OWNER) / "env_dump_app.py")
        client = _upstream_login(hub, OWNER)
        try:
            for app in apps:
                _create_upstream(client, app)
            listed = client.get("services/japps/server/")
            assert listed.status_code == 200, listed.text[:300]
            assert {s["name"] for s in listed.json()["user_apps"]} >= {a.server for a in apps}
        finally:
            client.close()
        # Upstream starts every app it creates; offline, each start gives up (no proxy binary).
        deadline = time.monotonic() + UPSTREAM_SETTLE_TIMEOUT
        while any(s.get("pending") or s.get("ready") for s in _stored_servers(hub).values()):
            assert time.monotonic() < deadline, f"upstream's starts did not end: {_stored_servers(hub)}"
            time.sleep(0.5)
        stored = {name: s["user_options"] for name, s in _stored_servers(hub).items()}
        shares = hub.api("GET", f"shares/{OWNER}/panel-dashboard").json()["items"]
        assert {(s.get("user") or {}).get("name") or (s.get("group") or {}).get("name") for s in shares} == {
            FRIEND,
            GROUP,
        }
        crypt_key = hub.crypt_key
    # The named servers and what upstream stored in them are in the database, stopped.
    for app in apps:
        options = stored[app.server]
        assert options["jhub_app"] is True
        assert options["display_name"] == app.display_name
        assert str(options["thumbnail"]).startswith("data:image/"), app.display_name
    assert stored["env-echo"]["env"] == {"my_setting": "kept lowercase", "API_LEVEL": "2"}
    assert stored["own-image"]["profile_image"] == "evil/miner:latest"
    return Moved(root=root, apps=apps, stored=stored, crypt_key=crypt_key)


@pytest.fixture(scope="module")
def hubapps_55(upstream_db: Moved, jh55_bin: Path, pytestconfig: pytest.Config) -> Iterator[Hub]:
    """Step 2: hubapps on JupyterHub 5.5, on the same database and cookie secret."""
    config = upstream_db.root / "hubapps_config.py"
    config.write_text(HUBAPPS_CONFIG.format(main=str(CONFIG_FILE), prefix=str(jh55_bin.parent)))
    hub = Hub(upstream_db.root)
    pytestconfig.stash[HUB_KEY] = hub
    hub.crypt_key = upstream_db.crypt_key
    with hub_from(hub, jh55_bin, config):
        yield hub


def _h(token: str) -> dict[str, str]:
    return {"Authorization": f"token {token}"}


def _listing(hub: Hub, token: str) -> dict[str, dict[str, Any]]:
    r = httpx.get(hub.url + "services/japps/api/apps", headers=_h(token), params={"limit": 200}, timeout=30)
    assert r.status_code == 200, r.text[:300]
    return {a["name"]: a for a in r.json()["data"] if a["owner"] == OWNER}


def test_every_stored_app_lists_with_its_meaning(upstream_db: Moved, hubapps_55: Hub) -> None:
    token = hubapps_55.token_for(OWNER)
    listed = _listing(hubapps_55, token)
    assert set(listed) == {a.server for a in upstream_db.apps}
    for app in upstream_db.apps:
        seen = listed[app.server]
        assert seen["display_name"] == app.display_name
        assert seen["description"] == f"{app.display_name}, made by JHub Apps"
        assert seen["state"] == "stopped"
        if app.refused:
            assert seen["problem"]["field"] == app.refused, seen
            assert seen["problem"]["message"]
        else:
            assert seen["problem"] is None, seen
    assert listed["dash-board"]["framework"] == "dash"
    assert listed["static-files"]["framework"] == "command"
    assert listed["bokeh-plot"]["keep_alive"] is True
    assert listed["streamlit-report"]["public"] is True
    spec = listed["env-echo"]["spec"]
    assert spec["env"] == {"my_setting": "kept lowercase", "API_LEVEL": "2"}
    assert spec["command"] == ["python3", "-u", str(upstream_db.root / "home" / OWNER / "env_dump_app.py"), "{port}"]
    assert listed["static-files"]["spec"]["command"] == [
        "python3",
        "-m",
        "http.server",
        "{port}",
        "--bind",
        "127.0.0.1",
    ]
    assert listed["voila-notebook"]["spec"]["python_env"] == "analysis"
    assert listed["profile-app"]["spec"]["profile"] == "small"
    assert listed["git-app"]["spec"]["repository"] == {
        "url": f"file://{upstream_db.root / 'repo.git'}",
        "ref": "main",
        "subdirectory": "apps",
    }
    assert "pipeline" in listed["pipeline"]["problem"]["message"]
    assert "image" in listed["own-image"]["problem"]["message"]


def _service_db(moved: Moved) -> Path:
    found = list(moved.root.glob("**/hubapps.sqlite"))
    assert found, "the launcher service made no database"
    return found[0]


def _claimed(moved: Moved) -> dict[str, str]:
    with sqlite3.connect(_service_db(moved)) as db:
        rows = db.execute("SELECT server, ref FROM hubapps_thumbnail_uses WHERE owner = ?", (OWNER,)).fetchall()
    return {str(server): str(ref) for server, ref in rows}


def test_inline_thumbnails_are_imported_into_the_store_once(upstream_db: Moved, hubapps_55: Hub) -> None:
    token = hubapps_55.token_for(OWNER)
    # The first listings answer at once, without images not imported yet; the imports run meanwhile.
    deadline = time.monotonic() + 60
    listed = _listing(hubapps_55, token)
    while not all(a["thumbnail"].startswith("sha256:") for a in listed.values()):
        assert time.monotonic() < deadline, {n: a["thumbnail"][:20] for n, a in listed.items()}
        time.sleep(0.5)
        listed = _listing(hubapps_55, token)
    # The uploaded image is served re-encoded from the store, and the spec names it by reference.
    ref = listed["panel-dashboard"]["thumbnail"]
    assert listed["panel-dashboard"]["spec"]["thumbnail"] == ref
    image = httpx.get(hubapps_55.url + f"services/japps/ui/thumbnails/{ref}", headers=_h(token), timeout=30)
    assert image.status_code == 200, image.text[:200]
    assert image.headers["content-type"] in ("image/webp", "image/png")
    assert hashlib.sha256(image.content).hexdigest() == ref.removeprefix("sha256:")
    with Image.open(io.BytesIO(image.content)) as decoded:
        pixel = decoded.convert("RGB").getpixel((decoded.width // 2, decoded.height // 2))
    assert isinstance(pixel, tuple)
    red, green, blue = pixel
    assert red > 150 > green  # alice's red upload, not upstream's framework logo
    assert blue < 100
    # Upstream's framework logos became images of the store too: one per framework, shared.
    assert listed["bokeh-plot"]["thumbnail"] != listed["dash-board"]["thumbnail"]
    assert listed["panel-dashboard"]["thumbnail"] != listed["profile-app"]["thumbnail"]
    assert listed["profile-app"]["thumbnail"] == listed["git-app"]["thumbnail"]
    # Idempotent: listing again imports nothing new.
    before = _claimed(upstream_db)
    assert before == {name: a["thumbnail"] for name, a in listed.items()}
    again = _listing(hubapps_55, token)
    assert {n: a["thumbnail"] for n, a in again.items()} == before
    assert _claimed(upstream_db) == before


def _browser(hub: Hub, username: str) -> tuple[httpx.Client, str]:
    client = hub.login(username)
    return client, login_to_service(client, hub.url + "services/japps/")


def test_refused_apps_stay_listed_and_their_form_offers_the_fix(upstream_db: Moved, hubapps_55: Hub) -> None:
    token = hubapps_55.token_for(OWNER)
    svc = hubapps_55.url + "services/japps/"
    client, _ = _browser(hubapps_55, OWNER)
    try:
        page = client.get(svc + "ui/apps/alice/pipeline/edit")
        assert page.status_code == 200, page.text[:300]
        text = html.unescape(page.text)
        # The reason beside the command, the command as stored (without its shell), and the fix.
        assert 'id="command-error"' in page.text
        assert "shell pipeline" in text
        assert "sh run.sh" in text
        assert "python3 -m http.server {port} | tee /tmp/upstream.log" in text
        page = client.get(svc + "ui/apps/alice/own-image/edit")
        assert page.status_code == 200, page.text[:300]
        assert 'id="profile-error"' in page.text
        assert "evil/miner:latest" in html.unescape(page.text)
        page = client.get(svc + "ui/apps/alice/empty-path/edit")
        assert 'id="filepath-error"' in page.text
    finally:
        client.close()
    # Starting one as it is answers with the same reason.
    r = httpx.post(svc + "api/apps/alice/pipeline/start", headers=_h(token), timeout=60)
    assert r.status_code == 422, r.text[:300]
    assert "shell pipeline" in r.text
    # The fix the form offers: the pipeline in a script, the command runs it. On JupyterHub 5.5 a
    # stopped app is edited by starting it with the new spec (`restart`); the others are edited on 6.
    script = hubapps_55.home(OWNER) / "run.sh"
    script.write_text('python3 -m http.server "$1" --bind 127.0.0.1 2>&1 | tee /tmp/upstream.log\n')
    fix = {"command": ["sh", str(script), "{port}"], "restart": True}
    r = httpx.patch(svc + "api/apps/alice/pipeline", headers=_h(token), json=fix, timeout=60)
    assert r.status_code in (200, 202), r.text[:300]
    hubapps_55.wait_ready(OWNER, "pipeline")
    hubapps_55.wait_app(OWNER, "pipeline", token)
    assert "Directory listing" in httpx.get(hubapps_55.app_url(OWNER, "pipeline"), headers=_h(token), timeout=30).text
    assert httpx.get(svc + "api/apps/alice/pipeline", headers=_h(token), timeout=30).json()["problem"] is None
    stored = _hub_options(hubapps_55, "pipeline")
    assert stored["spec_version"] == 2
    assert "custom_command" not in stored
    # Saved in hubapps' form, the spec names the imported image instead of carrying it.
    assert stored["thumbnail"].startswith("sha256:")
    hubapps_55.stop_app(OWNER, "pipeline")


def _hub_options(hub: Hub, server: str) -> dict[str, Any]:
    r = hub.api("GET", f"users/{OWNER}", params={"include_stopped_servers": "1"})
    r.raise_for_status()
    options: dict[str, Any] = r.json()["servers"][server]["user_options"]
    return options


def test_stored_apps_open_edit_share_and_start(upstream_db: Moved, hubapps_55: Hub) -> None:
    token = hubapps_55.token_for(OWNER)
    friend = hubapps_55.token_for(FRIEND)
    svc = hubapps_55.url + "services/japps/"
    # Opens: each app's page, through the Hub's proxy, as its owner's browser.
    client, _ = _browser(hubapps_55, OWNER)
    try:
        for app in upstream_db.apps:
            page = client.get(svc + f"ui/apps/{OWNER}/{app.server}")
            assert page.status_code == 200, (app.server, page.status_code)
            assert html.escape(app.display_name) in page.text
    finally:
        client.close()
    # Shares: upstream's share (through the Hub's shares) still holds; a new one is made by hubapps.
    shared = httpx.get(svc + "api/apps", headers=_h(friend), params={"access": "shared"}, timeout=30).json()["data"]
    assert ("alice", "panel-dashboard") in {(a["owner"], a["name"]) for a in shared}
    r = httpx.post(svc + "api/apps/alice/env-echo/shares", headers=_h(token), json={"users": [FRIEND]}, timeout=30)
    assert r.status_code == 200, r.text[:300]
    # Edits (on JupyterHub 5.5: with a start) and starts, for real: the custom commands, with
    # upstream's placeholders and lowercase variable names.
    edit = {"description": "edited", "restart": True}
    r = httpx.patch(svc + "api/apps/alice/env-echo", headers=_h(token), json=edit, timeout=60)
    assert r.status_code in (200, 202), r.text[:300]
    r = httpx.post(svc + "api/apps/alice/static-files/start", headers=_h(token), timeout=60)
    assert r.status_code in (200, 202), r.text[:300]
    for server in ("env-echo", "static-files"):
        hubapps_55.wait_ready(OWNER, server)
        hubapps_55.wait_app(OWNER, server, token)
    edited = _hub_options(hubapps_55, "env-echo")
    assert edited["description"] == "edited"
    assert edited["keep_alive"] is True
    dump = httpx.get(hubapps_55.app_url(OWNER, "env-echo"), headers=_h(token), timeout=30).json()
    assert dump["env"]["my_setting"] == "kept lowercase"
    assert dump["env"]["API_LEVEL"] == "2"
    assert dump["argv"][1:] == [dump["argv"][1]]  # the port alone: {-}u went to python3 as -u
    files = httpx.get(hubapps_55.app_url(OWNER, "static-files"), headers=_h(token), timeout=30)
    assert files.status_code == 200
    assert "Directory listing" in files.text
    # Someone it is shared with opens it through the Hub, with their own login.
    viewer = httpx.get(hubapps_55.app_url(OWNER, "env-echo"), headers=_h(friend), timeout=30)
    assert viewer.status_code == 200, viewer.text[:300]
    # The framework apps are accepted as stored, and the spawner's command builder makes their
    # commands from what the Hub holds (a Panel app starts for real on JupyterHub 6 below, where the
    # frameworks are installed; this environment has none).
    registry = FrameworkRegistry.load()
    modules = {"panel": "panel", "bokeh": "bokeh", "streamlit": "streamlit", "plotlydash": "dash_app"}
    modules |= {"voila": "voila", "gradio": "gradio_app.py", "jupyterlab": "jupyterhub-singleuser"}
    for app in upstream_db.apps:
        upstream_framework = app.options.get("framework")
        if upstream_framework == "custom" or app.refused is not None:
            continue
        seen = httpx.get(svc + f"api/apps/alice/{app.server}", headers=_h(token), timeout=30).json()
        assert seen["problem"] is None, seen
        spec = parse_user_options(_hub_options(hubapps_55, app.server))
        argv, _ = build_command(spec, registry.get(spec.framework), LaunchContext(f"/user/alice/{app.server}/"))
        assert any(modules[str(upstream_framework)] in arg for arg in argv), (app.server, argv)
    for server in ("env-echo", "static-files"):
        hubapps_55.stop_app(OWNER, server)


def test_upgrading_to_jupyterhub_6_keeps_the_apps(
    upstream_db: Moved, hubapps_55: Hub, pytestconfig: pytest.Config
) -> None:
    """Step 3: the same database, upgraded by JupyterHub 6's ``upgrade-db``, under hubapps on JupyterHub 6."""
    hubapps_55.stop()
    db_url = f"sqlite:///{upstream_db.root / 'jupyterhub.sqlite'}"
    upgraded = subprocess.run(
        [str(VENV_BIN / "jupyterhub"), "upgrade-db", f"--db={db_url}"],
        cwd=upstream_db.root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
    config = upstream_db.root / "hubapps6_config.py"
    config.write_text(HUBAPPS_CONFIG.format(main=str(CONFIG_FILE), prefix=str(VENV_BIN.parent)))
    hub = Hub(upstream_db.root)
    hub.crypt_key = upstream_db.crypt_key
    pytestconfig.stash[HUB_KEY] = hub
    with hub_from(hub, VENV_BIN, config):
        token = hub.token_for(OWNER)
        listed = _listing(hub, token)
        assert set(listed) == {a.server for a in upstream_db.apps}
        # The admin's check after the move (docs/migrating.md): every user's apps, with their problems.
        everyone = httpx.get(
            hub.url + "services/japps/api/apps",
            headers=_h(hub.token_for("admin")),
            params={"access": "all", "limit": 200},
            timeout=30,
        ).json()["data"]
        seen = {a["name"]: a["problem"] for a in everyone if a["owner"] == OWNER}
        assert {n: p["field"] for n, p in seen.items() if p} == {"empty-path": "filepath", "own-image": "profile_image"}
        problems = {n: a["problem"]["field"] for n, a in listed.items() if a["problem"]}
        assert problems == {"empty-path": "filepath", "own-image": "profile_image"}  # the pipeline was fixed on 5.5
        # On JupyterHub 6 a stopped app is edited without starting it: the fixes the forms offer.
        svc = hub.url + "services/japps/"
        fixes = {"empty-path": {"filepath": "examples/panel_app.py"}, "own-image": {"description": "admin's image"}}
        for server, fix in fixes.items():
            r = httpx.patch(svc + f"api/apps/alice/{server}", headers=_h(token), json=fix, timeout=60)
            assert r.status_code == 200, r.text[:300]
            assert r.json()["problem"] is None
            assert r.json()["state"] == "stopped"
        assert "profile_image" not in _hub_options(hub, "own-image")
        # An edit keeps what it did not change.
        r = httpx.patch(
            svc + "api/apps/alice/dash-board", headers=_h(token), json={"description": "edited"}, timeout=60
        )
        assert r.status_code == 200, r.text[:300]
        edited = _hub_options(hub, "dash-board")
        assert (edited["description"], edited["framework"]) == ("edited", "dash")
        assert edited["env"] == {"dash_debug": "false"}
        assert edited["filepath"] == "examples/dash_app.py"
        assert edited["thumbnail"].startswith("sha256:")
        # A framework app upstream stored (Panel, a Python script) starts for real.
        r = httpx.post(svc + "api/apps/alice/panel-dashboard/start", headers=_h(token), timeout=60)
        assert r.status_code in (200, 202), r.text[:300]
        hub.wait_ready(OWNER, "panel-dashboard")
        hub.wait_app(OWNER, "panel-dashboard", token)
        page = httpx.get(hub.app_url(OWNER, "panel-dashboard"), headers=_h(token), timeout=60, follow_redirects=True)
        assert page.status_code == 200, page.text[:300]
