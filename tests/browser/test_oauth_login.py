"""Real OAuth login (issue 15, requirement 5): the Hub's ``GenericOAuthenticator`` against a real OpenID
Connect provider on loopback, and the launcher used end to end in Chromium with groups from its claims.

The provider is django-oauth-toolkit in a small Django project (``tests/resources/oidc_provider``):
Django's own login form, django-oauth-toolkit's consent page, PKCE, RS256-signed ID tokens, userinfo
with a ``groups`` claim. The Hub (one for the module) uses the provider's endpoints (checked against its
discovery document), maps ``preferred_username`` to the user name and the ``groups`` claim to Hub groups
(``manage_groups``), and lets in only members of ``hub-users`` (``allowed_groups``). The provider's
database is migrated while the Hub starts.

In Chromium, Ada signs in at the provider, consents, lands in the Hub (groups from the claims, a verified
ID token in her auth state), deploys an app from the launcher shared with ``data-science`` (a group that
exists only because the provider said so), and the app sees her provider groups. Grace, in that group at the
provider, finds the app in her gallery and opens it (JupyterHub alone would refuse her there: its tokens
leave group shares out, which ``hubapps.hub.group_shares`` mends). Linus, signed in but not in the group,
is refused it; Mallory, not in ``hub-users``, is refused at login.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.browser.conftest import SCREENSHOTS, URL_SHAPE, new_page
from tests.integration.conftest import Hub, free_ports, own_hub

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    # Its Hub is its own, at the root URL, in every run of the suite: once is enough (the root run).
    pytest.mark.skipif(URL_SHAPE != "root", reason="runs in the root-URL run of the browser suite"),
]

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
PROVIDER_DIR = RESOURCES / "oidc_provider"
#: Seconds to wait for the provider's first answer after ``runserver``.
PROVIDER_START_TIMEOUT = 60.0
APP_TIMEOUT_MS = 45_000

CLIENT_ID = "jupyterhub"
CLIENT_SECRET = secrets.token_urlsafe(32)
LOGIN_SERVICE = "Test OIDC <provider>"  # shown on the Hub's login button, escaped
SHARED_GROUP = "data-science"
ALLOWED_GROUP = "hub-users"
DISPLAY_NAME = "Team <echo> & 'co'"


@dataclass(frozen=True)
class Person:
    username: str
    groups: tuple[str, ...]
    password: str = "provider-password"

    @property
    def email(self) -> str:
        return f"{self.username}@example.org"


ADA = Person("ada", (ALLOWED_GROUP, SHARED_GROUP))
GRACE = Person("grace", (ALLOWED_GROUP, SHARED_GROUP, "compilers"))
LINUS = Person("linus", (ALLOWED_GROUP, "kernel"))
MALLORY = Person("mallory", ("kernel",))
PEOPLE = (ADA, GRACE, LINUS, MALLORY)


#: The provider's endpoints the Hub is configured with (django-oauth-toolkit's own paths under ``/o/``);
#: the test checks them against the provider's discovery document.
ENDPOINTS = {
    "authorization_endpoint": "o/authorize/",
    "token_endpoint": "o/token/",
    "userinfo_endpoint": "o/userinfo/",
}


class Provider:
    """The test provider: ``manage.py migrate`` runs from construction (while the Hub starts), and
    :meth:`start` serves it once the Hub's callback URL is known."""

    def __init__(self, state: Path) -> None:
        self.state = state
        (self.port,) = free_ports(1)
        self.url = f"http://127.0.0.1:{self.port}/"
        self.env = {**os.environ, "OIDC_PROVIDER_STATE": str(state), "PYTHONDONTWRITEBYTECODE": "1"}
        self.env.pop("DJANGO_SETTINGS_MODULE", None)
        #: The provider's discovery document (``/o/.well-known/openid-configuration``), once started.
        self.discovery: dict[str, Any] = {}
        self.log_path = state / "provider.log"
        self.server: subprocess.Popen[bytes] | None = None
        self.migrate = self._popen("migrate", "--noinput", "--verbosity", "0")

    def _popen(self, *argv: str) -> subprocess.Popen[bytes]:
        with self.log_path.open("ab") as log:
            return subprocess.Popen(
                [sys.executable, "manage.py", *argv],
                cwd=PROVIDER_DIR,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def manage(self, *argv: str) -> None:
        """``manage.py <argv>``, waited for; fails the test with the provider's log if it fails."""
        process = self._popen(*argv)
        assert process.wait(120) == 0, f"manage.py {' '.join(argv)} failed:\n{self.log_tail()}"

    def start(self) -> None:
        assert self.migrate.wait(120) == 0, f"manage.py migrate failed:\n{self.log_tail()}"
        self.server = self._popen("runserver", f"127.0.0.1:{self.port}", "--noreload", "--skip-checks")
        deadline = time.monotonic() + PROVIDER_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                raise AssertionError(f"the provider exited:\n{self.log_tail()}")
            try:
                response = httpx.get(self.url + "o/.well-known/openid-configuration", timeout=2)
                if response.status_code == 200:
                    self.discovery = response.json()
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"the provider did not answer:\n{self.log_tail()}")

    def stop(self) -> None:
        for process in (self.migrate, self.server):
            if process is None or process.poll() is not None:
                continue
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    """django-oauth-toolkit on a free 127.0.0.1 port, its SQLite database in a temporary folder
    (migrated now, served by :func:`oauth_hub` once the Hub runs)."""
    state = tmp_path_factory.mktemp("oidc-provider")
    (state / "secret_key").write_text(secrets.token_urlsafe(50))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (state / "oidc_rsa.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    running = Provider(state)
    try:
        yield running
    finally:
        running.stop()


def hub_config(provider_url: str) -> str:
    """The module's Hub: the shared test configuration, with GenericOAuthenticator instead of the
    shared password. ``{main}`` is filled in by :func:`own_hub`."""
    settings = f"""
import os

c.JupyterHub.authenticator_class = "oauthenticator.generic.GenericOAuthenticator"
c.GenericOAuthenticator.login_service = {LOGIN_SERVICE!r}
c.GenericOAuthenticator.client_id = {CLIENT_ID!r}
c.GenericOAuthenticator.client_secret = {CLIENT_SECRET!r}
c.GenericOAuthenticator.oauth_callback_url = (
    "http://127.0.0.1:" + os.environ["HUBAPPS_TEST_PROXY_PORT"] + "/hub/oauth_callback"
)
c.GenericOAuthenticator.authorize_url = {provider_url + ENDPOINTS["authorization_endpoint"]!r}
c.GenericOAuthenticator.token_url = {provider_url + ENDPOINTS["token_endpoint"]!r}
c.GenericOAuthenticator.userdata_url = {provider_url + ENDPOINTS["userinfo_endpoint"]!r}
c.GenericOAuthenticator.scope = ["openid", "profile", "email", "groups"]
c.GenericOAuthenticator.username_claim = "preferred_username"
c.GenericOAuthenticator.manage_groups = True
c.GenericOAuthenticator.auth_state_groups_key = "oauth_user.groups"
c.GenericOAuthenticator.allow_all = False
c.GenericOAuthenticator.allowed_groups = {{{ALLOWED_GROUP!r}}}
c.GenericOAuthenticator.enable_auth_state = True  # the Hub has JUPYTERHUB_CRYPT_KEY
"""
    # own_hub fills in {main} with str.format: the settings' own braces are doubled.
    return "c = get_config()  # noqa: F821\nload_subconfig({main!r})  # noqa: F821\n" + settings.replace(
        "{", "{{"
    ).replace("}", "}}")


@pytest.fixture(scope="module")
def oauth_hub(tmp_path_factory: pytest.TempPathFactory, provider: Provider) -> Iterator[Hub]:
    with own_hub(tmp_path_factory.mktemp("oauth-hub"), hub_config(provider.url)) as running:
        provider.start()
        # The Hub was configured with the endpoints the provider itself publishes.
        assert {name: provider.discovery[name] for name in ENDPOINTS} == {
            name: provider.url + path for name, path in ENDPOINTS.items()
        }
        # The provider learns the Hub's callback once the Hub has its port; nobody has signed in yet.
        spec = provider.state / "seed.json"
        spec.write_text(
            json.dumps(
                {
                    "users": [
                        {"username": p.username, "password": p.password, "email": p.email, "groups": list(p.groups)}
                        for p in PEOPLE
                    ],
                    "client": {
                        "name": "JupyterHub <test>",
                        "client_id": CLIENT_ID,
                        "client_secret": CLIENT_SECRET,
                        "redirect_uri": running.url + "hub/oauth_callback",
                    },
                }
            )
        )
        provider.manage("seed_oidc", str(spec))
        for person in PEOPLE:
            # Users come from the provider (not the Hub's API); the test spawner wants their home folder.
            running.home(person.username).mkdir(parents=True, exist_ok=True)
        yield running


def _sign_in_at_provider(page: Any, hub: Hub, provider: Provider, person: Person) -> None:
    """From the Hub's login page, through the provider's login form and consent page, back to the Hub."""
    page.goto(hub.url + "hub/home")
    page.wait_for_url(re.compile(r".*/hub/login.*"))
    button = page.get_by_role("button", name=f"Sign in with {LOGIN_SERVICE}")
    button.click()
    page.wait_for_url(provider.url + "accounts/login/**")
    page.fill("#id_username", person.username)
    page.fill("#id_password", person.password)
    page.click("#provider-login")
    page.wait_for_url(provider.url + "o/authorize/**")
    consent = page.locator("#authorizationForm")
    assert "The groups you belong to" in consent.inner_text()
    consent.locator("input[name=allow]").click()


def oauth_login(browser: Any, hub: Hub, provider: Provider, person: Person) -> Any:
    """A Chromium page of ``person`` logged in to the Hub through the provider, on the Hub's home page."""
    page = new_page(browser)
    try:
        _sign_in_at_provider(page, hub, provider, person)
        page.wait_for_url(hub.url + "hub/home**")
        page.wait_for_selector("#hubapps-gallery")
    except Exception:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"failed-oauth-{person.username}.png"))
        page.context.close()
        raise
    return page


