"""Every built-in framework, for real: the bundled example app is launched through the Hub REST API
with a hubapps spec, then read through configurable-http-proxy like a user's browser or script would;
and another local user (a second real uid) tries to reach each app directly, without its proxy.

All apps start at once (module fixture) so the slow frameworks overlap; each test then checks one.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import pwd
import re
import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import psutil
import pytest
import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg

from hubapps.core.frameworks import Framework, builtin_frameworks
from hubapps.examples import example_spec
from tests.integration.conftest import EXAMPLES_FOLDER, REPO, Hub, get_under_prefix, ws_url

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]  # the first test starts all frameworks at once

OWNER = "frameworks-owner"
FRAMEWORKS = [fw.name for fw in builtin_frameworks()]
#: Seconds to wait for a websocket message.
WS_RECV_TIMEOUT = 20.0


@dataclass(frozen=True)
class LaunchedApp:
    framework: str
    server: str
    prefix: str
    url: str
    token: str
    error: str = ""


@pytest.fixture(scope="module")
def framework_apps(hub: Hub, request: pytest.FixtureRequest) -> Iterator[dict[str, LaunchedApp]]:
    """Launch the example app of every selected framework, in parallel; yield them ready (or with the error)."""
    token = hub.token_for(OWNER)
    selected = [
        fw
        for fw in FRAMEWORKS
        if any(
            getattr(item, "callspec", None) is not None and item.callspec.params.get("framework") == fw
            for item in request.session.items
            if isinstance(item, pytest.Function) and item.module is request.module
        )
    ]

    def launch(framework: str) -> LaunchedApp:
        server = f"fw-{framework}"
        url = hub.app_url(OWNER, server)
        app = LaunchedApp(framework, server, urlsplit(url).path, url, token)
        try:
            hub.create_app(OWNER, server, example_spec(framework, EXAMPLES_FOLDER), token=token)
            if framework != "jupyterlab":  # jupyterhub-singleuser is ready when the Hub says so
                hub.wait_app(OWNER, server, token)
        except AssertionError as exc:
            return LaunchedApp(framework, server, app.prefix, url, token, error=str(exc))
        return app

    with ThreadPoolExecutor(max_workers=len(FRAMEWORKS)) as pool:
        apps = dict(zip(selected, pool.map(launch, selected), strict=True))
    yield apps
    with ThreadPoolExecutor(max_workers=len(FRAMEWORKS)) as pool:
        list(pool.map(lambda app: hub.stop_app(OWNER, app.server, remove=True), apps.values()))


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30.0) as c:
        yield c


def _launched(framework_apps: dict[str, LaunchedApp], framework: str) -> LaunchedApp:
    app = framework_apps[framework]
    if app.error:
        pytest.fail(f"{framework} app did not start:\n{app.error}", pytrace=False)
    return app


def _auth(app: LaunchedApp) -> dict[str, str]:
    return {"Authorization": f"token {app.token}"}


def _page(client: httpx.Client, app: LaunchedApp, path: str = "") -> httpx.Response:
    response = get_under_prefix(client, app.url + path, app.prefix, headers=_auth(app))
    assert response.status_code == 200, (
        f"GET {app.prefix}{path} answered {response.status_code} "
        f"(location {response.headers.get('location')!r}): {response.text[:500]}"
    )
    return response


# -- page checks, one per framework -------------------------------------------------------------


def check_streamlit(client: httpx.Client, app: LaunchedApp) -> None:
    # The HTML shell is static; the app's content arrives over the websocket (test_websocket).
    page = _page(client, app)
    assert '<div id="root">' in page.text
    assert "static/js/index" in page.text
    assert _page(client, app, "_stcore/health").text == "ok"


def check_panel(client: httpx.Client, app: LaunchedApp) -> None:
    page = _page(client, app)
    assert "<title>Panel demo</title>" in page.text
    assert '"token":' in page.text  # a Bokeh session was made for this page view


def check_bokeh(client: httpx.Client, app: LaunchedApp) -> None:
    page = _page(client, app)  # / redirects to the single app's path, under the prefix
    assert str(page.url).endswith(f"{app.prefix}bokeh_app")
    assert "<title>Bokeh demo</title>" in page.text


def check_voila(client: httpx.Client, app: LaunchedApp) -> None:
    page = _page(client, app)
    assert ">Voila demo<" in page.text
    assert f'"baseUrl": "{app.prefix}"' in page.text


def check_gradio(client: httpx.Client, app: LaunchedApp) -> None:
    page = _page(client, app)
    assert "Gradio demo" in page.text
    config = _page(client, app, "config").json()
    assert any(c.get("props", {}).get("value") == "# Gradio demo" for c in config["components"])
    # The browser loads everything from ``root``: it must be the public address, under the prefix.
    public_root = app.url.rstrip("/")
    assert config["root"].rstrip("/") == public_root, f"Gradio's root is {config['root']!r}, not {public_root!r}"


def check_dash(client: httpx.Client, app: LaunchedApp) -> None:
    page = _page(client, app)
    assert "<title>Dash demo</title>" in page.text
    config = re.search(r'<script id="_dash-config" type="application/json">(.*?)</script>', page.text, re.S)
    assert config is not None, "no _dash-config in the page"
    # The browser asks for layout, dependencies and callbacks under this prefix.
    assert json.loads(config.group(1))["requests_pathname_prefix"] == app.prefix
    layout = _page(client, app, "_dash-layout").json()
    assert "Dash demo" in json.dumps(layout)
    update = client.post(
        app.url + "_dash-update-component",
        headers=_auth(app),
        json={
            "output": "square.children",
            "outputs": {"id": "square", "property": "children"},
            "inputs": [{"id": "number", "property": "value", "value": "12"}],
            "changedPropIds": ["number.value"],
        },
    )
    assert update.status_code == 200, update.text[:300]
    assert "The square of 12 is 144" in update.text


def check_fastapi(client: httpx.Client, app: LaunchedApp) -> None:
    assert _page(client, app).json() == {"message": "FastAPI demo"}
    assert _page(client, app, "square/7").json() == {"n": 7, "square": 49}
    # root_path reaches the app: its docs point the browser at the public openapi.json.
    docs = _page(client, app, "docs")
    assert f"'{app.prefix}openapi.json'" in docs.text
    assert _page(client, app, "openapi.json").json()["info"]["title"] == "FastAPI demo"


def check_flask(client: httpx.Client, app: LaunchedApp) -> None:
    page = _page(client, app)
    assert "<h1>Flask demo</h1>" in page.text
    link = re.search(r'href="([^"]+)"', page.text)
    assert link is not None
    assert link.group(1) == f"{app.prefix}square/7"  # url_for knows the prefix (SCRIPT_NAME)
    square = client.get(app.url.rstrip("/").removesuffix(app.prefix.rstrip("/")) + link.group(1), headers=_auth(app))
    assert square.text == "The square of 7 is 49"


def check_command(client: httpx.Client, app: LaunchedApp) -> None:
    page = _page(client, app)
    assert "<h1>Command demo</h1>" in page.text
    missing = client.get(app.url + "no-such-file.txt", headers=_auth(app))
    assert missing.status_code == 404  # answered by http.server itself, path stripped of the prefix
    assert "File not found" in missing.text


def check_jupyterlab(client: httpx.Client, app: LaunchedApp) -> None:
    status = _page(client, app, "api/status").json()
    assert "started" in status
    lab = _page(client, app, "lab")
    assert "jupyter-config-data" in lab.text
    assert f'"baseUrl": "{app.prefix}"' in lab.text


def check_shiny(client: httpx.Client, app: LaunchedApp) -> None:
    page = _page(client, app)
    assert "<title>Shiny demo</title>" in page.text
    assert 'id="number"' in page.text


def check_marimo(client: httpx.Client, app: LaunchedApp) -> None:
    page = _page(client, app)
    assert "<title>marimo demo</title>" in page.text
    assert _page(client, app, "health").json()["status"] == "healthy"
    # Read-only app mode: the notebook's code is not sent to viewers.
    assert "number.value**2" not in page.text


def check_solara(client: httpx.Client, app: LaunchedApp) -> None:
    page = _page(client, app)
    assert "solara" in page.text.lower()
    # The page's assets are asked for under the prefix (root_path reached Solara).
    assert f"{app.prefix}static/" in page.text
    assert _page(client, app, "readyz").status_code == 200


def check_nicegui(client: httpx.Client, app: LaunchedApp) -> None:
    page = _page(client, app)
    assert "<title>NiceGUI demo</title>" in page.text
    assert "NiceGUI demo" in page.text
    assert f'"{app.prefix}_nicegui/' in page.text  # its scripts and socket.io, under the prefix
    assert app.prefix.rstrip("/") + app.prefix not in page.text  # ... once


def check_rshiny(client: httpx.Client, app: LaunchedApp) -> None:
    page = _page(client, app)
    assert "<title>R Shiny demo</title>" in page.text
    assert "shiny-javascript" in page.text


def check_chainlit(client: httpx.Client, app: LaunchedApp) -> None:
    page = _page(client, app)
    assert f'<meta property="og:root_path" content="{app.prefix.rstrip("/")}">' in page.text
    settings = _page(client, app, "project/settings").json()
    assert "ui" in settings


PAGE_CHECKS: dict[str, Callable[[httpx.Client, LaunchedApp], None]] = {
    "streamlit": check_streamlit,
    "panel": check_panel,
    "bokeh": check_bokeh,
    "voila": check_voila,
    "gradio": check_gradio,
    "dash": check_dash,
    "fastapi": check_fastapi,
    "flask": check_flask,
    "shiny": check_shiny,
    "marimo": check_marimo,
    "solara": check_solara,
    "nicegui": check_nicegui,
    "rshiny": check_rshiny,
    "chainlit": check_chainlit,
    "command": check_command,
    "jupyterlab": check_jupyterlab,
}


def test_every_builtin_framework_is_covered() -> None:
    assert set(PAGE_CHECKS) == set(FRAMEWORKS)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_page(framework: str, framework_apps: dict[str, LaunchedApp], client: httpx.Client) -> None:
    PAGE_CHECKS[framework](client, _launched(framework_apps, framework))


# -- websockets through the proxy -----------------------------------------------------------------


def _connect(app: LaunchedApp, path: str, **kwargs: Any) -> Any:
    """Open a websocket through configurable-http-proxy, like a same-origin page with a token."""
    origin = app.url[: -len(app.prefix)]
    return websockets.connect(
        ws_url(app.url + path),
        additional_headers=_auth(app),
        origin=websockets.Origin(origin),
        open_timeout=30,
        **kwargs,
    )


async def _receive(ws: Any, until: Callable[[Any], bool], limit: int = 50) -> Any:
    for _ in range(limit):
        message = await asyncio.wait_for(ws.recv(), WS_RECV_TIMEOUT)
        if until(message):
            return message
    raise AssertionError(f"no matching message in the first {limit}")


async def ws_streamlit(client: httpx.Client, app: LaunchedApp) -> None:
    rerun = BackMsg()
    rerun.rerun_script.query_string = ""
    rerun.rerun_script.page_script_hash = ""
    async with _connect(app, "_stcore/stream", subprotocols=["streamlit"]) as ws:
        assert ws.response.status_code == 101
        await ws.send(rerun.SerializeToString())
        await _receive(ws, lambda m: isinstance(m, bytes) and b"Streamlit demo" in m)


async def _bokeh_session(client: httpx.Client, app: LaunchedApp, page_path: str, ws_path: str) -> None:
    page = _page(client, app, page_path)
    token = re.search(r'"token":"([^"]+)"', page.text)
    assert token is not None, "no Bokeh session token in the page"
    async with _connect(app, ws_path, subprotocols=["bokeh", token.group(1)]) as ws:
        assert ws.response.status_code == 101
        ack = json.loads(await asyncio.wait_for(ws.recv(), WS_RECV_TIMEOUT))
        assert ack["msgtype"] == "ACK"


async def ws_panel(client: httpx.Client, app: LaunchedApp) -> None:
    await _bokeh_session(client, app, "", "ws")


async def ws_bokeh(client: httpx.Client, app: LaunchedApp) -> None:
    await _bokeh_session(client, app, "bokeh_app", "bokeh_app/ws")


async def ws_voila(client: httpx.Client, app: LaunchedApp) -> None:
    page = _page(client, app)
    kernel = re.search(r'"kernelId": "([^"]+)"', page.text)
    assert kernel is not None, "no kernel id in the Voila page"
    async with _connect(app, f"api/kernels/{kernel.group(1)}/channels") as ws:
        assert ws.response.status_code == 101
        await _receive(ws, lambda m: json.loads(m).get("header", {}).get("msg_type") == "status")


async def ws_jupyterlab(client: httpx.Client, app: LaunchedApp) -> None:
    async with _connect(app, "api/events/subscribe") as ws:
        assert ws.response.status_code == 101


async def _shiny_session(app: LaunchedApp, inputs: dict[str, Any]) -> None:
    """Shiny's protocol (Python and R alike): an ``init`` message with the inputs, then the outputs (an output
    the page does not report visible is suspended, so the init says it is)."""
    async with _connect(app, "websocket/") as ws:
        assert ws.response.status_code == 101
        await ws.send(
            json.dumps(
                {
                    "method": "init",
                    "data": {**inputs, ".clientdata_url_search": "", ".clientdata_output_square_hidden": False},
                }
            )
        )
        await _receive(ws, lambda m: "The square of 4 is 16" in str(m))


async def ws_shiny(client: httpx.Client, app: LaunchedApp) -> None:
    await _shiny_session(app, {"number": 4})


async def ws_rshiny(client: httpx.Client, app: LaunchedApp) -> None:
    await _shiny_session(app, {"number": 4})


async def ws_marimo(client: httpx.Client, app: LaunchedApp) -> None:
    async with _connect(app, "ws?session_id=s_hubapps1") as ws:
        assert ws.response.status_code == 101
        await _receive(ws, lambda m: "kernel-ready" in str(m))


async def ws_solara(client: httpx.Client, app: LaunchedApp) -> None:
    async with _connect(app, "jupyter/api/kernels/hubapps-test-kernel/channels?session_id=hubapps-test-page") as ws:
        assert ws.response.status_code == 101
        request = {
            "header": {
                "msg_id": "1",
                "msg_type": "kernel_info_request",
                "session": "hubapps-test-page",
                "username": "",
                "version": "5.3",
                "date": "",
            },
            "parent_header": {},
            "metadata": {},
            "content": {},
            "channel": "shell",
            "buffers": [],
        }
        await ws.send(json.dumps(request))
        await _receive(ws, lambda m: isinstance(m, str) and "kernel_info_reply" in m)


async def _engineio_open(app: LaunchedApp, path: str) -> None:
    """A socket.io (engine.io 4) websocket: the server's first frame is the open packet, ``0{...}``."""
    async with _connect(app, path) as ws:
        assert ws.response.status_code == 101
        first = await asyncio.wait_for(ws.recv(), WS_RECV_TIMEOUT)
        assert isinstance(first, str), first
        assert first.startswith("0{"), first
        assert '"sid"' in first, first


