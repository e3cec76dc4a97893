"""The one authentication choke point: :meth:`HubAuthGate.authenticate_now` / :meth:`HubAuthGate.authenticate`.

Every request under the server prefix (page, API call, websocket upgrade, control endpoint) goes through
the gate before anything else looks at it; websocket upgrades take exactly the same path as HTTP, so no
transport can skip the check (the jupyter-server-proxy CVE-2024-28179 lesson).

Credentials are a Hub token, either in ``Authorization: token|bearer <t>`` or in the proxy's own signed
HttpOnly cookie set at the end of the OAuth dance. The Hub says who owns a token (``GET /hub/api/user``);
the answer, and whether its scopes grant ``JUPYTERHUB_OAUTH_ACCESS_SCOPES``
(``access:servers!server=owner/name``), is cached ``auth_cache_max_age`` seconds. So almost every request
is decided by :meth:`~HubAuthGate.authenticate_now` from memory, without I/O; only a token the gate has
not seen lately (:data:`PENDING`) costs a call to the Hub, and concurrent requests with the same new token
share that one call.

This is what ``jupyterhub.services.auth.HubOAuth`` does for a tornado server (same cookie names, state
cookies, login URL, PKCE, code exchange, token lookup), written again on purpose: importing
``jupyterhub.services.auth`` loads JupyterHub's ORM and SQLAlchemy (~50 MB of RSS) into every proxy, one
per running app. The scope check (:func:`hubapps.proxy.scopes.grants`) is tested against JupyterHub's own
``check_scopes`` in ``tests/unit/proxy/test_scopes.py``.

Cookies are signed here (HMAC-SHA256, :class:`CookieSigner`) with a random per-process secret, so a
restart of the proxy simply asks the browser to log in again (silently, through the Hub).

A login in flight is kept **only** in its signed state cookie (state, where to return, issue time); the
PKCE verifier is derived from the state with the secret, so it never leaves the process. Nothing about
pending logins is kept in memory, so no number of anonymous page loads can lock viewers out; a login
started before a restart of the proxy (new secret) fails its state check and is simply started again.
"""

from __future__ import annotations

import asyncio
import base64
import enum
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, Literal
from urllib.parse import unquote, urlencode, urlsplit

from hubapps.proxy import pages
from hubapps.proxy.config import HubSettings
from hubapps.proxy.hub_client import HubAPI, HubAPIError, HubReply
from hubapps.proxy.identity import identity_headers, is_login_cookie, unprefixed_cookie_name
from hubapps.proxy.scopes import grants
from hubapps.proxy.wire import HTTPAnswer, Request, Response

__all__ = ["PENDING", "CookieSigner", "HubAuthGate", "Viewer"]

log = logging.getLogger("hubapps.proxy")

#: Max age (seconds) of the OAuth state cookie and state: a login that takes longer simply starts again.
STATE_COOKIE_MAX_AGE = 600
#: Longest return address kept in a state cookie (browsers drop cookies over ~4 KiB); longer ones
#: return to the app's root.
MAX_NEXT_URL_LENGTH = 2048
#: State cookies looked at in one callback (several tabs may be logging in at once).
MAX_STATE_COOKIES = 16
#: Max age (seconds) of the signed session cookie; the token inside expires at the Hub anyway.
SESSION_COOKIE_MAX_AGE = 14 * 24 * 3600
#: Tokens whose Hub answer is kept (the oldest answers go first when full).
MAX_CACHED_TOKENS = 4096
#: Verified session cookies remembered (cookie value → token), to skip the HMAC on every request.
MAX_VERIFIED_COOKIES = 1024
#: Longest credential passed on to the Hub; anything longer is not a Hub token.
MAX_TOKEN_LENGTH = 1024

HUB_TIMEOUT_MESSAGE = "The Hub did not answer in time; try again."
HUB_FAILED_MESSAGE = "Could not check your login with the Hub; try again."
TOSSED_COOKIE_MESSAGE = (
    "Your browser sent this app's login cookie twice: another site under this domain set one. "
    "Clear this site's cookies and open the app again."
)


class _Pending(enum.Enum):
    PENDING = "pending"


#: :meth:`HubAuthGate.authenticate_now` cannot decide without asking the Hub: await ``authenticate``.
PENDING: Literal[_Pending.PENDING] = _Pending.PENDING


