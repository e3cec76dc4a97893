"""Fixtures of the integration tests: a real JupyterHub behind configurable-http-proxy, and real apps.

One Hub runs for the whole session (``jupyterhub -f tests/integration/jupyterhub_config.py``), with
configurable-http-proxy from ``node_modules``, the hubapps launcher service and
``SimpleLocalProcessSpawner`` wrapped by ``hubapps.install``. Everything listens on free 127.0.0.1
ports and lives in a pytest temporary folder; the Hub's output goes to ``hub.log`` there, and its tail
is added to the report of every failing test.

Fixtures
--------
- ``hub`` (session): the running :class:`Hub`: URLs, admin API access and the helpers below.
  Its teardown stops every server through the API, then the Hub (SIGTERM), then SIGKILLs whatever
  is left, and fails the session if any process survived the graceful shutdown.
  ``Hub.restart()`` stops the Hub process alone and starts it again on the same ports and state (the
  fault tests, on a Hub of their own: servers outlive it with ``cleanup_servers = False``).
- ``hub_url`` (session): public URL of the Hub (through configurable-http-proxy), with a trailing slash.
- ``api`` (session): ``api(method, path, token=None, json=None)`` → ``httpx.Response`` for
  ``/hub/api/<path>``; the test admin service's token by default.
- ``token_for`` (session): ``token_for(username, scopes=None)`` → a new API token of that user
  (the user is created, and the example apps copied to their home, on first use).
- ``login`` (function): ``login(username, password=PASSWORD)`` → an ``httpx.Client`` logged in to the
  Hub through its real login form (``_xsrf`` included); closed at the end of the test.
- ``create_app`` (function): ``create_app(user, server, user_options)`` → server model, once the
  Hub says the server is ready; every app it created is stopped and deleted at the end of the test.
- ``stop_app`` (session): ``stop_app(user, server)``, waits until the server has stopped.
- ``postgres`` (session): a real PostgreSQL server (:class:`tests.integration.postgres.PostgresServer`,
  Debian's package) on a free 127.0.0.1 port; ``postgres.database(name)`` → the URL of a new database.

Plain helpers: :func:`free_ports`, :func:`get_under_prefix`, :func:`ws_url`, :func:`browser_visit`,
:func:`login_to_service`, :data:`PASSWORD`, :data:`HUB_VERSION` and :data:`HUB_6` (the Hub under test:
``make test`` runs the modules marked ``hub_facing`` on JupyterHub 5.5 as well, from ``.venv-jh55``).

Hub URL shapes: ``Hub(root, base_url="/jhub/", subdomains=True, tls=True)`` (also through
:func:`own_hub` and :func:`session_hub`) runs the Hub under another ``base_url``, under
``subdomain_host`` on :data:`TEST_DOMAIN`, over https with :func:`wildcard_certificate`. Its URLs:
``hub.url``, ``hub.launcher_url``, ``hub.gallery_url``, ``hub.app_url(user, server)``,
``hub.user_origin(user)``, ``hub.service_origin(name)``; ``hub.request(...)`` and ``hub.client()`` reach
every one of them (:class:`LoopbackTransport`), Chromium with :data:`RESOLVE_TEST_DOMAIN`.
"""

from __future__ import annotations

import contextlib
import html
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urljoin, urlsplit

import httpx
import jupyterhub
import psutil
import pytest
from jupyterhub.utils import subdomain_hook_idna

from hubapps.examples import example_path
from tests import certificates

if TYPE_CHECKING:
    from tests.integration.postgres import PostgresServer

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
CONFIG_FILE = Path(__file__).with_name("jupyterhub_config.py")
CHP = REPO / "node_modules" / ".bin" / "configurable-http-proxy"

#: The version of the JupyterHub under test (``make test`` runs the ``hub_facing`` tests on 5.5 too).
HUB_VERSION: tuple[int, int] = (int(jupyterhub.version_info[0]), int(jupyterhub.version_info[1]))
#: JupyterHub 6: ``PUT`` creates a stopped server, ``PATCH`` edits one, a POST body nests ``user_options``.
HUB_6 = HUB_VERSION >= (6, 0)