async def ws_nicegui(client: httpx.Client, app: LaunchedApp) -> None:
    await _engineio_open(app, "_nicegui_ws/socket.io/?EIO=4&transport=websocket")


async def ws_chainlit(client: httpx.Client, app: LaunchedApp) -> None:
    await _engineio_open(app, "ws/socket.io/?EIO=4&transport=websocket")


WS_CHECKS = {
    "streamlit": ws_streamlit,
    "panel": ws_panel,
    "bokeh": ws_bokeh,
    "voila": ws_voila,
    "shiny": ws_shiny,
    "marimo": ws_marimo,
    "solara": ws_solara,
    "nicegui": ws_nicegui,
    "rshiny": ws_rshiny,
    "chainlit": ws_chainlit,
    "jupyterlab": ws_jupyterlab,
}


def test_websocket_frameworks_are_covered() -> None:
    assert {fw.name for fw in builtin_frameworks() if fw.websocket} <= set(WS_CHECKS)


@pytest.mark.parametrize("framework", list(WS_CHECKS))
async def test_websocket(framework: str, framework_apps: dict[str, LaunchedApp], client: httpx.Client) -> None:
    await WS_CHECKS[framework](client, _launched(framework_apps, framework))


# -- refused without access -------------------------------------------------------------------------

#: Another Hub user, who was given nothing of the owner's.
STRANGER = "frameworks-stranger"
#: Where each framework's page opens its websocket (or event stream), as test_websocket connects.
LIVE_PATHS = {
    "streamlit": "_stcore/stream",
    "panel": "ws",
    "bokeh": "bokeh_app/ws",
    "voila": "api/kernels/0/channels",
    "shiny": "websocket/",
    "marimo": "ws?session_id=s_hubapps2",
    "solara": "jupyter/api/kernels/k/channels?session_id=p",
    "nicegui": "_nicegui_ws/socket.io/?EIO=4&transport=websocket",
    "rshiny": "websocket/",
    "chainlit": "ws/socket.io/?EIO=4&transport=websocket",
}
PROXIED = [fw.name for fw in builtin_frameworks() if not fw.singleuser]