@dataclass(frozen=True)
class Viewer:
    """Who is looking, as the Hub told us."""

    name: str
    groups: tuple[str, ...] = ()
    kind: str = "user"
    #: True when the credential came in the Authorization header (it is then not forwarded).
    token_in_header: bool = False
    admin: bool = False
    #: Role names, when the token may read them (``read:roles:users``); usually none.
    roles: tuple[str, ...] = ()

    @cached_property
    def headers(self) -> tuple[tuple[str, str], ...]:
        """The identity headers the app gets (made once per cached Hub answer, not once per request)."""
        return identity_headers(self)


@dataclass(frozen=True)
class _TokenInfo:
    """The Hub's answer about one token, as cached: its owner (None: not a valid token) and the verdict."""

    expires: float
    by_cookie: Viewer | None
    by_header: Viewer | None
    allowed: bool


@dataclass(frozen=True)
class _PendingLogin:
    """What a login in flight needs at the callback, read back from its signed state cookie."""

    state: str
    next_url: str
    cookie_name: str


class _HubUnavailable(Exception):
    """The Hub could not be asked; the message is safe to show."""


class CookieSigner:
    """Sign and verify cookie values: ``<value, base64url>.<unix time>.<HMAC-SHA256, base64url>``.

    The MAC covers the cookie name, so one cookie cannot stand in for another (a state cookie is never a
    session). Every character is cookie-safe. The secret is random per process unless given.
    """

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret or secrets.token_bytes(32)

    def sign(self, name: str, value: str, *, now: float | None = None) -> str:
        payload = _b64encode(value.encode("utf-8")) + "." + str(int(time.time() if now is None else now))
        return payload + "." + self._mac(name, payload)

    def unsign(self, name: str, signed: str, *, max_age: float, now: float | None = None) -> str | None:
        """The value, or None when the signature is wrong, the value is older than ``max_age`` or garbled."""
        payload, _, mac = signed.rpartition(".")
        encoded, _, stamp = payload.partition(".")
        if not mac or not stamp.isdigit() or not hmac.compare_digest(mac, self._mac(name, payload)):
            return None
        age = (time.time() if now is None else now) - int(stamp)
        if not -60 <= age <= max_age:  # a little clock skew, never the far future
            return None
        try:
            return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode("utf-8")
        except ValueError:
            return None

    def issued_at(self, signed: str) -> int:
        """The signing time of a value :meth:`unsign` accepted."""
        return int(signed.rpartition(".")[0].partition(".")[2])

    def derive(self, purpose: str, value: str) -> str:
        """A secret derived from ``value`` for ``purpose`` (never equal to a cookie MAC: other input)."""
        digest = hmac.new(self._secret, f"derive:{purpose}|{value}".encode(), hashlib.sha256).digest()
        return _b64encode(digest)

    def _mac(self, name: str, payload: str) -> str:
        digest = hmac.new(self._secret, f"{name}|{payload}".encode(), hashlib.sha256).digest()
        return _b64encode(digest)