def _server_of(hub: Hub, user: str, display_name: str) -> str:
    response = hub.api("GET", f"users/{quote(user, safe='')}", params={"include_stopped_servers": "1"})
    for name, model in response.json()["servers"].items():
        if (model.get("user_options") or {}).get("display_name") == display_name or model.get(
            "display_name"
        ) == display_name:
            return str(name)
    raise AssertionError(f"{user} has no app {display_name!r}")


def _echoed_headers(page: Any) -> dict[str, str]:
    """The request headers the echo app saw, from its JSON page (names lower-cased)."""
    answer = json.loads(page.locator("body").inner_text())
    return {name.lower(): value for name, value in answer["headers"]}


def _open_app(page: Any, url: str) -> None:
    """Open someone's app: through the Hub's one-time authorization of their server, to the app's
    answer or the proxy's refusal."""
    page.goto(url)
    page.wait_for_load_state()
    # The Hub asks once for someone else's server (or refuses with its 403 page, no form).
    if "/hub/api/oauth2/authorize" in page.url and page.locator("form [type=submit]").count():
        page.locator("form [type=submit]").first.click()
    page.wait_for_function(
        '() => document.body && /"path"|No access|403|404/.test(document.body.innerText)', timeout=APP_TIMEOUT_MS
    )


def _shot_on_failure(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"failed-oauth-{name}.png"))