@pytest.fixture(scope="module")
def stranger_token(hub: Hub) -> str:
    return hub.token_for(STRANGER)


def test_live_paths_cover_every_websocket_framework() -> None:
    assert {fw.name for fw in builtin_frameworks() if fw.websocket and not fw.singleuser} <= set(LIVE_PATHS)


@pytest.mark.parametrize("framework", PROXIED)
async def test_refused_without_access(
    framework: str, framework_apps: dict[str, LaunchedApp], client: httpx.Client, stranger_token: str
) -> None:
    app = _launched(framework_apps, framework)
    anonymous = client.get(app.url, follow_redirects=False)
    assert anonymous.status_code in {302, 401}, anonymous.status_code
    if anonymous.status_code == 302:  # to the Hub's login, never into the app
        assert "/hub/" in anonymous.headers["location"], anonymous.headers["location"]
    stranger = client.get(app.url, headers={"Authorization": f"token {stranger_token}"}, follow_redirects=False)
    assert stranger.status_code in {403, 404}, stranger.status_code
    assert "demo" not in stranger.text.lower()
    if framework not in LIVE_PATHS:
        return
    origin = websockets.Origin(app.url[: -len(app.prefix)])
    for headers in ({}, {"Authorization": f"token {stranger_token}"}):
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(
                ws_url(app.url + LIVE_PATHS[framework]), additional_headers=headers, origin=origin, open_timeout=30
            ):
                pass
        assert refused.value.response.status_code in {401, 403}, (headers.keys(), refused.value.response)