#: DummyAuthenticator's password for every test user.
PASSWORD = "integration-password"
#: Folder (relative to each user's home) where the bundled example apps are copied.
EXAMPLES_FOLDER = "examples"
#: Seconds to wait for the Hub to answer after it was started.
HUB_START_TIMEOUT = 60.0
#: Seconds to wait for a server to be ready (the Hub's view), and for the app behind the proxy.
SERVER_READY_TIMEOUT = 180.0
#: Seconds to wait for a server to stop.
SERVER_STOP_TIMEOUT = 60.0
#: Seconds the Hub gets to shut down (it stops every server first) before leftovers are killed.
HUB_STOP_TIMEOUT = 60.0
#: Lines of the Hub log shown with a failing test.
LOG_TAIL_LINES = 80

HUB_KEY = pytest.StashKey["Hub"]()

__all__ = [
    "EXAMPLES_FOLDER",
    "HUB_6",
    "HUB_VERSION",
    "PASSWORD",
    "RESOLVE_TEST_DOMAIN",
    "TEST_DOMAIN",
    "Hub",
    "LoopbackTransport",
    "free_ports",
    "get_under_prefix",
    "own_hub",
    "run_cli",
    "session_hub",
    "wildcard_certificate",
    "ws_url",
]


def free_ports(count: int) -> list[int]:
    """``count`` distinct TCP ports that were free on 127.0.0.1 a moment ago."""
    with ExitStack() as stack:
        socks = [stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]


#: The domain of Hubs with ``subdomain_host`` (``<scheme>://hub.test:<proxy port>``): users' servers are on
#: ``<user>.hub.test``, the launcher on ``japps--service.hub.test`` (JupyterHub's "idna" ``subdomain_hook``).
#: Nothing resolves it: httpx requests go to 127.0.0.1 (:class:`LoopbackTransport`), Chromium maps it
#: with :data:`RESOLVE_TEST_DOMAIN`.
TEST_DOMAIN = "hub.test"
#: Chromium's flag that resolves the test domain to loopback (no ``/etc/hosts`` entry needed).
RESOLVE_TEST_DOMAIN = f"--host-resolver-rules=MAP *.{TEST_DOMAIN} 127.0.0.1, MAP {TEST_DOMAIN} 127.0.0.1"


class LoopbackTransport(httpx.BaseTransport):
    """httpx's transport, sending requests for :data:`TEST_DOMAIN` and its subdomains to 127.0.0.1 with
    the public host left in ``Host`` (configurable-http-proxy routes by it). Cookies and redirects keep
    the public URL: only the connection changes."""

    def __init__(self, **kwargs: Any) -> None:
        self._inner = httpx.HTTPTransport(**kwargs)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        if host == TEST_DOMAIN or host.endswith("." + TEST_DOMAIN):
            request = httpx.Request(
                request.method,
                request.url.copy_with(host="127.0.0.1"),
                headers=request.headers,  # Host: the public one, set from the original URL
                stream=request.stream,
                extensions=request.extensions,
            )
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


def wildcard_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for :data:`TEST_DOMAIN`, its subdomains and 127.0.0.1, and its key."""
    return certificates.wildcard_certificate(folder, TEST_DOMAIN)


#: Debian's Chromium and the flags every test browser runs with (Playwright's own download does not work here).
CHROMIUM = os.environ.get("HUBAPPS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@contextlib.contextmanager
def chromium(*extra_args: str) -> Iterator[Any]:
    """Headless Chromium driven by Playwright, with :data:`CHROMIUM_ARGS` and ``extra_args``."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make system-deps` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *extra_args])
        try:
            yield launched
        finally:
            launched.close()


def ws_url(http_url: str) -> str:
    return "ws" + http_url[len("http") :] if http_url.startswith("http") else http_url


