"""hubapps under JupyterHub's ``subdomain_host``, and the Chromium replay of issue 10's attack.

A Hub of this module's own with ``c.JupyterHub.subdomain_host = "<scheme>://hub.test:<proxy port>"``:
each user's servers are on ``<user>.hub.test``, the launcher on ``japps--service.hub.test`` (JupyterHub's
"idna" ``subdomain_hook``), configurable-http-proxy routes by host. httpx reaches 127.0.0.1 and sends
the host in ``Host``; Chromium maps ``*.hub.test`` to 127.0.0.1 with ``--host-resolver-rules``. Every
test runs twice: over plain http, and over https with a self-signed wildcard certificate made here and
``cookie_host_prefix_enabled`` (``__Host-`` cookies, which only https allows).

The replay: mallory's public app serves a page whose script (``tests/resources/attacker_app.py``) tries
everything the attack of issue 10 did, in the browser of bob, who is logged in to the Hub and the
launcher and opens the app once. ``HUBAPPS_REPLAY_WITHOUT_SUBDOMAINS=1`` runs the same module on a Hub
without ``subdomain_host`` (to see that the replay catches the attack there: it fails).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.conftest import PASSWORD, RESOLVE_TEST_DOMAIN, Hub, chromium, own_hub, wildcard_certificate

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]  # a Hub of its own, and Chromium

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
WITH_SUBDOMAINS = os.environ.get("HUBAPPS_REPLAY_WITHOUT_SUBDOMAINS", "") != "1"
SUBDOMAIN_CONFIG = """\
import os
c = get_config()  # noqa: F821
load_subconfig({main!r})  # noqa: F821
c.HubApps.allow_public_apps = True
origin = "{scheme}://hub.test:" + os.environ["HUBAPPS_TEST_PROXY_PORT"]
"""
if WITH_SUBDOMAINS:
    SUBDOMAIN_CONFIG += "c.JupyterHub.subdomain_host = origin\n"
else:
    SUBDOMAIN_CONFIG += 'c.JupyterHub.public_url = origin + "/"\n'
#: https: CHP serves a self-signed wildcard certificate; cookies can be ``__Host-`` (and are).
TLS_CONFIG = """\
c.JupyterHub.bind_url = c.JupyterHub.bind_url.replace("http://", "https://")
c.JupyterHub.ssl_cert = {cert!r}
c.JupyterHub.ssl_key = {key!r}
c.JupyterHub.cookie_host_prefix_enabled = True
c.HubApps.proxy_ca_file = {cert!r}  # the launcher reads apps' status and logs through the proxy
"""


BOB, MALLORY = "bob", "mallory"


def _tls_hub_class(cert: Path) -> type[Hub]:
    """The harness's Hub, reached over https (trusting the self-signed ``cert``)."""

    class TLSHub(Hub):
        def __init__(self, root: Path) -> None:
            super().__init__(root)
            self.url = f"https://127.0.0.1:{self.proxy_port}/"
            self._client.close()
            self._client = httpx.Client(timeout=30.0, verify=ssl.create_default_context(cafile=cert))

    return TLSHub


class Origins:
    """The public origins of this Hub, and httpx requests to them through 127.0.0.1."""

    def __init__(self, hub: Hub, scheme: str) -> None:
        self.hub = hub
        cert = hub.root / "wildcard.crt"
        self.scheme = scheme
        port = hub.proxy_port
        self.hub_origin = f"{scheme}://hub.test:{port}"
        self.launcher = f"{scheme}://japps--service.hub.test:{port}" if WITH_SUBDOMAINS else self.hub_origin
        verify = ssl.create_default_context(cafile=cert) if scheme == "https" else True
        self.client = httpx.Client(timeout=30.0, verify=verify)

    def user_origin(self, user: str) -> str:
        return f"{self.scheme}://{user}.hub.test:{self.hub.proxy_port}" if WITH_SUBDOMAINS else self.hub_origin

    def public(self, url: str) -> str:
        """A server model's ``url`` as a full URL (it is one already under subdomain_host)."""
        return url if "://" in url else self.hub_origin + url

    def request(self, method: str, url: str, *, token: str | None = None, **kwargs: Any) -> httpx.Response:
        """``url`` on a public origin, sent to 127.0.0.1 with that origin's ``Host``."""
        parts = httpx.URL(url)
        headers = dict(kwargs.pop("headers", {}) or {})
        headers["Host"] = f"{parts.host}:{parts.port}"
        if token:
            headers["Authorization"] = f"token {token}"
        local = parts.copy_with(host="127.0.0.1")
        return self.client.request(method, local, headers=headers, **kwargs)

    def launcher_api(self, method: str, path: str, token: str, **kwargs: Any) -> httpx.Response:
        return self.request(method, f"{self.launcher}/services/japps/api/{path}", token=token, **kwargs)