# -- another local user goes around the proxy ------------------------------------------------------

#: A second real uid on the machine: any local user, who may forge the identity header if it reaches the app.
INTRUDER = "hubapps-intruder"
#: The intruder's Python: the system's, which every user can run (the test's own lives under /root).
INTRUDER_PYTHON = "/usr/bin/python3"
#: Run as the intruder: connect to every place the app listens, send a request that claims to be the owner.
INTRUDER_SCRIPT = r"""
import json, socket, sys
path, targets = sys.argv[1], json.loads(sys.argv[2])
results = []
for kind, where in targets:
    try:
        if kind == "unix":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(10)
            sock.connect(where)
        else:
            sock = socket.create_connection(("127.0.0.1", where), timeout=10)
    except OSError as error:
        results.append({"target": where, "errno": error.errno, "error": str(error)})
        continue
    with sock:
        sock.sendall(("GET " + path + " HTTP/1.1\r\nHost: localhost\r\nX-Hubapps-User: frameworks-owner\r\n"
                      "X-Forwarded-User: frameworks-owner\r\nConnection: close\r\n\r\n").encode())
        try:
            answer = sock.recv(200).split(b"\r\n")[0].decode("latin-1")
        except OSError as error:
            answer = "no answer: " + str(error)
    results.append({"target": where, "errno": 0, "answer": answer})
print(json.dumps(results))
"""