def run_cli(hub: Hub, token: str, *argv: str) -> subprocess.CompletedProcess[str]:
    """``hubapps <argv>`` against the test Hub with ``token``; fails the test if the token is printed."""
    env = {**os.environ, "JUPYTERHUB_URL": hub.url, "JUPYTERHUB_API_TOKEN": token}
    result = subprocess.run(
        [sys.executable, "-m", "hubapps.cli", *argv], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert token not in result.stdout + result.stderr
    return result


def get_under_prefix(
    client: httpx.Client, url: str, prefix: str, *, max_redirects: int = 5, **kwargs: Any
) -> httpx.Response:
    """GET ``url``, following redirects only while they stay under the path ``prefix``.

    A redirect that leaves the prefix (to the Hub's login, say) is returned as is, so the caller's
    assertion shows where the app tried to send the user.
    """
    response = client.get(url, follow_redirects=False, **kwargs)
    for _ in range(max_redirects):
        if not response.is_redirect:
            break
        target = urljoin(str(response.url), response.headers["location"])
        if urlsplit(target).netloc != urlsplit(url).netloc or not urlsplit(target).path.startswith(prefix):
            break
        response = client.get(target, follow_redirects=False, **kwargs)
    return response


def browser_visit(browser: httpx.Client, url: str) -> httpx.Response:
    """GET ``url`` like a browser: follow the OAuth dance, approving the Hub's confirm page if shown."""
    response = browser.get(url, headers={"Accept": "text/html"}, follow_redirects=False)
    for _ in range(8):
        if response.is_redirect:
            response = browser.get(response.headers["location"], follow_redirects=False)
        elif response.status_code == 200 and "/hub/api/oauth2/authorize" in str(response.url):
            fields = re.findall(r'<input type="hidden" name="(_xsrf|scopes)" value="([^"]*)"', response.text)
            data: dict[str, list[str]] = {}
            for name, value in fields:
                data.setdefault(name, []).append(html.unescape(value))
            response = browser.post(str(response.url), data=data, follow_redirects=False)
        else:
            break
    return response


def login_to_service(client: httpx.Client, svc: str) -> str:
    """OAuth login of a Hub-logged-in client to the launcher service at ``svc``; returns its XSRF token."""
    r = client.get(svc + "oauth_login", params={"next": "/services/japps/api/user"}, follow_redirects=False)
    for _ in range(6):
        assert r.is_redirect, r.text[:300]
        target = urljoin(str(r.url), r.headers["location"])
        r = client.get(target, follow_redirects=False)
        if urlsplit(target).path.endswith("/oauth_callback"):
            assert r.status_code == 302, r.text[:300]
            xsrf = client.cookies.get("_xsrf", path=urlsplit(svc).path or "/")
            assert xsrf, "the launcher set no _xsrf cookie at login"
            return xsrf
    raise AssertionError("the Hub never sent the browser back to the service")


def _process_has_marker(proc: psutil.Process, marker: str) -> bool:
    try:
        return proc.environ().get("HUBAPPS_TEST_MARKER") == marker
    except (psutil.Error, OSError):
        return False


class HubError(AssertionError):
    """The Hub or a server did not do what the test needed (message includes the Hub log tail)."""


class Hub:
    """A running JupyterHub subprocess, and helpers that talk to it like users and admins do."""

    def __init__(self, root: Path, *, base_url: str = "/", subdomains: bool = False, tls: bool = False) -> None:
        """``base_url``: the Hub's ``c.JupyterHub.base_url``; ``subdomains``: ``c.JupyterHub.subdomain_host``
        is ``<scheme>://hub.test:<proxy port>`` (:data:`TEST_DOMAIN`); ``tls``: the proxy serves https with
        a self-signed :func:`wildcard_certificate` (made in ``root``), which the harness, the launcher
        service (``c.HubApps.proxy_ca_file``) and the test browser trust."""
        if not (base_url.startswith("/") and base_url.endswith("/")):
            raise ValueError(f"base_url must start and end with '/': {base_url!r}")
        self.root = root
        self.proxy_port, self.proxy_api_port, self.hub_port, self.service_port = free_ports(4)
        self.base_url = base_url
        self.scheme = "https" if tls else "http"
        #: The proxy's certificate and key (tls), else None.
        self.tls_files = wildcard_certificate(root) if tls else None
        #: ``c.JupyterHub.subdomain_host``, or "" (everything on the Hub's origin).
        self.subdomain_host = f"{self.scheme}://{TEST_DOMAIN}:{self.proxy_port}" if subdomains else ""
        #: The Hub's public URL, base_url included, with a trailing slash.
        self.url = (self.subdomain_host or f"{self.scheme}://127.0.0.1:{self.proxy_port}") + base_url
        #: The launcher's public URL (``…/services/japps/``): on a host of its own under subdomain_host.
        self.launcher_url = self.service_origin("japps") + base_url + "services/japps/"
        #: The app gallery: the Hub's home page; under subdomain_host the launcher's own page (the Hub's
        #: page, on another origin, cannot fetch it).
        self.gallery_url = self.launcher_url if subdomains else self.url + "hub/home"
        self.admin_token = secrets.token_hex(32)
        self.marker = secrets.token_hex(8)
        #: The Hub's JUPYTERHUB_CRYPT_KEY: a new key first, then a rotated-out one (both open secrets).
        self.crypt_key = f"{secrets.token_hex(32)};{secrets.token_hex(32)}"
        #: CONFIGPROXY_AUTH_TOKEN, kept across restarts (a proxy that outlives the Hub still knows it).
        self.proxy_auth_token = secrets.token_hex(32)
        self.log_path = root / "hub.log"
        self.homes = root / "home"
        self.process: subprocess.Popen[bytes] | None = None
        #: The configuration file of the first start, used again by :meth:`restart`.
        self.config_file: Path | None = None
        self._users: set[str] = set()
        self._client = self.client()
        self._known_processes: dict[int, psutil.Process] = {}

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self) -> None:
        if not CHP.exists():
            raise HubError(f"{CHP} is missing: run `npm install --no-audit --no-fund` in {REPO}")
        env = {
            **os.environ,
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "HUBAPPS_TEST_DIR": str(self.root),
            "HUBAPPS_TEST_PROXY_PORT": str(self.proxy_port),
            "HUBAPPS_TEST_PROXY_API_PORT": str(self.proxy_api_port),
            "HUBAPPS_TEST_HUB_PORT": str(self.hub_port),
            "HUBAPPS_TEST_SERVICE_PORT": str(self.service_port),
            "HUBAPPS_TEST_CHP": str(CHP),
            "HUBAPPS_TEST_PASSWORD": PASSWORD,
            "HUBAPPS_TEST_ADMIN_TOKEN": self.admin_token,
            "HUBAPPS_TEST_MARKER": self.marker,
            "CONFIGPROXY_AUTH_TOKEN": self.proxy_auth_token,
            "JUPYTERHUB_CRYPT_KEY": self.crypt_key,
        }
        if self.base_url != "/":
            env["HUBAPPS_TEST_BASE_URL"] = self.base_url
        if self.subdomain_host:
            env["HUBAPPS_TEST_SUBDOMAIN_HOST"] = self.subdomain_host
        if self.tls_files is not None:
            env["HUBAPPS_TEST_SSL_CERT"], env["HUBAPPS_TEST_SSL_KEY"] = map(str, self.tls_files)
        env.pop("JUPYTERHUB_API_TOKEN", None)
        if self.config_file is None:
            self.config_file = CONFIG_FILE
        self.homes.mkdir(exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(VENV_BIN / "jupyterhub"), "-f", str(self.config_file)],
                cwd=self.root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + HUB_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise HubError(f"jupyterhub exited with {self.process.returncode}\n{self.log_tail()}")
            try:
                if self._client.get(self.url + "hub/api/", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        raise HubError(f"JupyterHub did not answer within {HUB_START_TIMEOUT:g} s\n{self.log_tail()}")

    def restart(self, *, sig: signal.Signals = signal.SIGTERM) -> None:
        """Stop the Hub process alone (``sig``: SIGTERM is a clean shutdown) and start it again on the
        same ports, database, secrets and folder, as an admin's restart does. Servers, and a proxy the
        Hub did not start, are left as the configuration says (``cleanup_servers``, ``cleanup_proxy``);
        the processes seen so far are remembered, so the teardown still finds them."""
        if self.process is None:
            raise HubError("the Hub was never started")
        self.remember_processes()
        self.process.send_signal(sig)
        try:
            self.process.wait(HUB_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise HubError(f"jupyterhub ignored {sig.name} for {HUB_STOP_TIMEOUT:g} s\n{self.log_tail()}") from None
        self.start()

    def remember_processes(self) -> None:
        """Note the Hub's descendants now, so teardown can find them even if they are orphaned later."""
        if self.process is None:
            return
        try:
            for child in psutil.Process(self.process.pid).children(recursive=True):
                self._known_processes.setdefault(child.pid, child)
        except psutil.Error:
            pass

    def leftover_processes(self) -> list[psutil.Process]:
        """Processes of this Hub still alive: known descendants, and anything carrying the run's marker."""
        found: dict[int, psutil.Process] = {}
        for proc in self._known_processes.values():
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                found[proc.pid] = proc
        for proc in psutil.process_iter():
            if proc.pid not in found and proc.pid != os.getpid() and _process_has_marker(proc, self.marker):
                found[proc.pid] = proc
        if self.process is not None and self.process.poll() is None:
            found.setdefault(self.process.pid, psutil.Process(self.process.pid))
        return list(found.values())

    def stop(self) -> list[str]:
        """Stop servers, then the Hub, then kill leftovers. Returns descriptions of processes that lingered."""
        lingering: list[str] = []
        try:
            if self.process is not None and self.process.poll() is None:
                self.remember_processes()
                try:
                    self.stop_all_servers()
                except (httpx.HTTPError, HubError) as exc:
                    lingering.append(f"stopping servers through the API failed: {exc}")
                self.remember_processes()
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(HUB_STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    lingering.append(f"jupyterhub (pid {self.process.pid}) ignored SIGTERM for {HUB_STOP_TIMEOUT:g} s")
            # Give children that got SIGTERM from their parents a moment to exit.
            deadline = time.monotonic() + 10
            leftovers = self.leftover_processes()
            while leftovers and time.monotonic() < deadline:
                time.sleep(0.2)
                leftovers = self.leftover_processes()
            for proc in leftovers:
                try:
                    lingering.append(f"pid {proc.pid}: {' '.join(proc.cmdline())[:200]}")
                    proc.kill()
                except psutil.Error:
                    pass
            psutil.wait_procs(leftovers, timeout=10)
        finally:
            if self.process is not None and self.process.poll() is None:
                self.process.kill()
            if self.process is not None:
                self.process.wait()
            self._client.close()
        return lingering

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no hub log)"
        return "\n".join(text.splitlines()[-lines:])

    # -- URLs -------------------------------------------------------------------------------------

    def _origin(self, name: str, kind: str) -> str:
        if not self.subdomain_host:
            return self.url[: -len(self.base_url)]
        return f"{self.scheme}://{subdomain_hook_idna(name, TEST_DOMAIN, kind)}:{self.proxy_port}"

    def user_origin(self, username: str) -> str:
        """Where the user's servers are: their own host under subdomain_host, else the Hub's origin."""
        return self._origin(username, "user")

    def service_origin(self, name: str) -> str:
        """Where a Hub service is: a host of its own under subdomain_host, else the Hub's origin."""
        return self._origin(name, "service")

    def request(self, method: str, url: str, *, token: str | None = None, **kwargs: Any) -> httpx.Response:
        """A request to any public URL of this Hub (its test-domain hosts included), with ``token``."""
        headers = dict(kwargs.pop("headers", None) or {})
        if token:
            headers["Authorization"] = f"token {token}"
        return self._client.request(method, url, headers=headers, **kwargs)

    def client(self, **kwargs: Any) -> httpx.Client:
        """A new ``httpx.Client`` that reaches this Hub's public URLs (the caller closes it)."""
        kwargs.setdefault("timeout", 30.0)
        verify: ssl.SSLContext | bool = True
        if self.tls_files is not None:
            verify = ssl.create_default_context(cafile=self.tls_files[0])
        return httpx.Client(transport=LoopbackTransport(verify=verify), **kwargs)

    # -- REST API ---------------------------------------------------------------------------------

    def api(
        self, method: str, path: str, *, token: str | None = None, json: Any = None, **kwargs: Any
    ) -> httpx.Response:
        """Call ``/hub/api/<path>`` through the public proxy (the admin service's token by default)."""
        headers = {"Authorization": f"token {token or self.admin_token}"}
        return self._client.request(
            method, self.url + "hub/api/" + path.lstrip("/"), headers=headers, json=json, **kwargs
        )

    def home(self, username: str) -> Path:
        return self.homes / username

    def ensure_user(self, username: str) -> None:
        """Create the user (if needed) and copy the example apps into their home."""
        if username in self._users:
            return
        response = self.api("POST", f"users/{quote(username, safe='')}")
        if response.status_code not in (201, 409):
            raise HubError(f"creating user {username!r}: {response.status_code} {response.text}")
        home = self.home(username)
        home.mkdir(parents=True, exist_ok=True)
        shutil.copytree(
            example_path(), home / EXAMPLES_FOLDER, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__")
        )
        self._users.add(username)

    def token_for(self, username: str, scopes: list[str] | None = None) -> str:
        """A new token of ``username`` (all of the user's permissions unless ``scopes`` narrows them)."""
        self.ensure_user(username)
        body: dict[str, Any] = {"note": "integration test", "expires_in": 3600}
        if scopes is not None:
            body["scopes"] = scopes
        response = self.api("POST", f"users/{quote(username, safe='')}/tokens", json=body)
        if response.status_code != 201:
            raise HubError(f"token for {username!r}: {response.status_code} {response.text}")
        token = response.json()["token"]
        assert isinstance(token, str)
        return token

    def login(self, username: str, password: str = PASSWORD) -> httpx.Client:
        """An ``httpx.Client`` logged in through the Hub's login form. The caller closes it."""
        self.ensure_user(username)
        client = self.client(base_url=self.url)
        try:
            page = client.get("hub/login")
            page.raise_for_status()
            xsrf = client.cookies.get("_xsrf")
            assert xsrf, f"the login page set no _xsrf cookie: {page.headers}"
            assert f'name="_xsrf" value="{xsrf}"' in page.text, "the login form carries no _xsrf field"
            response = client.post(
                f"hub/login?next={self.base_url}hub/home",
                data={"username": username, "password": password, "_xsrf": xsrf},
            )
            if response.status_code != 302:
                raise HubError(f"login as {username!r} answered {response.status_code}")
            return client
        except BaseException:
            client.close()
            raise

    # -- servers ----------------------------------------------------------------------------------

    def server_model(self, username: str, server: str) -> dict[str, Any] | None:
        """The server's model from the user model (None when it is not running or pending)."""
        response = self.api("GET", f"users/{quote(username, safe='')}")
        response.raise_for_status()
        servers: dict[str, dict[str, Any]] = response.json().get("servers", {})
        return servers.get(server)

    def start_app(
        self, username: str, server: str, user_options: dict[str, Any], *, token: str | None = None
    ) -> httpx.Response:
        """``POST /hub/api/users/<user>/servers/<server>``; no waiting. The body is JupyterHub 6's
        (options nested under ``user_options``), or on JupyterHub 5 the options themselves."""
        self.ensure_user(username)
        return self.api(
            "POST",
            f"users/{quote(username, safe='')}/servers/{quote(server, safe='')}",
            token=token,
            json={"user_options": user_options} if HUB_6 else user_options,
            timeout=60.0,
        )

    def wait_ready(self, username: str, server: str, timeout: float = SERVER_READY_TIMEOUT) -> dict[str, Any]:
        """Wait for the Hub to report the server ready; fail (with the Hub log) if it stops instead."""
        deadline = time.monotonic() + timeout
        model: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            model = self.server_model(username, server)
            if model is None:
                raise HubError(f"server {username}/{server} is not running (its start failed)\n{self.log_tail()}")
            if model.get("ready"):
                self.remember_processes()
                return model
            time.sleep(0.5)
        raise HubError(f"server {username}/{server} not ready after {timeout:g} s: {model}\n{self.log_tail()}")

    def create_app(
        self, username: str, server: str, user_options: dict[str, Any], *, token: str | None = None
    ) -> dict[str, Any]:
        """Start an app and wait until the Hub reports it ready; returns the server model."""
        response = self.start_app(username, server, user_options, token=token)
        if response.status_code not in (201, 202):
            raise HubError(f"starting {username}/{server}: {response.status_code} {response.text}\n{self.log_tail()}")
        return self.wait_ready(username, server)

    def app_url(self, username: str, server: str) -> str:
        return f"{self.user_origin(username)}{self.base_url}user/{quote(username, safe='')}/{quote(server, safe='')}/"

    def wait_app(self, username: str, server: str, token: str, timeout: float = SERVER_READY_TIMEOUT) -> dict[str, Any]:
        """Wait until the app behind ``hubapps-proxy`` answers its ready check (``_hubapps/status``)."""
        url = self.app_url(username, server) + "_hubapps/status"
        deadline = time.monotonic() + timeout
        status: Any = None
        while time.monotonic() < deadline:
            response = self._client.get(url, headers={"Authorization": f"token {token}"})
            if response.status_code == 200:
                status = response.json()
                if status.get("state") == "ready":
                    self.remember_processes()
                    return dict(status)
                if status.get("state") == "failed":
                    break
            else:
                status = f"{response.status_code} {response.text[:300]}"
            time.sleep(0.5)
        logs = self._client.get(
            self.app_url(username, server) + "_hubapps/logs", headers={"Authorization": f"token {token}"}
        )
        lines = logs.json().get("lines", []) if logs.status_code == 200 else [logs.text[:500]]
        raise HubError(f"app {username}/{server} is not ready: {status}\napp output:\n" + "\n".join(lines[-40:]))

    def stop_app(self, username: str, server: str, *, remove: bool = False) -> None:
        """Stop a server (and delete it with ``remove``), waiting until it has stopped."""
        path = f"users/{quote(username, safe='')}/servers/{quote(server, safe='')}"
        response = self.api("DELETE", path, json={"remove": True} if remove else None, timeout=60.0)
        if response.status_code not in (202, 204, 404):
            raise HubError(f"stopping {username}/{server}: {response.status_code} {response.text}")
        deadline = time.monotonic() + SERVER_STOP_TIMEOUT
        while time.monotonic() < deadline:
            if self.server_model(username, server) is None:
                return
            time.sleep(0.3)
        raise HubError(f"server {username}/{server} did not stop within {SERVER_STOP_TIMEOUT:g} s\n{self.log_tail()}")

    def stop_if_started(self, username: str, server: str) -> None:
        """Bring a just-created app to where JupyterHub 6 leaves it: stopped. JupyterHub 5 creates a
        server by starting it, so there the start is awaited and the server stopped; a stopped one is
        left alone."""
        if self.server_model(username, server) is not None:
            self.wait_ready(username, server)
            self.stop_app(username, server)

    def stop_all_servers(self) -> None:
        response = self.api("GET", "users")
        response.raise_for_status()
        running = [(u["name"], name) for u in response.json() for name in (u.get("servers") or {})]
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda us: self.stop_app(*us), running))


