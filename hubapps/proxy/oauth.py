"""The Hub OAuth login of a viewer: to the Hub's authorize URL and back, with the session cookie set at the end.

This is what ``jupyterhub.services.auth.HubOAuth`` does for a tornado server (state cookie, login URL,
PKCE, code exchange), without importing it (see ``auth.py``). :class:`OAuthLogin` is the part of
:class:`~hubapps.proxy.auth.HubAuthGate` that does it (a base class: the gate's cookie names, signer
and Hub client, no object in between).

A login in flight is kept **only** in its signed state cookie (state, where to return, issue time); the
PKCE verifier is derived from the state with the secret, so it never leaves the process. Nothing about
pending logins is kept in memory, so no number of anonymous page loads can lock viewers out; a login
started before a restart of the proxy (new secret) fails its state check and is simply started again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from hubapps.proxy import pages
from hubapps.proxy.config import HubSettings
from hubapps.proxy.cookies import CookieSigner, b64encode, cookie_value
from hubapps.proxy.hub_client import HubAPI, HubAPIError
from hubapps.proxy.pages import HUB_TIMEOUT_MESSAGE, error_response
from hubapps.proxy.wire import HTTPAnswer, Request, Response

__all__ = ["OAuthLogin"]

log = logging.getLogger("hubapps.proxy")

#: Max age (seconds) of the OAuth state cookie and state: a login that takes longer simply starts again.
STATE_COOKIE_MAX_AGE = 600
#: Longest return address kept in a state cookie (browsers drop cookies over ~4 KiB); longer ones
#: return to the app's root.
MAX_NEXT_URL_LENGTH = 2048
#: State cookies looked at in one callback (several tabs may be logging in at once).
MAX_STATE_COOKIES = 16


@dataclass(frozen=True)
class _PendingLogin:
    """What a login in flight needs at the callback, read back from its signed state cookie."""

    state: str
    next_url: str
    cookie_name: str


class OAuthLogin:
    """The login redirect and the OAuth callback (attributes set by :class:`~hubapps.proxy.auth.HubAuthGate`)."""

    prefix: str
    api: HubAPI
    redirect_uri: str
    login_url: str
    _hub: HubSettings
    _signer: CookieSigner
    _cookie_name: str
    _state_cookie_name: str
    _cookie_path: str

    def login_redirect(self, request: Request) -> Response:
        """Redirect to the Hub's OAuth authorize URL; the login's state goes in a signed cookie only."""
        next_url = request.path_qs
        if not next_url.startswith(self.prefix) or len(next_url) > MAX_NEXT_URL_LENGTH:
            next_url = self.prefix
        state = secrets.token_urlsafe(16)
        verifier = self._code_verifier(state)
        challenge = b64encode(hashlib.sha256(verifier.encode("ascii")).digest())
        cookie_name = self._state_cookie_name
        if cookie_value(request.header("Cookie"), cookie_name):
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
            raise HTTPAnswer(error_response(400, request, "Login failed at the Hub. Try again."))
        code, state = query.get("code", ""), query.get("state", "")
        if not code or not state:
            raise HTTPAnswer(error_response(400, request, "Incomplete login answer. Try again."))
        pending = self.pending_login(request, state)
        if pending is None:
            raise HTTPAnswer(error_response(403, request, "Login state does not match. Try logging in again."))
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
            raise HTTPAnswer(error_response(502, request, HUB_TIMEOUT_MESSAGE)) from None
        except (HubAPIError, OSError) as error:
            log.error("hubapps-proxy: OAuth code exchange failed: %s: %s", type(error).__name__, error)
            raise HTTPAnswer(error_response(403, request, "Login failed. Try again.")) from None
        token = reply.data.get("access_token") if reply.ok and isinstance(reply.data, dict) else None
        if not isinstance(token, str) or not token:
            log.error("hubapps-proxy: OAuth code exchange refused by the Hub (%s)", reply.status)
            raise HTTPAnswer(error_response(403, request, "Login failed. Try again."))
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