@pytest.fixture(scope="module")
def signed_in(browser: Any, oauth_hub: Hub, provider: Provider) -> Iterator[dict[str, Any]]:
    """``signed_in[username]`` → a Chromium page of that person, signed in through the provider on
    first use (each in a browser context of their own)."""

    class Pages(dict[str, Any]):
        def __missing__(self, username: str) -> Any:
            (person,) = [p for p in PEOPLE if p.username == username]
            page = oauth_login(browser, oauth_hub, provider, person)
            self[username] = page
            return page

    pages = Pages()
    yield pages
    for page in pages.values():
        assert page.dialogs == [], f"a dialog fired: {page.dialogs}"
        page.context.close()


@pytest.fixture(scope="module")
def shared_app(signed_in: dict[str, Any], oauth_hub: Hub) -> Iterator[str]:
    """Ada's app, deployed from the launcher's form and shared with the provider's group; its server name."""
    hub = oauth_hub
    ada = signed_in["ada"]
    ada.goto(hub.url + "services/japps/create-app")
    ada.fill("#display_name", DISPLAY_NAME)
    ada.select_option("#framework", "command")
    ada.fill("#command", f"{{python}} {RESOURCES / 'echo_app.py'} {{port}}")
    ada.fill("#share_groups", SHARED_GROUP)
    ada.click("#submit")
    ada.wait_for_url(re.compile(r".*/ui/apps/.*"))
    server = _server_of(hub, "ada", DISPLAY_NAME)
    try:
        try:
            ada.wait_for_url(re.compile(r".*/user/ada/.*"), timeout=APP_TIMEOUT_MS)  # opened once it runs
            ada.get_by_text('"path"').first.wait_for(timeout=APP_TIMEOUT_MS)
        except Exception:
            _shot_on_failure(ada, "deploy")
            raise
        yield server
    finally:
        hub.stop_app("ada", server, remove=True)


