"""``hubapps demo``: a local JupyterHub with the launcher and one example app per framework.

Everything lives under one state folder (config, database, secrets, users' homes), the Hub and
its proxy listen on 127.0.0.1 only, and users log in with a fixed demo password. The example apps
are startup apps (``c.HubApps.startup_apps`` in the config it writes): the launcher makes them when
it starts, and a second run finds them made (nothing duplicated, started again or reset).
"""

from __future__ import annotations

import os
import pprint
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from hubapps.examples import EXAMPLES, example_path, example_spec

__all__ = ["DemoSettings", "run_demo", "write_config"]

DEMO_USER = "demo"
DEMO_PASSWORD = "demo"  # noqa: S105 - a local demo on 127.0.0.1, printed to the user on purpose
ADMIN_USER = "admin"
#: Example apps started right away (the rest are created stopped, a click away).
STARTED_EXAMPLES = ("streamlit", "panel")

_CONFIG = """\
# Written by `hubapps demo`. A local, single-machine Hub: do not expose it.
import hubapps

c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {port}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.JupyterHub.db_url = {db_url!r}
c.JupyterHub.cookie_secret_file = {cookie_secret!r}
c.JupyterHub.pid_file = {pid_file!r}
c.ConfigurableHTTPProxy.command = [{chp!r}]
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api_port}"
c.ConfigurableHTTPProxy.pid_file = {proxy_pid!r}
c.ConfigurableHTTPProxy.auth_token = {proxy_token!r}
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = {password!r}
c.Authenticator.allow_all = True
c.Authenticator.admin_users = {{{admin!r}}}
# The demo user exists from the Hub's start, so the launcher can make its example apps at once.
c.Authenticator.allowed_users = {{{demo!r}}}
c.SimpleLocalProcessSpawner.home_dir_template = {home!r} + "/{{username}}"
c.Spawner.environment = {{"PATH": {path!r}}}
c.Spawner.start_timeout = 300
c.Spawner.http_timeout = 300
# Encrypts apps' secret variables (read by install() below, which passes it to the launcher).
c.CryptKeeper.keys = [{crypt_key!r}]
# Public apps and sharing stay off: this Hub serves every app on its own origin (no subdomain_host).
# To try them anyway, add allow_public_apps=True, allow_sharing=True, grant_user_sharing=True (the
# Hub's log then says what that risks; see docs/security.md, "Origin isolation").
hubapps.install(c, spawner_class="simple", service_port={service_port})
# The example apps, made by the launcher with its own rights when it starts (see docs/configuration.md,
# startup_apps); those marked "start" are started once, when made.
c.HubApps.startup_apps = {startup_apps}
"""


#: The demo's other ports, as offsets from its public one (8000 → 8001, 8081, 10202), so that
#: ``hubapps demo --port 9000`` moves all of them and two demos run side by side.
PORT_OFFSETS = {"proxy_api_port": 1, "hub_port": 81, "service_port": 2202}


class DemoSettings:
    def __init__(self, state: Path, chp: str, port: int = 8000) -> None:
        if not 1024 <= port <= 65535 - max(PORT_OFFSETS.values()):
            raise ValueError(f"--port must be between 1024 and {65535 - max(PORT_OFFSETS.values())}, not {port}")
        self.state = state.resolve()
        self.chp = chp
        self.port = port
        self.proxy_api_port = port + PORT_OFFSETS["proxy_api_port"]
        self.hub_port = port + PORT_OFFSETS["hub_port"]
        self.service_port = port + PORT_OFFSETS["service_port"]

    @property
    def ports(self) -> dict[str, int]:
        return {
            "port": self.port,
            "proxy_api_port": self.proxy_api_port,
            "hub_port": self.hub_port,
            "service_port": self.service_port,
        }

    def busy_ports(self) -> list[int]:
        """Ports of this demo that something on 127.0.0.1 already listens on."""
        busy = []
        for port in self.ports.values():
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    busy.append(port)
        return busy

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _secret(path: Path, nbytes: int = 32) -> str:
    if not path.exists():
        path.write_text(secrets.token_hex(nbytes))
        path.chmod(0o600)
    return path.read_text().strip()