def _command_spec(name: str, script: str, *, public: bool = False, env: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "spec_version": 1,
        "framework": "command",
        "display_name": name,
        "command": ["{python}", str(RESOURCES / script), "{port}"],
        "public": public,
        "env": env or {},
    }


@pytest.fixture(scope="module", params=["http", "https"])
def scheme(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def sub_hub(tmp_path_factory: pytest.TempPathFactory, scheme: str) -> Iterator[Hub]:
    root = tmp_path_factory.mktemp(f"subdomain-hub-{scheme}")
    config = SUBDOMAIN_CONFIG.replace("{scheme}", scheme)
    with contextlib.ExitStack() as stack:
        with pytest.MonkeyPatch.context() as patch:
            if scheme == "https":
                cert, key = wildcard_certificate(root)
                config += TLS_CONFIG.replace("{cert!r}", repr(str(cert))).replace("{key!r}", repr(str(key)))
                # own_hub makes its Hub with this name, when it starts.
                patch.setattr("tests.integration.conftest.Hub", _tls_hub_class(cert))
            running = stack.enter_context(own_hub(root, config))
        yield running


@pytest.fixture(scope="module")
def origins(sub_hub: Hub, scheme: str) -> Iterator[Origins]:
    found = Origins(sub_hub, scheme)
    yield found
    found.client.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium(RESOLVE_TEST_DOMAIN) as launched:
        yield launched


def _hub_login(browser: Any, origins: Origins, user: str) -> Any:
    """A Chromium context logged in to the Hub (its real login form) as ``user``."""
    origins.hub.ensure_user(user)
    context = browser.new_context(ignore_https_errors=True)
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.goto(f"{origins.hub_origin}/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", PASSWORD)
    page.click("#login_submit")
    page.wait_for_load_state()
    return context


def _wait_app(origins: Origins, user: str, server: str, token: str) -> None:
    url = f"{origins.user_origin(user)}/user/{user}/{server}/_hubapps/status"
    for _ in range(240):
        r = origins.request("GET", url, token=token)
        if r.status_code == 200 and r.json().get("state") == "ready":
            return
        time.sleep(0.5)
    raise AssertionError(f"{user}/{server} never became ready: {r.status_code} {r.text[:300]}")


def _owned(origins: Origins, user: str, token: str) -> set[str]:
    """Names of the apps ``user`` owns, as the launcher lists them."""
    listed = origins.launcher_api("GET", "apps", token).json()["data"]
    return {a["name"] for a in listed if a["owner"] == user}


def _tokens(hub: Hub, user: str) -> dict[str, str]:
    """The user's tokens (API and OAuth) by id, with the note or client they were made for."""
    listed = hub.api("GET", f"users/{user}/tokens").json()["api_tokens"]
    return {t["id"]: f"{t.get('note')} {t.get('oauth_client')}" for t in listed}


@pytest.mark.skipif(not WITH_SUBDOMAINS, reason="the subdomain tests need subdomain_host")
def test_app_launcher_and_status_on_their_own_origins(sub_hub: Hub, origins: Origins, browser: Any) -> None:
    token = sub_hub.token_for(BOB)
    model = sub_hub.create_app(BOB, "echo", _command_spec("echo", "echo_app.py"), token=token)
    # The Hub gives the app's URL on bob's host; that is what the launcher shows.
    assert model["url"] == f"{origins.user_origin(BOB)}/user/{BOB}/echo/"
    _wait_app(origins, BOB, "echo", token)

    # The launcher's API on its own host lists the app with the Hub's URL, and reads its status and
    # logs through the Hub's proxy (CHP routes by host: the request carried bob's host).
    listed = origins.launcher_api("GET", "apps", token)
    assert listed.status_code == 200, listed.text
    urls = {a["id"]: a["url"] for a in listed.json()["data"]}
    assert urls[f"{BOB}/echo"] == model["url"]
    status = origins.launcher_api("GET", f"apps/{BOB}/echo/status", token)
    assert status.status_code == 200, status.text
    assert status.json()["app_state"] == "ready", status.text
    logs = origins.launcher_api("GET", f"apps/{BOB}/echo/logs", token)
    assert logs.status_code == 200, logs.text

    context = _hub_login(browser, origins, BOB)
    try:
        page = context.pages[0]
        # The app on bob's own origin: OAuth login through the Hub, back on bob.hub.test.
        response = page.goto(model["url"] + "whoami")
        assert response is not None
        assert response.status == 200
        assert page.url.startswith(model["url"])
        echoed = json.loads(page.inner_text("body"))
        headers = {str(k).lower(): v for k, v in echoed["headers"]}
        assert headers.get("x-hubapps-user") == BOB, echoed
        # The Hub's home links to the launcher's gallery on the launcher's origin (it cannot fetch it:
        # no CORS); the launcher's pages there work: its gallery page lists the app, the details page
        # shows the Hub's URL of it.
        page.goto(f"{origins.hub_origin}/hub/home")
        assert page.get_attribute("#hubapps-open-gallery", "href") == f"{origins.launcher}/services/japps/"
        page.goto(f"{origins.launcher}/services/japps/")
        page.wait_for_selector("#hubapps-gallery")
        assert page.url.startswith(origins.launcher)
        page.goto(f"{origins.launcher}/services/japps/ui/apps/{BOB}/echo")
        assert page.input_value("#app-url") == model["url"]
        # A websocket from another user's origin to bob's app is refused by the proxy.
        page.goto(f"{origins.user_origin(MALLORY)}/hub/login")  # any page on mallory's host
        opened = page.evaluate(
            """url => new Promise(done => { const w = new WebSocket(url); w.onopen = () => done("open");
                 w.onerror = () => done("refused"); })""",
            model["url"].replace("http", "ws", 1) + "ws",
        )
        assert opened == "refused"
    finally:
        context.close()
    sub_hub.stop_app(BOB, "echo", remove=True)


def test_a_hostile_public_app_takes_nothing_from_its_visitor(sub_hub: Hub, origins: Origins, browser: Any) -> None:
    """Issue 10's attack, replayed in Chromium: nothing of bob's is read or changed, and his next
    launcher action is not made as mallory."""
    bob_token, mallory_token = sub_hub.token_for(BOB), sub_hub.token_for(MALLORY)
    secret_value = "bob-env-" + secrets.token_hex(8)
    created = origins.launcher_api(
        "POST",
        "apps",
        bob_token,
        json={
            "framework": "command",
            "display_name": "secret-app",
            "command": ["{python}", "-m", "http.server", "{port}"],
            "env": {"BOB_NOTE": secret_value},
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "secret-app"

    # mallory logs in to the launcher herself: her own session cookie is what her page tosses.
    mallory = _hub_login(browser, origins, MALLORY)
    mallory.pages[0].goto(f"{origins.launcher}/services/japps/oauth_login?next=/services/japps/api/user")
    mallory_cookie = next(c["value"] for c in mallory.cookies() if c["name"].endswith("service-japps"))
    mallory.close()
    loot_file = sub_hub.home(MALLORY) / "loot.jsonl"
    # Deployed through the launcher, like any public app (it is then in the public directory too).
    spec = _command_spec(
        "pretty",
        "attacker_app.py",
        public=True,
        env={"LOOT_FILE": str(loot_file), "TOSS_COOKIE": mallory_cookie, "VICTIM": BOB},
    )
    fields = {k: v for k, v in spec.items() if k != "spec_version"}
    deployed = origins.launcher_api("POST", "apps", mallory_token, json={**fields, "start": True})
    assert deployed.status_code == 201, deployed.text
    model = sub_hub.wait_ready(MALLORY, "pretty")
    _wait_app(origins, MALLORY, "pretty", mallory_token)
    # The public directory gives mallory's app at her host (JupyterHub's subdomain_hook), as the Hub does.
    public = origins.launcher_api("GET", "apps", bob_token, params={"access": "public"}).json()["data"]
    assert [a["url"] for a in public if a["id"] == f"{MALLORY}/pretty"] == [model["url"]]

    bob = _hub_login(browser, origins, BOB)
    try:
        page = bob.pages[0]
        page.goto(
            f"{origins.launcher}/services/japps/oauth_login?next=/services/japps/api/user"
        )  # bob logs in to the launcher
        assert BOB in page.inner_text("body")
        page.goto(f"{origins.launcher}/services/japps/create-app")
        xsrf = page.get_attribute("body", "data-xsrf")
        assert xsrf
        tokens_before = _tokens(sub_hub, BOB)
        if origins.scheme == "https" and WITH_SUBDOMAINS:
            names = {c["name"] for c in bob.cookies()}
            assert {"__Host-service-japps", "__Host-jupyterhub-hub-login"} <= names, names

        page.goto(origins.public(model["url"]))  # bob opens mallory's app, once
        page.wait_for_function("document.title === 'done'", timeout=60_000)
        loot = loot_file.read_text()

        # Every breach is noted, so that a failure lists all of what the attack achieved.
        breaches: list[str] = []
        if secret_value in loot:
            breaches.append("the page read bob's env value")
        answers = [step["value"] for line in loot.splitlines() for step in json.loads(line)]
        if any(f'"id":"{BOB}/secret-app"' in answer for answer in answers):
            breaches.append("the page read bob's app list")
        new_tokens = {k: v for k, v in _tokens(sub_hub, BOB).items() if k not in tokens_before}
        if new_tokens:
            breaches.append(f"new tokens for bob: {new_tokens}")
        shares = sub_hub.api("GET", f"shares/{BOB}/secret-app").json()
        if [s for s in shares["items"] if (s.get("user") or {}).get("name") == MALLORY]:
            breaches.append("bob's private app was shared with mallory")
        if _owned(origins, BOB, bob_token) != {"secret-app"}:
            breaches.append(f"apps created in bob's account: {_owned(origins, BOB, bob_token) - {'secret-app'}}")

        # bob's next launcher action, in the same browser (tossed cookies and all), is not mallory's:
        # it is bob's, or (plain-http subdomains: two cookies of one name) refused.
        opened = page.goto(f"{origins.launcher}/services/japps/create-app")
        xsrf = page.get_attribute("body", "data-xsrf") or xsrf
        if opened is not None and opened.status == 400:
            status, text = opened.status, opened.text()  # refused as carrying two login cookies
        else:
            status, text = page.evaluate(
                """async ([url, xsrf]) => { const r = await fetch(url, { method: "POST", credentials: "same-origin",
                     headers: { "Content-Type": "application/json", "X-XSRFToken": xsrf },
                     body: JSON.stringify({ framework: "command", display_name: "next-app",
                                            command: ["{python}", "-m", "http.server", "{port}"] }) });
                     return [r.status, await r.text()]; }""",
                [f"{origins.launcher}/services/japps/api/apps", xsrf],
            )
        mallory_apps = _owned(origins, MALLORY, mallory_token)
        if mallory_apps != {"pretty"}:
            breaches.append(f"bob's next launcher action made apps in mallory's account: {mallory_apps - {'pretty'}}")
        bob_apps = _owned(origins, BOB, bob_token)
        if status not in (201, 400) or bob_apps != ({"secret-app", "next-app"} if status == 201 else {"secret-app"}):
            breaches.append(f"bob's next launcher action: {status} {text[:200]}, bob's apps {bob_apps}")
        if origins.scheme == "https" and WITH_SUBDOMAINS and status != 201:
            # __Host- cookies: the tossed ones are refused by the browser or ignored by the launcher.
            breaches.append(f"bob's next launcher action did not happen as bob: {status} {text[:200]}")
        assert not breaches, "the attack achieved:\n  " + "\n  ".join(breaches) + "\nloot: " + loot[:2000]
    finally:
        bob.close()
        sub_hub.stop_app(MALLORY, "pretty", remove=True)