@pytest.mark.timeout(120)  # the provider and the Hub start in this test's setup
def test_login_through_the_provider_brings_the_groups_of_its_claims(
    signed_in: dict[str, Any], oauth_hub: Hub, provider: Provider
) -> None:
    signed_in["ada"]  # Hub login page → provider's login form → consent → the Hub's home
    model = oauth_hub.api("GET", "users/ada").json()
    assert model["name"] == "ada"
    assert sorted(model["groups"]) == sorted(ADA.groups)
    assert "ada" in oauth_hub.api("GET", f"groups/{SHARED_GROUP}").json()["users"]
    # What the Hub kept (auth_state, encrypted): the userinfo answer, and the provider's ID token, signed
    # with its key (RS256, checked against its JWKS) and carrying the same groups.
    auth_state = model["auth_state"]
    assert sorted(auth_state["oauth_user"]["groups"]) == sorted(ADA.groups)
    id_token = auth_state["id_token"]
    key = jwt.PyJWKClient(provider.discovery["jwks_uri"]).get_signing_key_from_jwt(id_token).key
    claims = jwt.decode(id_token, key, algorithms=["RS256"], audience=CLIENT_ID, issuer=provider.discovery["issuer"])
    assert claims["preferred_username"] == "ada"
    assert sorted(claims["groups"]) == sorted(ADA.groups)


def test_the_launcher_shares_an_app_with_a_group_of_the_claims(
    signed_in: dict[str, Any], oauth_hub: Hub, shared_app: str
) -> None:
    ada = signed_in["ada"]
    # The app answers the owner, and learns her groups from the provider.
    _open_app(ada, oauth_hub.app_url("ada", shared_app))
    seen = _echoed_headers(ada)
    assert seen["x-hubapps-user"] == "ada"
    assert sorted(seen["x-hubapps-groups"].split(",")) == sorted(ADA.groups)
    shares = oauth_hub.api("GET", f"shares/ada/{shared_app}").json()["items"]
    assert [s["group"]["name"] for s in shares if s.get("group")] == [SHARED_GROUP]
    assert [s for s in shares if s.get("user")] == []
    # The form suggests her groups from the provider when she edits the sharing.
    ada.goto(f"{oauth_hub.url}services/japps/ui/apps/ada/{shared_app}/edit")
    assert ada.input_value("#share_groups") == SHARED_GROUP
    offered = ada.locator("#hubapps-groups option").evaluate_all("options => options.map(o => o.value)")
    assert SHARED_GROUP in offered


def test_a_member_of_the_providers_group_sees_the_shared_app(
    signed_in: dict[str, Any], oauth_hub: Hub, shared_app: str
) -> None:
    grace = signed_in["grace"]
    assert sorted(oauth_hub.api("GET", "users/grace").json()["groups"]) == sorted(GRACE.groups)
    assert sorted(oauth_hub.api("GET", f"groups/{SHARED_GROUP}").json()["users"]) == ["ada", "grace"]
    card = grace.locator(".hubapps-app", has=grace.locator(".hubapps-name", has_text=DISPLAY_NAME))
    assert card.count() == 1
    assert "shared" in card.inner_text()


def test_a_member_of_the_providers_group_opens_the_shared_app(
    signed_in: dict[str, Any], oauth_hub: Hub, shared_app: str
) -> None:
    grace = signed_in["grace"]
    _open_app(grace, oauth_hub.app_url("ada", shared_app))
    assert '"path"' in grace.locator("body").inner_text(), grace.locator("body").inner_text()[:300]
    seen = _echoed_headers(grace)
    assert seen["x-hubapps-user"] == "grace"
    assert sorted(seen["x-hubapps-groups"].split(",")) == sorted(GRACE.groups)


def test_someone_outside_the_group_cannot_open_it(signed_in: dict[str, Any], oauth_hub: Hub, shared_app: str) -> None:
    linus = signed_in["linus"]
    assert sorted(oauth_hub.api("GET", "users/linus").json()["groups"]) == sorted(LINUS.groups)
    assert DISPLAY_NAME not in linus.locator("#hubapps-gallery").inner_text()
    _open_app(linus, oauth_hub.app_url("ada", shared_app))
    body = linus.locator("body").inner_text()
    assert "403" in body  # the Hub refuses to authorize him for Ada's server
    assert '"path"' not in body


def test_someone_outside_the_allowed_groups_cannot_log_in(browser: Any, oauth_hub: Hub, provider: Provider) -> None:
    page = new_page(browser)
    try:
        with page.expect_response(lambda r: "/hub/oauth_callback" in r.url) as callback:
            _sign_in_at_provider(page, oauth_hub, provider, MALLORY)
        assert callback.value.status == 403
        assert oauth_hub.api("GET", "users/mallory").status_code == 404
    finally:
        page.context.close()