# -- pytest wiring --------------------------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report: pytest.TestReport = yield
    hub = item.config.stash.get(HUB_KEY, None)
    if report.failed and hub is not None and item.get_closest_marker("integration") is not None:
        report.sections.append((f"hub log (last {LOG_TAIL_LINES} lines of {hub.log_path})", hub.log_tail()))
    return report


@contextlib.contextmanager
def own_hub(
    root: Path, config_text: str, *, before_start: Callable[[Hub], None] | None = None, **hub_options: Any
) -> Iterator[Hub]:
    """A Hub of a module's own: ``config_text`` is a JupyterHub config with ``{main}`` where the shared
    configuration's path goes (it loads it, then changes what the module needs); ``hub_options`` go to
    :class:`Hub` (``base_url``, ``subdomains``, ``tls``). Stopped afterwards, and the module fails if any of its
    processes survive. ``before_start(hub)`` runs once its ports are chosen, before it starts (to start a
    proxy of the module's own, say)."""
    config = root / "own_config.py"
    config.write_text(config_text.format(main=str(CONFIG_FILE)))
    running = Hub(root, **hub_options)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(f"{__name__}.CONFIG_FILE", config)  # Hub.start reads it; the rest is the shared harness
        try:
            if before_start is not None:
                before_start(running)
            running.start()
        except BaseException:
            running.stop()
            raise
    try:
        yield running
    finally:
        lingering = running.stop()
        if lingering:
            pytest.fail("processes survived the module's Hub:\n  " + "\n  ".join(lingering), pytrace=False)