def documented_tcp_only() -> set[str]:
    """Frameworks that docs/frameworks.md lists as TCP-only (a row of its table saying so)."""
    text = (REPO / "docs" / "frameworks.md").read_text()
    return set(re.findall(r"^\| `([a-z0-9_-]+)` \|.*\*\*TCP-only\*\*", text, re.M))


def _isolation_param(framework: Framework) -> Any:
    if framework.tcp_only and framework.name in documented_tcp_only():
        reason = f"TCP-only (docs/frameworks.md): {framework.tcp_only}"
        return pytest.param(framework.name, marks=pytest.mark.xfail(strict=True, reason=reason))
    return framework.name


@pytest.fixture(scope="module")
def intruder() -> pwd.struct_passwd:
    """The second local user (created with useradd if absent)."""
    if os.geteuid() != 0:
        pytest.skip("creating a user and switching to it needs root")
    try:
        return pwd.getpwnam(INTRUDER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", INTRUDER], check=True
        )
        return pwd.getpwnam(INTRUDER)


def _server_processes(server: str) -> tuple[psutil.Process, list[psutil.Process]]:
    """The server's top process (the proxy, or jupyterhub-singleuser) and every process under it."""
    found = []
    for proc in psutil.process_iter(["environ"]):
        env = proc.info["environ"] or {}
        if env.get("JUPYTERHUB_USER") == OWNER and env.get("JUPYTERHUB_SERVER_NAME") == server:
            found.append(proc)
    pids = {proc.pid for proc in found}
    parents = {}
    for proc in found:
        with contextlib.suppress(psutil.NoSuchProcess):  # (a process that ended meanwhile)
            parents[proc.pid] = proc.ppid()
    tops = [proc for proc in found if proc.pid in parents and parents[proc.pid] not in pids]
    assert len(tops) == 1, f"expected one server process for {server}, found {tops}"
    return tops[0], [proc for proc in found if proc is not tops[0]]


