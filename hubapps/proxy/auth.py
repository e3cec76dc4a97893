"""The one authentication choke point: :meth:`HubAuthGate.authenticate`.

Every request under the server prefix (page, API call, websocket upgrade, control endpoint) goes
through ``authenticate`` before anything else looks at it; websocket upgrades take exactly the same
path as HTTP, so no transport can skip the check (the jupyter-server-proxy CVE-2024-28179 lesson).

Credentials are a Hub token, either in ``Authorization: token|bearer <t>`` or in the proxy's own signed
HttpOnly cookie set at the end of the OAuth dance. The Hub says who owns a token (``/hub/api/user``, cached
``auth_cache_max_age`` seconds by :class:`jupyterhub.services.auth.HubOAuth`); the viewer is let in iff one
of their scopes grants ``JUPYTERHUB_OAUTH_ACCESS_SCOPES`` (``access:servers!server=owner/name``).

``HubOAuth`` is used for what it does without a tornado handler (token lookups, scope checks, OAuth state,
PKCE, code exchange); cookies are signed here with tornado's signing helpers and a random per-process
secret, so a restart of the proxy simply asks the browser to log in again (silently, through the Hub).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn
from urllib.parse import urlencode, urlsplit

from aiohttp import web
from jupyterhub.services.auth import HubOAuth
from tornado.web import create_signed_value, decode_signed_value
from yarl import URL

from hubapps.proxy import pages
from hubapps.proxy.config import HubSettings

__all__ = ["HubAuthGate", "Viewer"]

log = logging.getLogger("hubapps.proxy")

#: Max age (seconds) of the OAuth state cookie: a login that takes longer simply starts again.
STATE_COOKIE_MAX_AGE = 600
#: Logins in flight at once (each holds a little memory until used or expired).
MAX_PENDING_STATES = 10_000
#: Max age (days) of the signed session cookie; the token inside expires at the Hub anyway.
SESSION_COOKIE_MAX_AGE_DAYS = 14


@dataclass(frozen=True)
class Viewer:
    """Who is looking, as the Hub told us."""

    name: str
    groups: tuple[str, ...] = ()
    kind: str = "user"
    #: True when the credential came in the Authorization header (it is then not forwarded).
    token_in_header: bool = False


class HubAuthGate:
    """Decide, for each request, who the viewer is and whether they may see the app."""

    def __init__(self, hub: HubSettings, prefix: str, *, cache_max_age: int, timeout: float) -> None:
        self.prefix = prefix
        self.timeout = timeout
        self._public_url = hub.public_url
        self._secret = secrets.token_bytes(32)
        #: OAuth states issued by this process and not used yet (state id → expiry, monotonic).
        self._pending_states: dict[str, float] = {}
        # Everything is passed explicitly: HubOAuth reads some defaults from os.environ, at import time.
        self.oauth = HubOAuth(
            api_url=hub.api_url or "http://127.0.0.1:8081/hub/api",
            api_token=hub.api_token or "-",
            oauth_client_id=hub.client_id or "-",
            base_url=prefix,
            hub_host=hub.host,
            hub_prefix=hub.base_url.rstrip("/") + "/hub/",
            access_scopes=set(hub.access_scopes),
            cache_max_age=cache_max_age,
            cookie_host_prefix_enabled=hub.cookie_host_prefix_enabled,
            **({"oauth_redirect_uri": hub.oauth_callback_url} if hub.oauth_callback_url else {}),
        )
        self.pkce = hasattr(self.oauth, "generate_pkce_code_challenge") and bool(
            getattr(self.oauth, "pkce_enabled", True)
        )

    # -- cookie names -----------------------------------------------------------------------------

    @property
    def cookie_name(self) -> str:
        return str(self.oauth.cookie_name)

    @property
    def state_cookie_name(self) -> str:
        return str(self.oauth.state_cookie_name)

    @property
    def cookie_path(self) -> str:
        return str(self.oauth.cookie_path)

    def is_auth_cookie(self, name: str) -> bool:
        """Cookies that carry Hub credentials or session ids; they are never forwarded to the app.

        That is ours (session and OAuth state) and every other ``jupyterhub-*`` cookie the browser sends
        along (``jupyterhub-session-id`` has path ``/``): no app behind this proxy needs the Hub's.
        """
        return name == self.cookie_name or name.startswith((self.state_cookie_name, "jupyterhub-"))

    # -- the choke point ----------------------------------------------------------------------------

    async def authenticate(self, request: web.Request, *, required: bool) -> Viewer | None:
        """Return the viewer, or raise the HTTP answer that stops the request here.

        With ``required=False`` (public apps) an unidentified viewer is ``None``, but valid credentials
        still identify the viewer (so the app gets their name) and are stripped before forwarding.
        Raises ``HTTPFound`` (login redirect), ``HTTPUnauthorized`` or ``HTTPForbidden``.
        """
        token, in_header = self._token(request)
        model = await self._user_model(token) if token else None
        if model is None:
            if token and in_header and required:
                raise _error(web.HTTPForbidden, request, "Invalid or expired token.")
            if not required:
                return None
            raise self._login_or_401(request)
        viewer = Viewer(
            name=str(model.get("name", "")),
            groups=tuple(str(g) for g in model.get("groups") or ()),
            kind=str(model.get("kind", "user")),
            token_in_header=in_header,
        )
        if required and not self.oauth.check_scopes(self.oauth.access_scopes, model):
            log.warning("hubapps-proxy: %r is not allowed here", viewer.name[:100])
            raise web.HTTPForbidden(
                text=pages.forbidden_page(viewer.name), content_type="text/html", headers=pages.NO_CACHE
            )
        return viewer

    def _token(self, request: web.Request) -> tuple[str, bool]:
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() in {"token", "bearer"} and value.strip():
            return value.strip(), True
        cookie = request.cookies.get(self.cookie_name)
        if cookie:
            decoded = decode_signed_value(
                self._secret, self.cookie_name, cookie, max_age_days=SESSION_COOKIE_MAX_AGE_DAYS
            )
            if decoded:
                return decoded.decode("utf-8", "replace"), False
        return "", False

    async def _user_model(self, token: str) -> dict[str, Any] | None:
        try:
            async with asyncio.timeout(self.timeout):
                model = await self.oauth.user_for_token(token, use_cache=True, sync=False)
        except TimeoutError:
            raise web.HTTPBadGateway(text="The Hub did not answer in time; try again.") from None
        except Exception as error:  # tornado.web.HTTPError from HubAuth when the Hub is unreachable
            log.error("hubapps-proxy: token check failed: %s", type(error).__name__)
            raise web.HTTPBadGateway(text="Could not check your login with the Hub; try again.") from None
        return model if isinstance(model, dict) else None

    def _login_or_401(self, request: web.Request) -> web.HTTPException:
        browser_page = (
            request.method in {"GET", "HEAD"}
            and "text/html" in request.headers.get("Accept", "")
            and request.headers.get("Upgrade", "").lower() != "websocket"
        )
        if not browser_page:
            return _error(web.HTTPUnauthorized, request, "Authentication required.")
        return self.login_redirect(request)

    # -- OAuth ----------------------------------------------------------------------------------

    def login_redirect(self, request: web.Request) -> web.HTTPFound:
        """Redirect to the Hub's OAuth authorize URL, remembering where to come back to."""
        next_url = request.rel_url.raw_path_qs
        if not next_url.startswith(self.prefix):
            next_url = self.prefix
        extra: dict[str, str] = {}
        params: dict[str, str] = {}
        if self.pkce:
            verifier, challenge, method = self.oauth.generate_pkce_code_challenge()
            extra["code_verifier"] = verifier
            params.update(code_challenge=challenge, code_challenge_method=method)
        cookie_name = self.state_cookie_name
        if cookie_name in request.cookies:
            # Another login is in flight in this browser (several tabs): keep both working.
            cookie_name = f"{cookie_name}-{secrets.token_hex(4)}"
            extra["cookie_name"] = cookie_name
        state = str(self.oauth.generate_state(next_url, **extra))
        now = time.monotonic()
        self._pending_states = {s: t for s, t in self._pending_states.items() if t > now}
        if len(self._pending_states) >= MAX_PENDING_STATES:
            raise _error(web.HTTPServiceUnavailable, request, "Too many logins in progress; try again.")
        self._pending_states[state] = now + STATE_COOKIE_MAX_AGE
        params["state"] = state
        login_url = str(self.oauth.login_url)
        sep = "&" if "?" in login_url else "?"
        redirect = web.HTTPFound(login_url + sep + urlencode(params), headers=pages.NO_CACHE)
        redirect.set_cookie(
            cookie_name,
            create_signed_value(self._secret, cookie_name, state).decode("ascii"),
            max_age=STATE_COOKIE_MAX_AGE,
            **self._cookie_options(request),
        )
        return redirect

    async def oauth_callback(self, request: web.Request) -> NoReturn:
        """Finish the OAuth dance: check state, exchange the code, set the session cookie, go back.

        Always raises: the redirect back on success, an error answer otherwise.
        """
        query = request.query
        if "error" in query:
            raise _error(web.HTTPBadRequest, request, "Login failed at the Hub. Try again.")
        code, state = query.get("code", ""), query.get("state", "")
        if not code or not state:
            raise _error(web.HTTPBadRequest, request, "Incomplete login answer. Try again.")
        cookie_name = str(self.oauth.get_state_cookie_name(state))
        signed = request.cookies.get(cookie_name, "")
        decoded = decode_signed_value(self._secret, cookie_name, signed, max_age_days=1) if signed else None
        expected = decoded.decode("ascii", "replace") if decoded else ""
        issued = self._pending_states.pop(state, 0.0) > time.monotonic()
        if not issued or not expected or not secrets.compare_digest(expected, state):
            raise _error(web.HTTPForbidden, request, "Login state does not match. Try logging in again.")
        next_url = str(self.oauth.get_next_url(state))
        verifier = self.oauth.get_code_verifier(state) if hasattr(self.oauth, "get_code_verifier") else None
        self.oauth.clear_oauth_state(state)
        try:
            async with asyncio.timeout(self.timeout):
                kwargs: dict[str, Any] = {"code_verifier": verifier} if verifier else {}
                token = await self.oauth.token_for_code(code, sync=False, **kwargs)
        except TimeoutError:
            raise web.HTTPBadGateway(text="The Hub did not answer in time; try again.") from None
        except Exception as error:
            log.error("hubapps-proxy: OAuth code exchange failed: %s", type(error).__name__)
            raise _error(web.HTTPForbidden, request, "Login failed. Try again.") from None
        if not next_url.startswith(self.prefix) or next_url.startswith("//"):
            next_url = self.prefix
        # encoded=True: keep the Hub's escaping of names byte for byte (yarl would unescape ' and &,
        # and the browser would then not send the cookie, whose path is the escaped prefix).
        response = web.HTTPFound(URL(next_url, encoded=True), headers=pages.NO_CACHE)
        options = self._cookie_options(request)
        for name in request.cookies:
            if name.startswith(self.state_cookie_name):
                response.del_cookie(name, path=options["path"])
        response.set_cookie(
            self.cookie_name,
            create_signed_value(self._secret, self.cookie_name, str(token)).decode("ascii"),
            **options,
        )
        raise response

    def _cookie_options(self, request: web.Request) -> dict[str, Any]:
        secure = (
            urlsplit(self._public_url).scheme == "https" if self._public_url else _browser_scheme(request) == "https"
        )
        if self.cookie_name.startswith("__Host-"):
            secure = True  # the prefix requires it (and path=/, which cookie_path gives)
        return {"path": self.cookie_path, "httponly": True, "samesite": "Lax", "secure": secure}

    # -- forwarding helpers -------------------------------------------------------------------------

    def strip_cookies(self, cookie_header: str) -> str:
        """The Cookie header without our credentials (the app must never see the viewer's token)."""
        kept = []
        for part in cookie_header.split(";"):
            name = part.split("=", 1)[0].strip()
            if name and not self.is_auth_cookie(name):
                kept.append(part.strip())
        return "; ".join(kept)


def _browser_scheme(request: web.Request) -> str:
    """The scheme the browser used, as forwarded by the proxies in front of us (CHP sets these)."""
    headers: Mapping[str, str] = request.headers
    forwarded = headers.get("Forwarded", "")
    if forwarded:
        first = forwarded.split(",", 1)[0]
        for item in first.split(";"):
            key, _, value = item.partition("=")
            if key.strip().lower() == "proto" and value.strip().lower() in {"http", "https"}:
                return value.strip().lower()
    for name in ("X-Scheme", "X-Forwarded-Proto"):
        value = headers.get(name, "").split(",", 1)[0].strip().lower()
        if value in {"http", "https"}:
            return value
    return request.scheme


def _error(kind: type[web.HTTPException], request: web.Request, message: str) -> web.HTTPException:
    """An error answer: a short page for browsers, plain text for everything else."""
    if "text/html" in request.headers.get("Accept", ""):
        return kind(text=pages.message_page(message), content_type="text/html", headers=pages.NO_CACHE)
    return kind(text=message + "\n", headers=pages.NO_CACHE)