class HubAuthGate:
    """Decide, for each request, who the viewer is and whether they may see the app."""

    def __init__(
        self, hub: HubSettings, prefix: str, *, cache_max_age: int, timeout: float, api: HubAPI | None = None
    ) -> None:
        self.prefix = prefix
        self.timeout = timeout
        self.cache_max_age = cache_max_age
        self.api = api if api is not None else HubAPI(hub, timeout=timeout)
        self._hub = hub
        self._access_scopes = frozenset(hub.access_scopes)
        self._signer = CookieSigner()
        # The OAuth client id names the cookies, as in HubOAuth ("-" stands in for a missing one, as before:
        # the Hub then refuses the login, but cookie names stay valid).
        client_id = hub.client_id or "-"
        self._cookie_name = ("__Host-" if hub.cookie_host_prefix_enabled else "") + client_id
        self._state_cookie_name = self._cookie_name + "-oauth-state"
        self._cookie_path = "/" if hub.cookie_host_prefix_enabled else prefix
        self._bare_cookie_name = unprefixed_cookie_name(client_id)
        self._bare_state_cookie_name = self._bare_cookie_name + "-oauth-state"
        self.redirect_uri = hub.oauth_callback_url or prefix + "oauth_callback"
        self._callback_path = unquote(urlsplit(self.redirect_uri).path) or prefix + "oauth_callback"
        hub_prefix = hub.base_url.rstrip("/") + "/hub/"
        authorize = {"client_id": client_id, "redirect_uri": self.redirect_uri, "response_type": "code"}
        self.login_url = hub.host + hub_prefix + "api/oauth2/authorize?" + urlencode(authorize)
        #: token → the Hub's answer; insertion order is expiry order (entries are re-inserted when renewed).
        self._tokens: dict[str, _TokenInfo] = {}
        #: token → the Hub lookup in flight for it (requests arriving meanwhile wait for the same answer).
        self._lookups: dict[str, asyncio.Task[_TokenInfo]] = {}
        #: signed session cookie → (token, time it stops being accepted).
        self._verified_cookies: dict[str, tuple[str, float]] = {}

    async def close(self) -> None:
        """Cancel the Hub lookups still in flight (at shutdown; their waiters get ``CancelledError``)."""
        tasks = list(self._lookups.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._lookups.clear()

    # -- cookie names -----------------------------------------------------------------------------

    @property
    def cookie_name(self) -> str:
        """The session cookie: the OAuth client id (``__Host-`` prefixed when the Hub says so)."""
        return self._cookie_name

    @property
    def state_cookie_name(self) -> str:
        """The OAuth state cookie (a login started while another is in flight adds ``-<random>``)."""
        return self._state_cookie_name

    @property
    def cookie_path(self) -> str:
        return self._cookie_path

    @property
    def callback_path(self) -> str:
        """The decoded URL path of the OAuth redirect URI, for routing."""
        return self._callback_path

    def is_auth_cookie(self, name: str) -> bool:
        """Cookies that carry Hub credentials or session ids; they are never forwarded to the app.

        That is ours (session and OAuth state) and every JupyterHub login cookie the browser sends along
        (:func:`~hubapps.proxy.identity.is_login_cookie`: the Hub's, other servers' and services', in
        every ``__Host-``/``__Secure-`` form): no app behind this proxy needs one.
        """
        bare = unprefixed_cookie_name(name)
        return is_login_cookie(bare) or bare == self._bare_cookie_name or bare.startswith(self._bare_state_cookie_name)

    # -- the choke point ----------------------------------------------------------------------------

    def authenticate_now(self, request: Request, *, required: bool) -> Viewer | Literal[_Pending.PENDING] | None:
        """Decide from memory: the viewer, None (anonymous viewer of a public app), or :data:`PENDING`.

        ``PENDING`` means the Hub must be asked (a token not seen lately): await :meth:`authenticate`.
        Raises :class:`HTTPAnswer` (login redirect, 401, 403) for what is decidable without I/O.
        """
        token, in_header = self.credentials(request)
        if not token:
            self._require_login(request, required)
            return None
        if not in_header and _cookie_count(request.header("Cookie"), self._cookie_name) > 1:
            # Another host of the domain (or another path of the origin) set a cookie of our name: the
            # browser cannot say which is ours, and the other may be someone else's session (tossing).
            log.warning("hubapps-proxy: refused a request carrying our session cookie more than once")
            raise HTTPAnswer(_error(400, request, TOSSED_COOKIE_MESSAGE))
        info = self._tokens.get(token)
        if info is None or info.expires <= time.monotonic():
            return PENDING
        return self._decide(info, in_header, request, required)

    async def authenticate(self, request: Request, *, required: bool) -> Viewer | None:
        """Return the viewer, or raise the :class:`HTTPAnswer` that stops the request here.

        With ``required=False`` (public apps) an unidentified viewer is ``None``, but valid credentials
        still identify the viewer (so the app gets their name) and are stripped before forwarding.
        Raises a login redirect, 401, 403, or 502 when the Hub cannot be asked.
        """
        decided = self.authenticate_now(request, required=required)
        if decided is not PENDING:
            return decided
        token, in_header = self.credentials(request)  # (a token not seen lately: ask the Hub)
        try:
            info = await self._lookup(token)
        except TimeoutError:
            raise HTTPAnswer(_error(502, request, HUB_TIMEOUT_MESSAGE)) from None
        except _HubUnavailable as error:
            raise HTTPAnswer(_error(502, request, str(error))) from None
        return self._decide(info, in_header, request, required)

    def credentials(self, request: Request) -> tuple[str, bool]:
        """The token and whether it came in the Authorization header (else from our session cookie)."""
        header = request.header("Authorization")
        if header:
            scheme, _, value = header.partition(" ")
            value = value.strip()
            if value and scheme.lower() in {"token", "bearer"}:
                return value, True
        signed = _cookie(request.header("Cookie"), self._cookie_name)
        if not signed:
            return "", False
        known = self._verified_cookies.get(signed)
        if known is not None and known[1] > time.time():
            return known[0], False
        token = self._signer.unsign(self._cookie_name, signed, max_age=SESSION_COOKIE_MAX_AGE)
        if token is None:
            return "", False
        _bounded_put(
            self._verified_cookies,
            signed,
            (token, self._signer.issued_at(signed) + SESSION_COOKIE_MAX_AGE),
            MAX_VERIFIED_COOKIES,
        )
        return token, False

    def expires_within(self, token: str, seconds: float) -> bool:
        """Whether the cached answer about ``token`` is missing or expires within ``seconds``."""
        info = self._tokens.get(token)
        return info is None or info.expires <= time.monotonic() + seconds

    async def still_allowed(self, token: str, *, required: bool) -> bool:
        """Ask the Hub again about ``token`` (refreshing the cache): is it still valid, with access when
        ``required``? For the websockets let in with it (:mod:`hubapps.proxy.watch`).

        Raises ``TimeoutError`` or another exception when the Hub cannot be asked.
        """
        info = await self._lookup(token)
        return info.by_cookie is not None and (info.allowed or not required)

    def _require_login(self, request: Request, required: bool) -> None:
        """An anonymous viewer: fine for a public app, else sent to log in (browsers) or refused (401)."""
        if required:
            raise HTTPAnswer(self._login_or_401(request))

    def _decide(self, info: _TokenInfo, in_header: bool, request: Request, required: bool) -> Viewer | None:
        viewer = info.by_header if in_header else info.by_cookie
        if viewer is None:  # the Hub does not know this token (any more)
            if in_header and required:
                raise HTTPAnswer(_error(403, request, "Invalid or expired token."))
            self._require_login(request, required)
            return None
        if required and not info.allowed:
            log.warning("hubapps-proxy: %r is not allowed here", viewer.name[:100])
            raise HTTPAnswer(Response.html(pages.forbidden_page(viewer.name), status=403, headers=pages.NO_CACHE))
        return viewer

    async def _lookup(self, token: str) -> _TokenInfo:
        """The Hub's answer about ``token``, asked once however many requests wait for it, then cached."""
        task = self._lookups.get(token)
        if task is None:
            task = asyncio.create_task(self._ask_hub(token), name="hubapps-token-lookup")
            self._lookups[token] = task
            task.add_done_callback(self._lookup_done(token))
        # shield: a viewer who goes away must not cancel the lookup others are waiting for.
        return await asyncio.shield(task)

    def _lookup_done(self, token: str) -> Callable[[asyncio.Task[_TokenInfo]], None]:
        def done(task: asyncio.Task[_TokenInfo]) -> None:
            if self._lookups.get(token) is task:
                del self._lookups[token]
            if not task.cancelled():
                task.exception()  # retrieved here even if every waiter went away

        return done

    async def _ask_hub(self, token: str) -> _TokenInfo:
        expires = time.monotonic() + self.cache_max_age
        if len(token) > MAX_TOKEN_LENGTH or not token.isascii() or not token.isprintable():
            return _TokenInfo(expires, None, None, False)  # not a token the Hub could have issued
        try:
            reply = await self.api.get_user(token)
        except TimeoutError:
            log.error("hubapps-proxy: the Hub did not answer a token check in %gs", self.api.timeout)
            raise
        except (HubAPIError, OSError) as error:
            log.error("hubapps-proxy: token check failed: %s: %s", type(error).__name__, error)
            raise _HubUnavailable(HUB_FAILED_MESSAGE) from None
        info = self._token_info(reply, expires)
        self._tokens.pop(token, None)  # re-inserted at the end: the dict stays in expiry order
        if self.cache_max_age > 0:
            _drop_expired(self._tokens, time.monotonic())
            _bounded_put(self._tokens, token, info, MAX_CACHED_TOKENS)
        return info

    def _token_info(self, reply: HubReply, expires: float) -> _TokenInfo:
        if reply.status == 403:
            return _TokenInfo(expires, None, None, False)
        model = reply.data
        if reply.status != 200 or not isinstance(model, dict):
            log.error("hubapps-proxy: token check failed: the Hub answered %s", reply.status)
            raise _HubUnavailable(HUB_FAILED_MESSAGE)
        scopes, groups, roles = model.get("scopes"), model.get("groups"), model.get("roles")
        held = [s for s in scopes if isinstance(s, str)] if isinstance(scopes, list) else []
        viewer = Viewer(
            name=str(model.get("name", "")),
            groups=tuple(str(g) for g in groups) if isinstance(groups, list) else (),
            kind=str(model.get("kind", "user")),
            admin=model.get("admin") is True,
            roles=tuple(str(r) for r in roles) if isinstance(roles, list) else (),
        )
        by_header = replace(viewer, token_in_header=True)
        return _TokenInfo(expires, viewer, by_header, grants(self._access_scopes, held))

    def _login_or_401(self, request: Request) -> Response:
        browser_page = request.method in {"GET", "HEAD"} and request.accepts_html and not request.is_websocket
        if not browser_page:
            return _error(401, request, "Authentication required.")
        return self.login_redirect(request)

    # -- OAuth ----------------------------------------------------------------------------------

    def login_redirect(self, request: Request) -> Response:
        """Redirect to the Hub's OAuth authorize URL; the login's state goes in a signed cookie only."""
        next_url = request.path_qs
        if not next_url.startswith(self.prefix) or len(next_url) > MAX_NEXT_URL_LENGTH:
            next_url = self.prefix
        state = secrets.token_urlsafe(16)
        verifier = self._code_verifier(state)
        challenge = _b64encode(hashlib.sha256(verifier.encode("ascii")).digest())
        cookie_name = self._state_cookie_name
        if _cookie(request.header("Cookie"), cookie_name):
            # Another login is in flight in this browser (several tabs): keep both working.
            cookie_name = f"{cookie_name}-{secrets.token_hex(4)}"
        params = urlencode({"code_challenge": challenge, "code_challenge_method": "S256", "state": state})
        response = Response.redirect(self.login_url + "&" + params, headers=pages.NO_CACHE)
        sealed = self._signer.sign(cookie_name, json.dumps({"state": state, "next": next_url}))
        response.set_cookie(cookie_name, sealed, max_age=STATE_COOKIE_MAX_AGE, **self._cookie_options(request))
        return response

    def _code_verifier(self, state: str) -> str:
        """The PKCE verifier of the login with ``state``: derived with the secret, so kept nowhere."""
        return self._signer.derive("pkce-verifier", state)

    def pending_login(self, request: Request, state: str) -> _PendingLogin | None:
        """The login in flight with ``state``, from the request's signed state cookies (None: no such login)."""
        if not state:
            return None
        cookies = [(name, value) for name, value in request.cookies.items() if name.startswith(self._state_cookie_name)]
        for name, signed in cookies[:MAX_STATE_COOKIES]:
            value = self._signer.unsign(name, signed, max_age=STATE_COOKIE_MAX_AGE) if signed else None
            if value is None:
                continue
            try:
                data = json.loads(value)
            except ValueError:
                continue
            if not isinstance(data, dict):
                continue
            sealed_state, next_url = data.get("state"), data.get("next")
            if not isinstance(sealed_state, str) or not isinstance(next_url, str):
                continue
            if hmac.compare_digest(sealed_state.encode(), state.encode()):
                return _PendingLogin(sealed_state, next_url, name)
        return None

    async def oauth_callback(self, request: Request) -> Response:
        """Finish the OAuth dance: check state, exchange the code, set the session cookie, redirect back.

        Returns the redirect on success; raises :class:`HTTPAnswer` otherwise. The answer deletes the
        login's state cookie whatever happens (every state cookie on success), so a browser uses a state
        once; the Hub takes each code once.
        """
        query = request.query
        if "error" in query:
            raise HTTPAnswer(_error(400, request, "Login failed at the Hub. Try again."))
        code, state = query.get("code", ""), query.get("state", "")
        if not code or not state:
            raise HTTPAnswer(_error(400, request, "Incomplete login answer. Try again."))
        pending = self.pending_login(request, state)
        if pending is None:
            raise HTTPAnswer(_error(403, request, "Login state does not match. Try logging in again."))
        try:
            return await self._finish_login(request, code, pending)
        except HTTPAnswer as failed:
            options = self._cookie_options(request)
            failed.response.delete_cookie(pending.cookie_name, path=options["path"], secure=options["secure"])
            raise

    async def _finish_login(self, request: Request, code: str, pending: _PendingLogin) -> Response:
        try:
            reply = await self.api.exchange_code(
                code, redirect_uri=self.redirect_uri, code_verifier=self._code_verifier(pending.state)
            )
        except TimeoutError:
            raise HTTPAnswer(_error(502, request, HUB_TIMEOUT_MESSAGE)) from None
        except (HubAPIError, OSError) as error:
            log.error("hubapps-proxy: OAuth code exchange failed: %s: %s", type(error).__name__, error)
            raise HTTPAnswer(_error(403, request, "Login failed. Try again.")) from None
        token = reply.data.get("access_token") if reply.ok and isinstance(reply.data, dict) else None
        if not isinstance(token, str) or not token:
            log.error("hubapps-proxy: OAuth code exchange refused by the Hub (%s)", reply.status)
            raise HTTPAnswer(_error(403, request, "Login failed. Try again."))
        next_url = pending.next_url
        if not next_url.startswith(self.prefix) or next_url.startswith("//"):
            next_url = self.prefix
        # Sent byte for byte: the Hub's escaping of names is kept (the browser would not send the cookie,
        # whose path is the escaped prefix, to an unescaped spelling).
        response = Response.redirect(next_url, headers=pages.NO_CACHE)
        options = self._cookie_options(request)
        for name in request.cookies:
            if name.startswith(self._state_cookie_name):
                response.delete_cookie(name, path=options["path"], secure=options["secure"])
        response.set_cookie(self._cookie_name, self._signer.sign(self._cookie_name, token), **options)
        return response

    def _cookie_options(self, request: Request) -> dict[str, Any]:
        if self._hub.public_url:
            secure = urlsplit(self._hub.public_url).scheme == "https"
        else:
            secure = _browser_scheme(request) == "https"
        if self._cookie_name.startswith("__Host-"):
            secure = True  # the prefix requires it (and path=/, which cookie_path gives)
        return {"path": self._cookie_path, "httponly": True, "samesite": "Lax", "secure": secure}

    # -- forwarding helpers -------------------------------------------------------------------------

    def strip_cookies(self, cookie_header: str) -> str:
        """The Cookie header without our credentials (the app must never see the viewer's token)."""
        kept = []
        for part in cookie_header.split(";"):
            name = part.split("=", 1)[0].strip()
            if name and not self.is_auth_cookie(name):
                kept.append(part.strip())
        return "; ".join(kept)


def _cookie(header: str, name: str) -> str:
    """The value of cookie ``name`` in a Cookie header (the first one, as :attr:`Request.cookies`)."""
    if name not in header:
        return ""
    for part in header.split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key == name:
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            return value
    return ""


def _cookie_count(header: str, name: str) -> int:
    """How many cookies named ``name`` a Cookie header carries (0 or 1 in a cheap look, else counted)."""
    if header.count(name + "=") < 2:
        return 1 if name in header else 0
    return sum(1 for part in header.split(";") if part.strip().partition("=")[0] == name)


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _bounded_put(store: dict[str, Any], key: str, value: Any, limit: int) -> None:
    """Insert, dropping the oldest entries first when ``store`` is full."""
    while len(store) >= limit:
        del store[next(iter(store))]
    store[key] = value


def _drop_expired(store: dict[str, _TokenInfo], now: float) -> None:
    """Drop expired entries from a dict kept in expiry order (from the front, stopping at the first live one)."""
    while store:
        key = next(iter(store))
        if store[key].expires > now:
            return
        del store[key]


def _browser_scheme(request: Request) -> str:
    """The scheme the browser used, as forwarded by the proxies in front of us (CHP sets these)."""
    forwarded = request.header("Forwarded")
    if forwarded:
        first = forwarded.split(",", 1)[0]
        for item in first.split(";"):
            key, _, value = item.partition("=")
            if key.strip().lower() == "proto" and value.strip().lower() in {"http", "https"}:
                return value.strip().lower()
    for name in ("X-Scheme", "X-Forwarded-Proto"):
        value = request.header(name).split(",", 1)[0].strip().lower()
        if value in {"http", "https"}:
            return value
    return request.scheme


def _error(status: int, request: Request, message: str) -> Response:
    """An error answer: a short page for browsers, plain text for everything else."""
    if request.accepts_html:
        return Response.html(pages.message_page(message), status=status, headers=pages.NO_CACHE)
    return Response.text(message + "\n", status=status, headers=pages.NO_CACHE)