def startup_apps() -> list[dict[str, Any]]:
    """The demo's example apps as startup apps (our format): one per framework, of the demo user."""
    apps = []
    for framework in EXAMPLES:
        spec = {k: v for k, v in example_spec(framework, "examples").items() if k not in ("spec_version", "jhub_app")}
        apps.append({"owner": DEMO_USER, "server": f"{framework}-demo", **spec, "start": framework in STARTED_EXAMPLES})
    return apps


def _copy_examples(home: Path) -> None:
    """The example files into the demo user's home, once (a second run keeps the user's changes)."""
    examples = home / DEMO_USER / "examples"
    if not examples.exists():
        shutil.copytree(example_path(), examples, ignore=shutil.ignore_patterns("__pycache__", "__init__.py"))


def write_config(settings: DemoSettings) -> Path:
    """Write the Hub config into the state folder (and the example files into the demo user's home);
    return the config's path."""
    state = settings.state
    (state / "home").mkdir(parents=True, exist_ok=True)
    _copy_examples(state / "home")
    cookie_secret = state / "jupyterhub_cookie_secret"
    if not cookie_secret.exists():
        cookie_secret.write_bytes(secrets.token_bytes(32).hex().encode())
        cookie_secret.chmod(0o600)
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "/usr/bin:/bin")])
    config = _CONFIG.format(
        port=settings.port,
        hub_port=settings.hub_port,
        proxy_api_port=settings.proxy_api_port,
        service_port=settings.service_port,
        db_url=f"sqlite:///{state / 'jupyterhub.sqlite'}",
        cookie_secret=str(cookie_secret),
        pid_file=str(state / "jupyterhub.pid"),
        proxy_pid=str(state / "proxy.pid"),
        proxy_token=_secret(state / "proxy_token"),
        chp=settings.chp,
        password=DEMO_PASSWORD,
        admin=ADMIN_USER,
        home=str(state / "home"),
        path=path,
        crypt_key=_secret(state / "crypt_key"),
        demo=DEMO_USER,
        startup_apps=pprint.pformat(startup_apps(), width=110, sort_dicts=False),
    )
    config_file = state / "jupyterhub_config.py"
    config_file.write_text(config)
    return config_file


def _wait_for_hub(client: httpx.Client, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"JupyterHub exited with code {proc.returncode}; see the log above")
        try:
            if client.get("/hub/api/").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise SystemExit("JupyterHub did not come up in time")


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)


def run_demo(settings: DemoSettings) -> int:
    """Start the demo Hub in the foreground; Ctrl-C or SIGTERM stops it and every app it started."""
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    config_file = write_config(settings)
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    # Its own session: Ctrl-C reaches only this command, which then stops the Hub exactly once (a Hub
    # signalled twice abandons stopping its apps).
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterhub", "-f", str(config_file)],
        cwd=settings.state,
        env=env,
        start_new_session=True,
    )
    try:
        with httpx.Client(base_url=settings.url, timeout=30) as client:
            _wait_for_hub(client, proc)
        names = [app["server"] for app in startup_apps()]
        lines = [
            "",
            "hubapps demo is running.",
            f"  Open   {settings.url}/hub/login",
            f"  Log in as user '{DEMO_USER}' with password '{DEMO_PASSWORD}' (or '{ADMIN_USER}', same password).",
            f"  Example apps of '{DEMO_USER}' (made by the launcher as it starts; Streamlit and Panel start the "
            "first time, the others from the home page; the admin's page 'Startup apps' shows them):",
            *(f"    {settings.url}/user/{DEMO_USER}/{name}/" for name in names),
            f"  Launcher API docs: {settings.url}/services/japps/api/docs",
            "  Public apps and sharing are off (they need c.JupyterHub.subdomain_host; see docs/security.md).",
            "  Stop with Ctrl-C.",
            "",
        ]
        print("\n".join(lines), flush=True)
        return proc.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        _stop_hub(proc)


def _stop_hub(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the Hub and give it time to stop every app it started."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