@contextlib.contextmanager
def session_hub(root: Path, pytestconfig: pytest.Config, **hub_options: Any) -> Iterator[Hub]:
    """The Hub of a test session (its log goes with every failing test): the ``hub`` fixture's, and
    the browser suite's (in the URL shape it runs under)."""
    running = Hub(root, **hub_options)
    pytestconfig.stash[HUB_KEY] = running
    try:
        running.start()
        yield running
    finally:
        lingering = running.stop()
        if pytestconfig.stash.get(HUB_KEY, None) is running:
            del pytestconfig.stash[HUB_KEY]
        if lingering:
            pytest.fail(
                "processes survived the Hub's shutdown (killed now):\n  " + "\n  ".join(lingering), pytrace=False
            )


@pytest.fixture(scope="session")
def hub(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Iterator[Hub]:
    with session_hub(tmp_path_factory.mktemp("hub"), pytestconfig) as running:
        yield running


@pytest.fixture(scope="session")
def hub_url(hub: Hub) -> str:
    return hub.url


@pytest.fixture(scope="session")
def api(hub: Hub) -> Callable[..., httpx.Response]:
    return hub.api


@pytest.fixture(scope="session")
def token_for(hub: Hub) -> Callable[..., str]:
    return hub.token_for


@pytest.fixture
def login(hub: Hub) -> Iterator[Callable[..., httpx.Client]]:
    clients: list[httpx.Client] = []

    def _login(username: str, password: str = PASSWORD) -> httpx.Client:
        client = hub.login(username, password)
        clients.append(client)
        return client

    yield _login
    for client in clients:
        client.close()


@pytest.fixture
def create_app(hub: Hub) -> Iterator[Callable[..., dict[str, Any]]]:
    created: list[tuple[str, str]] = []

    def _create(username: str, server: str, user_options: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        created.append((username, server))
        return hub.create_app(username, server, user_options, **kwargs)

    yield _create
    for username, server in created:
        hub.stop_app(username, server, remove=True)


@pytest.fixture(scope="session")
def stop_app(hub: Hub) -> Callable[..., None]:
    return hub.stop_app


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    from tests.integration.postgres import PostgresServer  # (here: that module imports this one)

    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()
