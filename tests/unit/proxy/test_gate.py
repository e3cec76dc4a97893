"""The auth gate on its own: request heads in, viewers or answers out, against the fake Hub.

No proxy server runs here: :class:`HubAuthGate` is driven with :class:`Request` objects, the way the
server calls it (``authenticate_now`` first, ``authenticate`` when it says :data:`PENDING`).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
from collections.abc import Callable
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest

from hubapps.proxy import auth
from hubapps.proxy.auth import PENDING, HubAuthGate, Viewer
from hubapps.proxy.config import HubSettings
from hubapps.proxy.cookies import CookieSigner
from hubapps.proxy.hub_client import HubAPI, HubReply
from hubapps.proxy.wire import HTTPAnswer, Request, Response
from tests.unit.proxy.fakehub import FakeHub

PREFIX = "/user/alice/my-app/"
CLIENT_ID = "jupyterhub-user-alice-my-app"
STATE_COOKIE = CLIENT_ID + "-oauth-state"
HTML = ("Accept", "text/html,application/xhtml+xml")

MakeGate = Callable[..., HubAuthGate]


def hub_settings(api_base: str, **extra: object) -> HubSettings:
    values: dict[str, object] = {
        "api_url": api_base + "/hub/api",
        "api_token": "server-token",
        "client_id": CLIENT_ID,
        "oauth_callback_url": PREFIX + "oauth_callback",
        "access_scopes": frozenset({"access:servers!server=alice/my-app", "access:servers!user=alice"}),
        "user": "alice",
        "server_name": "my-app",
        "activity_url": api_base + "/hub/api/users/alice/activity",
    }
    values.update(extra)
    return HubSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
def make_gate(fake_hub: FakeHub) -> MakeGate:
    def make(
        *, api_base: str = "", prefix: str = PREFIX, cache_max_age: int = 60, timeout: float = 5, **hub: object
    ) -> HubAuthGate:
        settings = hub_settings(api_base or fake_hub.url, **hub)
        return HubAuthGate(settings, prefix, cache_max_age=cache_max_age, timeout=timeout)

    return make


def request(path: str = "", *headers: tuple[str, str], method: str = "GET", target: str = "") -> Request:
    return Request(method, (target or PREFIX + path).encode("latin-1"), list(headers))


def bearer(token: str) -> tuple[str, str]:
    return ("Authorization", f"token {token}")


def answer_of(raised: pytest.ExceptionInfo[HTTPAnswer]) -> Response:
    return raised.value.response


def set_cookies(response: Response) -> dict[str, dict[str, str]]:
    """Set-Cookie headers as name → {"value": ..., attribute (lower case): value or ""}."""
    cookies: dict[str, dict[str, str]] = {}
    for name, header in response.headers:
        if name.lower() == "set-cookie":
            first, *attributes = header.split("; ")
            key, _, value = first.partition("=")
            cookies[key] = {"value": value} | {a.partition("=")[0].lower(): a.partition("=")[2] for a in attributes}
    return cookies


def cookie_header(**cookies: str) -> tuple[str, str]:
    return ("Cookie", "; ".join(f"{k}={v}" for k, v in cookies.items()))


async def login(gate: HubAuthGate, path: str = "page?q=1", *headers: tuple[str, str]) -> tuple[str, str, Response]:
    """Start a login from a browser page: (state, state cookie name, redirect)."""
    redirect = gate.login_redirect(request(path, HTML, *headers))
    state = parse_qs(urlsplit(redirect.header("Location")).query)["state"][0]
    (name,) = [n for n in set_cookies(redirect) if n.startswith(gate.state_cookie_name)]
    return state, name, redirect


def state_cookie(redirect: Response, name: str) -> tuple[str, str]:
    """The Cookie header a browser sends back after ``redirect`` set state cookie ``name``."""
    return cookie_header(**{name: set_cookies(redirect)[name]["value"]})


async def callback(gate: HubAuthGate, state: str, *headers: tuple[str, str], code: str = "good-code") -> Response:
    return await gate.oauth_callback(request(f"oauth_callback?code={code}&state={state}", *headers))


# -- tokens and the cache ----------------------------------------------------------------------------


async def test_token_is_looked_up_once_then_decided_from_memory(make_gate: MakeGate, fake_hub: FakeHub) -> None:
    gate = make_gate()
    req = request("api", bearer("alice-token"))
    assert gate.authenticate_now(req, required=True) is PENDING
    viewer = await gate.authenticate(req, required=True)
    assert viewer == Viewer("alice", ("team-a", "team<b>"), "user", token_in_header=True)
    for _ in range(3):
        assert gate.authenticate_now(req, required=True) == viewer
        assert await gate.authenticate(req, required=True) == viewer
    assert fake_hub.token_lookups == ["alice-token"]


async def test_bearer_scheme_and_service_with_user_scope(make_gate: MakeGate) -> None:
    viewer = await make_gate().authenticate(request("", ("Authorization", "Bearer  svc-token ")), required=True)
    assert viewer == Viewer("japps", (), "service", token_in_header=True)


async def test_cached_answer_expires(make_gate: MakeGate, fake_hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = SimpleNamespace(now=1000.0)
    fake_time = SimpleNamespace(monotonic=lambda: clock.now, time=time.time)
    monkeypatch.setattr(auth, "time", fake_time)
    gate = make_gate(cache_max_age=60)
    req = request("", bearer("alice-token"))
    await gate.authenticate(req, required=True)
    clock.now += 59
    assert isinstance(gate.authenticate_now(req, required=True), Viewer)
    clock.now += 2
    assert gate.authenticate_now(req, required=True) is PENDING
    await gate.authenticate(req, required=True)
    assert fake_hub.token_lookups == ["alice-token", "alice-token"]


async def test_no_caching_with_max_age_zero(make_gate: MakeGate, fake_hub: FakeHub) -> None:
    gate = make_gate(cache_max_age=0)
    req = request("", bearer("alice-token"))
    for _ in range(2):
        assert gate.authenticate_now(req, required=True) is PENDING
        assert (await gate.authenticate(req, required=True)) is not None
    assert len(fake_hub.token_lookups) == 2


async def test_invalid_token_is_refused_and_remembered(make_gate: MakeGate, fake_hub: FakeHub) -> None:
    gate = make_gate()
    req = request("", bearer("nope"))
    with pytest.raises(HTTPAnswer) as raised:
        await gate.authenticate(req, required=True)
    assert answer_of(raised).status == 403
    assert answer_of(raised).body == b"Invalid or expired token.\n"
    with pytest.raises(HTTPAnswer):
        gate.authenticate_now(req, required=True)  # negative cache: decided without the Hub
    assert gate.authenticate_now(req, required=False) is None  # a public app lets them in, unnamed
    assert fake_hub.token_lookups == ["nope"]


async def test_concurrent_requests_share_one_lookup(make_gate: MakeGate, fake_hub: FakeHub) -> None:
    fake_hub.user_delay = 0.2
    gate = make_gate()
    req = request("", bearer("alice-token"))
    viewers = await asyncio.gather(*(gate.authenticate(req, required=True) for _ in range(5)))
    assert {v.name for v in viewers if v} == {"alice"}
    assert fake_hub.token_lookups == ["alice-token"]


async def test_a_waiter_going_away_does_not_cancel_the_lookup(make_gate: MakeGate, fake_hub: FakeHub) -> None:
    fake_hub.user_delay = 0.2
    gate = make_gate()
    req = request("", bearer("alice-token"))
    first = asyncio.create_task(gate.authenticate(req, required=True))
    await asyncio.sleep(0.05)
    first.cancel()
    assert (await gate.authenticate(req, required=True)) is not None
    assert fake_hub.token_lookups == ["alice-token"]


async def test_malformed_token_is_not_sent_to_the_hub(make_gate: MakeGate, fake_hub: FakeHub) -> None:
    gate = make_gate()
    for token in ("x" * 2000, "caf\xe9"):
        with pytest.raises(HTTPAnswer) as raised:
            await gate.authenticate(request("", bearer(token)), required=True)
        assert answer_of(raised).status == 403
    assert fake_hub.token_lookups == []


# -- who may see the app -----------------------------------------------------------------------------


async def test_user_without_scope_gets_forbidden_page_naming_them(make_gate: MakeGate) -> None:
    gate = make_gate()
    req = request("", bearer("bob-token"), HTML)
    with pytest.raises(HTTPAnswer) as raised:
        await gate.authenticate(req, required=True)
    page = answer_of(raised)
    assert page.status == 403
    assert page.header("Content-Type").startswith("text/html")
    assert page.header("Cache-Control") == "no-store"
    assert "bob&lt;&#x27;&amp;&quot;&gt;" in page.body.decode()
    assert "bob<'" not in page.body.decode()
    with pytest.raises(HTTPAnswer):
        gate.authenticate_now(req, required=True)  # the verdict is cached with the answer


async def test_public_app_names_any_logged_in_viewer_and_lets_anonymous_in(make_gate: MakeGate) -> None:
    gate = make_gate()
    bob = await gate.authenticate(request("", bearer("bob-token")), required=False)
    assert bob is not None
    assert bob.name == "bob<'&\">"
    assert gate.authenticate_now(request("x"), required=False) is None
    assert await gate.authenticate(request("x"), required=False) is None


@pytest.mark.parametrize(
    ("method", "headers", "status"),
    [
        ("GET", [HTML], 302),
        ("HEAD", [HTML], 302),
        ("GET", [("Accept", "*/*")], 401),
        ("POST", [HTML], 401),
        ("GET", [HTML, ("Upgrade", "websocket"), ("Connection", "Upgrade")], 401),
    ],
)
async def test_anonymous_browser_pages_go_to_login_everything_else_gets_401(
    make_gate: MakeGate, method: str, headers: list[tuple[str, str]], status: int
) -> None:
    gate = make_gate()
    with pytest.raises(HTTPAnswer) as raised:
        gate.authenticate_now(request("page", *headers, method=method), required=True)
    assert answer_of(raised).status == status


async def test_hub_down_is_502(make_gate: MakeGate, unused_tcp_port: int) -> None:
    gate = make_gate(api_base=f"http://127.0.0.1:{unused_tcp_port}")
    with pytest.raises(HTTPAnswer) as raised:
        await gate.authenticate(request("", bearer("alice-token")), required=True)
    assert answer_of(raised).status == 502
    assert answer_of(raised).body == b"Could not check your login with the Hub; try again.\n"
    with pytest.raises(HTTPAnswer) as raised:
        await gate.authenticate(request("", bearer("alice-token"), HTML), required=True)
    assert b"<html" in answer_of(raised).body  # a page for browsers


async def test_slow_hub_is_502_in_time(make_gate: MakeGate, fake_hub: FakeHub) -> None:
    fake_hub.user_delay = 5
    gate = make_gate(timeout=0.2)
    with pytest.raises(HTTPAnswer) as raised:
        await gate.authenticate(request("", bearer("alice-token")), required=True)
    assert answer_of(raised).status == 502
    assert answer_of(raised).body == b"The Hub did not answer in time; try again.\n"
    assert gate.authenticate_now(request("", bearer("alice-token")), required=True) is PENDING  # not cached


async def test_hub_error_answer_is_502_not_a_refusal(make_gate: MakeGate) -> None:
    api = HubAPI(hub_settings("http://unused"), timeout=1)

    async def broken(token: str) -> HubReply:
        return HubReply(500, {"message": "boom"})

    api.get_user = broken  # type: ignore[method-assign]
    gate = HubAuthGate(hub_settings("http://unused"), PREFIX, cache_max_age=60, timeout=1, api=api)
    with pytest.raises(HTTPAnswer) as raised:
        await gate.authenticate(request("", bearer("alice-token")), required=True)
    assert answer_of(raised).status == 502


# -- the OAuth dance ---------------------------------------------------------------------------------


async def test_login_redirect_goes_to_the_hub_with_state_and_pkce(make_gate: MakeGate) -> None:
    gate = make_gate(host="https://hub.example", base_url="/jh/")
    state, cookie_name, redirect = await login(gate)
    assert redirect.status == 302
    assert redirect.header("Cache-Control") == "no-store"
    target = urlsplit(redirect.header("Location"))
    assert f"{target.scheme}://{target.netloc}{target.path}" == "https://hub.example/jh/hub/api/oauth2/authorize"
    query = parse_qs(target.query)
    assert query["client_id"] == [CLIENT_ID]
    assert query["redirect_uri"] == [PREFIX + "oauth_callback"]
    assert query["response_type"] == ["code"]
    assert query["code_challenge_method"] == ["S256"]
    assert query["state"] == [state]
    assert cookie_name == STATE_COOKIE
    cookie = set_cookies(redirect)[cookie_name]
    assert cookie["path"] == PREFIX
    assert cookie["max-age"] == "600"
    assert "httponly" in cookie
    assert cookie["samesite"] == "Lax"
    assert "secure" not in cookie
    pending = gate.pending_login(request("oauth_callback", state_cookie(redirect, cookie_name)), state)
    assert pending is not None
    assert pending.next_url == PREFIX + "page?q=1"


async def test_full_login_sets_a_session_cookie_that_identifies_the_viewer(
    make_gate: MakeGate, fake_hub: FakeHub
) -> None:
    gate = make_gate()
    state, cookie_name, redirect = await login(gate, "deep/page?x=1")
    done = await callback(gate, state, state_cookie(redirect, cookie_name))
    assert done.status == 302
    assert done.header("Location") == PREFIX + "deep/page?x=1"
    cookies = set_cookies(done)
    assert cookies[cookie_name]["value"] == ""  # the state cookie is deleted
    assert cookies[cookie_name]["max-age"] == "0"
    session = cookies[CLIENT_ID]
    assert session["path"] == PREFIX
    assert "httponly" in session
    assert session["samesite"] == "Lax"
    assert "max-age" not in session  # a browser-session cookie
    assert "alice-token" not in session["value"]
    # PKCE: the Hub got the verifier whose S256 digest was the challenge.
    verifier = fake_hub.code_exchanges[-1]["code_verifier"]
    challenge = parse_qs(urlsplit(redirect.header("Location")).query)["code_challenge"][0]
    assert base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode() == challenge
    assert fake_hub.code_exchanges[-1]["redirect_uri"] == PREFIX + "oauth_callback"
    # The cookie identifies the viewer (not in a header: the app must get it stripped).
    with_cookie = request("deep/page", cookie_header(other="1", **{CLIENT_ID: session["value"]}))
    assert gate.authenticate_now(with_cookie, required=True) is PENDING
    viewer = await gate.authenticate(with_cookie, required=True)
    assert viewer == Viewer("alice", ("team-a", "team<b>"), "user", token_in_header=False)
    assert gate.authenticate_now(with_cookie, required=True) == viewer
    assert gate.strip_cookies(with_cookie.header("Cookie")) == "other=1"


async def test_state_is_single_use(make_gate: MakeGate, fake_hub: FakeHub) -> None:
    gate = make_gate()
    state, cookie_name, redirect = await login(gate)
    cookie = state_cookie(redirect, cookie_name)
    done = await callback(gate, state, cookie)
    assert set_cookies(done)[cookie_name]["max-age"] == "0"  # the browser forgets the state
    # Replayed with the old cookie (which the browser no longer has): the Hub took the code already.
    with pytest.raises(HTTPAnswer) as raised:
        await callback(gate, state, cookie)
    assert answer_of(raised).status == 403
    assert CLIENT_ID not in set_cookies(answer_of(raised))
    assert set_cookies(answer_of(raised))[cookie_name]["max-age"] == "0"


async def test_anonymous_page_loads_never_lock_logins_out(make_gate: MakeGate, fake_hub: FakeHub) -> None:
    """However many logins are started and never finished, the next one works (nothing is kept for them)."""
    gate = make_gate()
    before = {name: len(value) for name, value in vars(gate).items() if isinstance(value, dict)}
    anonymous = request("page", HTML)
    for _ in range(12_000):
        with pytest.raises(HTTPAnswer) as raised:
            gate.authenticate_now(anonymous, required=True)
        assert answer_of(raised).status == 302
    assert {name: len(value) for name, value in vars(gate).items() if isinstance(value, dict)} == before
    state, cookie_name, redirect = await login(gate, "after")
    done = await callback(gate, state, state_cookie(redirect, cookie_name))
    assert done.status == 302
    assert done.header("Location") == PREFIX + "after"
    assert CLIENT_ID in set_cookies(done)


async def test_a_login_started_before_a_restart_is_refused_then_starts_again(make_gate: MakeGate) -> None:
    before, after = make_gate(), make_gate()  # a restart: a new secret
    state, cookie_name, redirect = await login(before)
    with pytest.raises(HTTPAnswer) as raised:
        await callback(after, state, state_cookie(redirect, cookie_name))
    assert answer_of(raised).status == 403
    stale = set_cookies(redirect)[cookie_name]["value"]
    new_state, new_name, new_redirect = await login(after, "page", cookie_header(**{cookie_name: stale}))
    both = cookie_header(**{cookie_name: stale, new_name: set_cookies(new_redirect)[new_name]["value"]})
    done = await callback(after, new_state, both)
    assert done.status == 302
    assert done.header("Location") == PREFIX + "page"


async def test_overlong_return_address_goes_back_to_the_root(make_gate: MakeGate) -> None:
    gate = make_gate()
    state, cookie_name, redirect = await login(gate, "page?q=" + "x" * 5000)
    assert len(set_cookies(redirect)[cookie_name]["value"]) < 3000
    done = await callback(gate, state, state_cookie(redirect, cookie_name))
    assert done.header("Location") == PREFIX


async def test_state_must_match_its_signed_cookie(make_gate: MakeGate, fake_hub: FakeHub) -> None:
    gate = make_gate()
    state, cookie_name, redirect = await login(gate)
    other_state, _, other_redirect = await login(gate)
    signed = set_cookies(redirect)[cookie_name]["value"]
    other_signed = set_cookies(other_redirect)[cookie_name]["value"]
    cases: list[tuple[str, tuple[str, str] | tuple[()]]] = [
        ("forged", cookie_header(**{cookie_name: signed})),  # a state we never issued
        (state, ()),  # no cookie
        (state, cookie_header(**{cookie_name: other_signed})),  # another login's cookie
        (other_state, cookie_header(**{cookie_name: signed[:-2] + "AA"})),  # tampered signature
    ]
    for arg_state, cookie in cases:
        with pytest.raises(HTTPAnswer) as raised:
            await callback(gate, arg_state, *([cookie] if cookie else []))
        assert answer_of(raised).status == 403
        assert CLIENT_ID not in set_cookies(answer_of(raised))
    assert fake_hub.code_exchanges == []


async def test_callback_errors(make_gate: MakeGate, fake_hub: FakeHub) -> None:
    gate = make_gate()
    for query in ("error=access_denied&state=x", "state=x", "code=c"):
        with pytest.raises(HTTPAnswer) as raised:
            await gate.oauth_callback(request(f"oauth_callback?{query}"))
        assert answer_of(raised).status == 400
    state, cookie_name, redirect = await login(gate)
    with pytest.raises(HTTPAnswer) as raised:
        await callback(gate, state, state_cookie(redirect, cookie_name), code="x")
    assert answer_of(raised).status == 403  # the Hub refused the code
    assert CLIENT_ID not in set_cookies(answer_of(raised))


async def test_second_login_in_flight_gets_its_own_state_cookie(make_gate: MakeGate) -> None:
    gate = make_gate()
    _, first_name, first = await login(gate, "one")
    first_cookie = {first_name: set_cookies(first)[first_name]["value"]}
    second_state, second_name, second = await login(gate, "two", cookie_header(**first_cookie))
    assert second_name.startswith(STATE_COOKIE + "-")
    assert gate.is_auth_cookie(second_name)
    both = cookie_header(**first_cookie, **{second_name: set_cookies(second)[second_name]["value"]})
    done = await callback(gate, second_state, both)
    assert done.header("Location") == PREFIX + "two"
    deleted = set_cookies(done)
    assert deleted[first_name]["value"] == deleted[second_name]["value"] == ""


@pytest.mark.parametrize(
    ("prefix", "target", "next_url"),
    [
        (PREFIX, "/user/alice/other/page", PREFIX),  # outside the prefix: back to the app's root
        (PREFIX, PREFIX + "a%2F..%2Fb?x=%22", PREFIX + "a%2F..%2Fb?x=%22"),  # byte for byte
        ("/", "//evil.example/x", "/"),  # never a scheme-relative URL
    ],
)
async def test_next_url_stays_under_the_prefix(make_gate: MakeGate, prefix: str, target: str, next_url: str) -> None:
    gate = make_gate(prefix=prefix, oauth_callback_url=prefix + "oauth_callback")
    redirect = gate.login_redirect(request("", HTML, target=target))
    state = parse_qs(urlsplit(redirect.header("Location")).query)["state"][0]
    (name,) = set_cookies(redirect)
    pending = gate.pending_login(request("", state_cookie(redirect, name)), state)
    assert pending is not None
    assert pending.next_url == next_url
    done = await gate.oauth_callback(
        request(
            "",
            state_cookie(redirect, name),
            target=f"{prefix}oauth_callback?code=good-code&state={state}",
        )
    )
    assert done.header("Location") == next_url


@pytest.mark.parametrize(
    ("hub", "headers", "name", "path", "secure"),
    [
        ({}, [("X-Forwarded-Proto", "https")], CLIENT_ID, PREFIX, True),
        ({}, [("Forwarded", "for=1.2.3.4;proto=https, proto=http")], CLIENT_ID, PREFIX, True),
        ({"public_url": "https://hub.example/"}, [], CLIENT_ID, PREFIX, True),
        ({"public_url": "http://hub.example/"}, [("X-Forwarded-Proto", "https")], CLIENT_ID, PREFIX, False),
        ({"cookie_host_prefix_enabled": True}, [], "__Host-" + CLIENT_ID, "/", True),
    ],
)
async def test_cookie_security_attributes(
    make_gate: MakeGate, hub: dict[str, object], headers: list[tuple[str, str]], name: str, path: str, secure: bool
) -> None:
    gate = make_gate(**hub)
    assert gate.cookie_name == name
    assert gate.cookie_path == path
    state, state_name, redirect = await login(gate, "p", *headers)
    assert state_name == name + "-oauth-state"
    assert ("secure" in set_cookies(redirect)[state_name]) is secure
    done = await callback(gate, state, state_cookie(redirect, state_name), *headers)
    session = set_cookies(done)[name]
    assert session["path"] == path
    assert ("secure" in session) is secure


# -- the session cookie ------------------------------------------------------------------------------


async def test_tampered_or_foreign_cookies_are_no_credentials(make_gate: MakeGate, fake_hub: FakeHub) -> None:
    gate = make_gate()
    other_gate = make_gate()  # another process: another secret
    signer = gate._signer
    good = signer.sign(CLIENT_ID, "alice-token")
    encoded, stamp, mac = good.split(".")
    forged = [
        "alice-token",  # unsigned
        f"{base64.urlsafe_b64encode(b'bob-token').decode().rstrip('=')}.{stamp}.{mac}",  # value swapped
        f"{encoded}.{int(stamp) + 1}.{mac}",  # time changed
        other_gate._signer.sign(CLIENT_ID, "alice-token"),  # another secret
        signer.sign(STATE_COOKIE, "alice-token"),  # a state cookie's signature
        "",
    ]
    for value in forged:
        with pytest.raises(HTTPAnswer) as raised:
            gate.authenticate_now(request("", cookie_header(**{CLIENT_ID: value})), required=True)
        assert answer_of(raised).status == 401
    assert fake_hub.token_lookups == []
    assert await gate.authenticate(request("", cookie_header(**{CLIENT_ID: good})), required=True) is not None


def test_cookie_signer_expiry_and_charset() -> None:
    signer = CookieSigner(b"k" * 32)
    signed = signer.sign("name", "tok\xe9n/+=", now=1_000_000)
    assert all(c.isalnum() or c in "-_." for c in signed)
    assert signer.unsign("name", signed, max_age=100, now=1_000_050) == "tok\xe9n/+="
    assert signer.unsign("name", signed, max_age=100, now=1_000_101) is None
    assert signer.unsign("name", signed, max_age=100, now=999_000) is None  # from the future
    assert signer.unsign("other", signed, max_age=100, now=1_000_050) is None
    assert signer.unsign("name", "a.b", max_age=100) is None
    assert signer.unsign("name", "..", max_age=100) is None


def test_cookie_names_and_stripping(make_gate: MakeGate) -> None:
    gate = make_gate()
    assert gate.callback_path == PREFIX + "oauth_callback"
    assert gate.is_auth_cookie(CLIENT_ID)
    assert gate.is_auth_cookie(STATE_COOKIE + "-abcd")
    assert gate.is_auth_cookie("jupyterhub-session-id")
    assert not gate.is_auth_cookie("_xsrf")
    assert not gate.is_auth_cookie("my-" + CLIENT_ID)
    assert gate.strip_cookies(f"a=1; {CLIENT_ID}=x; jupyterhub-session-id=y;b=2") == "a=1; b=2"


def test_callback_path_is_decoded_from_a_full_redirect_uri(make_gate: MakeGate) -> None:
    gate = make_gate(prefix="/user/o%3C/app/", oauth_callback_url="https://o.hub.example/user/o%3C/app/oauth_callback")
    assert gate.callback_path == "/user/o</app/oauth_callback"


async def test_close_cancels_lookups_in_flight(make_gate: MakeGate, fake_hub: FakeHub) -> None:
    fake_hub.user_delay = 5
    gate = make_gate()
    waiter = asyncio.create_task(gate.authenticate(request("", bearer("alice-token")), required=True))
    await asyncio.sleep(0.1)
    await gate.close()
    with pytest.raises(asyncio.CancelledError):
        await waiter