def _listening(processes: list[psutil.Process]) -> tuple[set[str], set[int]]:
    """Unix socket paths and TCP ports these processes listen on."""
    paths: set[str] = set()
    ports: set[int] = set()
    for proc in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            for conn in proc.net_connections("unix"):
                if isinstance(conn.laddr, str) and conn.laddr.startswith("/"):
                    paths.add(conn.laddr)
            for conn in proc.net_connections("inet"):
                if conn.status == psutil.CONN_LISTEN:
                    ports.add(conn.laddr.port)
    return paths, ports


def _as_intruder(intruder: pwd.struct_passwd, path: str, targets: list[tuple[str, object]]) -> list[dict[str, Any]]:
    done = subprocess.run(
        [INTRUDER_PYTHON, "-I", "-c", INTRUDER_SCRIPT, path, json.dumps(targets)],
        user=intruder.pw_uid,
        group=intruder.pw_gid,
        extra_groups=[],
        cwd="/",
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    results: list[dict[str, Any]] = json.loads(done.stdout)
    return results


#: Where an app may listen: loopback only (the proxy alone is what the Hub's proxy reaches).
LOOPBACK = {"127.0.0.1", "::1"}


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_the_app_listens_on_loopback_only(framework: str, framework_apps: dict[str, LaunchedApp]) -> None:
    """Every TCP socket the server's processes listen on (the proxy, the framework, whatever it started:
    kernels, workers) is bound to loopback, never to every interface, whatever the framework's default."""
    app = _launched(framework_apps, framework)
    top, under = _server_processes(app.server)
    wide = []
    for proc in [top, *under]:
        with contextlib.suppress(psutil.NoSuchProcess):
            for conn in proc.net_connections("inet"):
                if conn.status == psutil.CONN_LISTEN and conn.laddr.ip not in LOOPBACK:
                    wide.append((proc.pid, proc.name(), conn.laddr))
    assert not wide, f"{framework} listens beyond loopback: {wide}"


def test_tcp_only_frameworks_are_documented() -> None:
    assert documented_tcp_only() == {fw.name for fw in builtin_frameworks() if fw.tcp_only}


@pytest.mark.parametrize("framework", [_isolation_param(fw) for fw in builtin_frameworks()])
def test_other_users_cannot_reach_the_app_directly(
    framework: str, framework_apps: dict[str, LaunchedApp], intruder: pwd.struct_passwd, client: httpx.Client
) -> None:
    app = _launched(framework_apps, framework)
    top, under = _server_processes(app.server)
    fw = next(f for f in builtin_frameworks() if f.name == framework)
    if fw.singleuser:
        # jupyterhub-singleuser is reached by configurable-http-proxy directly and checks the Hub itself.
        _, ports = _listening([top])
        results = _as_intruder(intruder, app.prefix + "api/status", [("tcp", port) for port in sorted(ports)])
        assert results, "jupyterhub-singleuser listens somewhere"
        for result in results:
            assert result["errno"] or result["answer"].split()[1] in {"302", "401", "403"}, result
        return
    assert under, "the app runs under its proxy"
    paths, ports = _listening(under)
    targets: list[tuple[str, object]] = [("unix", path) for path in sorted(paths)]
    targets += [("tcp", port) for port in sorted(ports)]
    for result in _as_intruder(intruder, app.prefix, targets):
        assert result["errno"] == errno.EACCES, f"{INTRUDER} reached the app: {result}"
    # No loopback port to go around the proxy with; a socket in a folder only the owner can open instead.
    assert ports == set(), f"the app listens on TCP ports {sorted(ports)}"
    assert paths, "the app listens on a unix socket"
    # ... and the proxy still serves it (test_page checks what it serves).
    assert _page(client, app).status_code == 200
