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
per running app. The scope check (:func:`hubapps.core.scopes.grants`) is tested against JupyterHub's own
``check_scopes`` in ``tests/unit/proxy/test_scopes.py``.

The session cookie is signed (:class:`~hubapps.proxy.cookies.CookieSigner`) with a random per-process
secret; the OAuth login that sets it is :class:`~hubapps.proxy.oauth.OAuthLogin`'s, a base class of the
gate (``oauth.py``).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, Literal
from urllib.parse import unquote, urlencode, urlsplit

from hubapps.core.scopes import grants
from hubapps.proxy import pages
from hubapps.proxy.config import HubSettings
from hubapps.proxy.cookies import CookieSigner, cookie_count, cookie_value
from hubapps.proxy.hub_client import HubAPI, HubAPIError, HubReply
from hubapps.proxy.identity import identity_headers, is_login_cookie, unprefixed_cookie_name
from hubapps.proxy.oauth import OAuthLogin
from hubapps.proxy.pages import HUB_TIMEOUT_MESSAGE, error_response
from hubapps.proxy.wire import HTTPAnswer, Request, Response

__all__ = ["PENDING", "HubAuthGate", "Viewer"]

log = logging.getLogger("hubapps.proxy")

#: Max age (seconds) of the signed session cookie; the token inside expires at the Hub anyway.
SESSION_COOKIE_MAX_AGE = 14 * 24 * 3600
#: Tokens whose Hub answer is kept (the oldest answers go first when full).
MAX_CACHED_TOKENS = 4096
#: Verified session cookies remembered (cookie value → token), to skip the HMAC on every request.
MAX_VERIFIED_COOKIES = 1024
#: Longest credential passed on to the Hub; anything longer is not a Hub token.
MAX_TOKEN_LENGTH = 1024

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


class _HubUnavailable(Exception):
    """The Hub could not be asked; the message is safe to show."""


class HubAuthGate(OAuthLogin):
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
        if not in_header and cookie_count(request.header("Cookie"), self._cookie_name) > 1:
            # Another host of the domain (or another path of the origin) set a cookie of our name: the
            # browser cannot say which is ours, and the other may be someone else's session (tossing).
            log.warning("hubapps-proxy: refused a request carrying our session cookie more than once")
            raise HTTPAnswer(error_response(400, request, TOSSED_COOKIE_MESSAGE))
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
            raise HTTPAnswer(error_response(502, request, HUB_TIMEOUT_MESSAGE)) from None
        except _HubUnavailable as error:
            raise HTTPAnswer(error_response(502, request, str(error))) from None
        return self._decide(info, in_header, request, required)

    def credentials(self, request: Request) -> tuple[str, bool]:
        """The token and whether it came in the Authorization header (else from our session cookie)."""
        header = request.header("Authorization")
        if header:
            scheme, _, value = header.partition(" ")
            value = value.strip()
            if value and scheme.lower() in {"token", "bearer"}:
                return value, True
        signed = cookie_value(request.header("Cookie"), self._cookie_name)
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
                raise HTTPAnswer(error_response(403, request, "Invalid or expired token."))
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
            return error_response(401, request, "Authentication required.")
        return self.login_redirect(request)

    # -- forwarding helpers -------------------------------------------------------------------------

    def strip_cookies(self, cookie_header: str) -> str:
        """The Cookie header without our credentials (the app must never see the viewer's token)."""
        kept = []
        for part in cookie_header.split(";"):
            name = part.split("=", 1)[0].strip()
            if name and not self.is_auth_cookie(name):
                kept.append(part.strip())
        return "; ".join(kept)


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
