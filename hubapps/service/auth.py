"""Who is calling: Hub OAuth login for browsers, ``Authorization: token`` for scripts.

- ``GET <prefix>oauth_login?next=…`` sends the browser to the Hub's ``/hub/api/oauth2/authorize`` with
  a random ``state`` and a PKCE challenge, both kept in a sealed, short-lived cookie.
- ``GET <prefix>oauth_callback`` checks ``state`` against that cookie (missing → 400, mismatch → 403),
  exchanges the code (with the PKCE verifier) for the user's token, and keeps the token in a sealed
  HttpOnly, SameSite=Lax cookie (Secure on https); ``next`` is limited to same-origin paths.
- Every API call then carries either that cookie or ``Authorization: token <Hub token>``. Writes
  (anything but GET/HEAD/OPTIONS) authenticated by the cookie need the session's XSRF token in the
  ``X-XSRFToken`` header or an ``_xsrf`` form field, JSON and multipart alike, and are refused when the
  browser says the request is cross-site. Token-authenticated requests need no XSRF token.
- The login (``oauth_login``, ``oauth_callback``) and the pages that hand out an XSRF token answer only
  top-level navigations (:func:`navigation_refusal`), so a script on the Hub's origin (an app's page)
  cannot ``fetch`` its visitor into a session or read the token.

A token is accepted when it holds the service's access scope (tokens made by this login do), or when it
may already read its owner's servers on the Hub (a user's own API token): the service only ever acts
with the caller's token, so it never lets a token do more than the Hub allows it.
"""

from __future__ import annotations

import html
import logging
import secrets
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from hubapps.core.scopes import grants
from hubapps.service.errors import BadRequest, Forbidden, NotAuthenticated, safe_log
from hubapps.service.hub_client import HubClient
from hubapps.service.hub_models import ServerModel, UserModel, servers_of
from hubapps.service.security import CookieSealer, pkce_pair, validate_next_url
from hubapps.service.settings import ServiceSettings

__all__ = [
    "XSRF_HEADER",
    "CurrentUser",
    "Identity",
    "current_user",
    "login_router",
    "navigation_refusal",
    "optional_user",
    "require_token_scope",
]

log = logging.getLogger("hubapps.service.auth")

XSRF_HEADER = "X-XSRFToken"
_XSRF_HEADERS = (XSRF_HEADER, "X-CSRFToken")
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Identity:
    """The caller: their Hub user model, the token the service acts with, and how they came in."""

    name: str
    token: str
    via: str  # "token" or "cookie"
    model: UserModel = field(repr=False)
    session_id: str = ""
    #: :meth:`HubClient.changes_of` the caller when ``model`` was read (see ``lookup.managed_server``).
    changes: int = 0
    #: ``model`` was read from the Hub for this request, not from a cache: the request writes
    #: (any method but GET, HEAD and OPTIONS), and what authorizes a write is never a cached answer.
    #: Operations read what else they rely on (the caller's shares) afresh too.
    fresh: bool = False

    @property
    def admin(self) -> bool:
        return bool(self.model.get("admin"))

    @property
    def groups(self) -> list[str]:
        return list(self.model.get("groups") or [])

    @property
    def scopes(self) -> set[str]:
        return set(self.model.get("scopes") or [])

    @property
    def servers(self) -> dict[str, ServerModel]:
        return servers_of(self.model)


def _state(request: Request) -> Any:
    return request.app.state


def login_cookie_name(settings: ServiceSettings) -> str:
    """``service-japps``, or ``__Host-service-japps`` on an https host of the service's own."""
    return ("__Host-" if settings.host_cookies else "") + settings.client_id


def state_cookie_name(settings: ServiceSettings) -> str:
    return login_cookie_name(settings) + "-oauth-state"


def cookie_path(settings: ServiceSettings) -> str:
    """The path of the service's cookies: its prefix, or ``/`` for ``__Host-`` cookies (which need it)."""
    return "/" if settings.host_cookies else settings.prefix


def _only_cookie(request: Request, name: str) -> str | None:
    """The value of cookie ``name``; refused when the browser sent it more than once.

    Two cookies of one name mean that some other host set one for the whole domain (``document.cookie``
    with ``domain=`` on a sibling host, an app's page under ``subdomain_host``): the browser cannot say
    which is ours, and the other may be the session of whoever set it (cookie tossing). ``__Host-``
    cookies (on https) cannot be set that way at all.
    """
    header = request.headers.get("cookie", "")
    if name not in header:
        return None
    count = sum(1 for part in header.split(";") if part.split("=", 1)[0].strip() == name)
    if count > 1:
        log.warning("Refused a request carrying %d %s cookies (set by another host?)", count, name)
        raise BadRequest(
            "this browser sent the launcher's login cookie twice: another site under this domain set one. "
            "Clear this site's cookies and log in again."
        )
    return request.cookies.get(name)


def _secure(request: Request, settings: ServiceSettings) -> bool:
    return settings.secure_cookies or request.url.scheme == "https"


def _bearer(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() in ("token", "bearer") and token.strip():
        return token.strip()
    return None


async def _xsrf_from_request(request: Request) -> str | None:
    for name in _XSRF_HEADERS:
        value = request.headers.get(name)
        if value:
            return value
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        form = await request.form()
        field = form.get("_xsrf")
        return field if isinstance(field, str) else None
    return None


def _allowed(model: UserModel, settings: ServiceSettings) -> bool:
    scopes = set(model.get("scopes") or [])
    if grants(settings.access_scopes, scopes):
        return True
    name = model.get("name", "")
    return bool({"read:servers", f"read:servers!user={name}", "admin:servers"} & scopes)


_NO_STORE = {"Cache-Control": "no-store", "Vary": "Sec-Fetch-Mode, Sec-Fetch-Dest, Sec-Fetch-Site, Origin"}


def _foreign_origin(request: Request, origin: str) -> bool:
    """``Origin`` names another host than this request's (the scheme is not compared: TLS may end in
    front of the Hub)."""
    return urlsplit(origin).netloc.lower() != request.headers.get("host", "").lower()


def navigation_refusal(request: Request, *, login: bool = False) -> Response | None:
    """A 403 unless the request is a top-level navigation (None: go on).

    Browsers say what a request is for in ``Sec-Fetch-*``: a ``fetch``/XHR is ``Sec-Fetch-Mode: cors``
    (or ``no-cors``/``same-origin``) with ``Sec-Fetch-Dest: empty``, a frame is ``Dest: iframe``; only
    ``Mode: navigate`` + ``Dest: document`` passes (frames are refused too: an app's page could frame
    the launcher). For the login (``login=True``) a navigation from another site
    (``Sec-Fetch-Site: cross-site``) is refused as well, with a link to go on from here, since logging in is
    a side effect; plain pages may be linked from anywhere. Browsers that send no ``Sec-Fetch-*`` at all
    (old ones) are let through, unless the request looks scripted: ``X-Requested-With``, or an ``Origin``
    other than the service's own. The answer carries no cookie and no redirect.
    """
    headers = request.headers
    mode, dest, site = headers.get("Sec-Fetch-Mode"), headers.get("Sec-Fetch-Dest"), headers.get("Sec-Fetch-Site")
    origin = headers.get("Origin")
    reason = ""
    if mode is not None and mode != "navigate":
        reason = "mode"
    elif dest is not None and dest != "document":
        reason = "dest"
    elif headers.get("X-Requested-With"):
        reason = "scripted"
    elif origin is not None and _foreign_origin(request, origin):
        reason = "origin"
    if reason:
        log.warning("Refused a %s that is not a top-level navigation (%s)", safe_log(request.url.path), reason)
        return PlainTextResponse(
            "This page opens only as a page of its own: follow a link to it or type its address.",
            status_code=403,
            headers=_NO_STORE,
        )
    if login and site == "cross-site":
        log.warning("Refused a login started from another site")
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return HTMLResponse(
            "<!doctype html><title>Log in</title><p>A page on another site sent you to the app launcher's "
            f'login. <a href="{html.escape(here)}">Continue to log in</a></p>',
            status_code=403,
            headers=_NO_STORE,
        )
    return None


async def resolve_identity(request: Request, *, check_xsrf: bool = True) -> Identity | None:
    """The caller, or None when the request carries no credentials (bad credentials raise)."""
    settings: ServiceSettings = _state(request).settings
    hub: HubClient = _state(request).hub
    token = _bearer(request)
    via, session_id = "token", ""
    if token is None:
        sealer: CookieSealer = _state(request).sealer
        payload = sealer.open(login_cookie_name(settings), _only_cookie(request, login_cookie_name(settings)))
        if payload is None:
            return None
        token, session_id, via = str(payload.get("t", "")), str(payload.get("s", "")), "cookie"
        if check_xsrf and request.method not in _SAFE_METHODS:
            site = request.headers.get("Sec-Fetch-Site")
            if site is not None and site not in ("same-origin", "none"):
                raise Forbidden("cross-site request refused")
            if not sealer.check_xsrf(session_id, await _xsrf_from_request(request)):
                raise Forbidden(f"missing or wrong XSRF token (send it in the {XSRF_HEADER} header or an _xsrf field)")
    # Reads may be answered from the Hub client's cache (refreshed in the background); a write asks
    # the Hub afresh, so a revoked token or role stops writing at once.
    fresh = request.method not in _SAFE_METHODS
    model = await hub.whoami(token, fresh=fresh)
    if model is None or not _allowed(model, settings):
        raise NotAuthenticated("the token is not valid for this service; log in again")
    name = str(model["name"])
    return Identity(
        name=name,
        token=token,
        via=via,
        model=model,
        session_id=session_id,
        changes=hub.changes_of(name),
        fresh=fresh,
    )


async def require_token_scope(request: Request, scope: str) -> None:
    """Let through only a request whose ``Authorization`` token holds ``scope`` on the Hub (403 otherwise,
    with or without a token), as JupyterHub's own ``/metrics`` does with ``read:metrics``
    (``authenticate_prometheus``). A user's or a service's token (Prometheus is usually a service); a
    login cookie is not enough: scrapers send tokens."""
    token = _bearer(request)
    hub: HubClient = _state(request).hub
    if not token or scope not in await hub.token_scopes(token):
        raise Forbidden(f"this needs a Hub token with the scope {scope!r}")


async def current_user(request: Request) -> Identity:
    identity = await resolve_identity(request)
    if identity is None:
        raise NotAuthenticated(
            "log in through the Hub, or send 'Authorization: token <Hub API token>'",
        )
    return identity


async def optional_user(request: Request) -> Identity | None:
    try:
        return await resolve_identity(request, check_xsrf=False)
    except NotAuthenticated:
        return None


CurrentUser = Annotated[Identity, Depends(current_user)]


# -- login routes -----------------------------------------------------------------------------------


def login_router(settings: ServiceSettings) -> APIRouter:
    prefix = settings.prefix.rstrip("/")
    router = APIRouter(prefix=prefix, include_in_schema=False)

    def cookie_kwargs(request: Request, max_age: int) -> dict[str, Any]:
        return {
            "path": cookie_path(settings),
            "httponly": True,
            "samesite": "lax",
            "secure": _secure(request, settings),
            "max_age": max_age,
        }

    @router.get("/oauth_login")
    @router.get("/jhub-login")  # upstream JHub Apps' login URL
    async def oauth_login(request: Request, next: str = "") -> Response:
        refused = navigation_refusal(request, login=True)
        if refused is not None:
            return refused
        host = request.headers.get("host", "")
        target = validate_next_url(next, host=host, proto=request.url.scheme) or settings.prefix
        if next and target != next:
            log.warning("Refusing login redirect outside the Hub: %s", safe_log(next))
        state = secrets.token_urlsafe(16)
        verifier, challenge = pkce_pair()
        sealer: CookieSealer = _state(request).sealer
        value = sealer.seal(
            state_cookie_name(settings), {"state": state, "next": target, "v": verifier}, settings.oauth_state_max_age
        )
        query = urlencode(
            {
                "client_id": settings.client_id,
                "redirect_uri": settings.oauth_callback_url,
                "response_type": "code",
                "state": state,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        # The Hub's own origin (``hub_pages``): under subdomain_host the service has a host of its own.
        response = RedirectResponse(f"{settings.hub_pages}api/oauth2/authorize?{query}", status_code=302)
        response.set_cookie(state_cookie_name(settings), value, **cookie_kwargs(request, settings.oauth_state_max_age))
        return response

    @router.get("/oauth_callback")
    async def oauth_callback(request: Request, code: str = "", state: str = "", error: str = "") -> Response:
        refused = navigation_refusal(request)
        if refused is not None:
            return refused
        if error:
            raise BadRequest("the Hub refused the login; try again")
        if not code or not state:
            raise BadRequest("the login answer is missing its code or state; log in again")
        sealer: CookieSealer = _state(request).sealer
        saved = sealer.open(state_cookie_name(settings), _only_cookie(request, state_cookie_name(settings)))
        if saved is None or not secrets.compare_digest(str(saved.get("state", "")), state):
            log.warning("OAuth state mismatch on login callback")
            raise Forbidden("the login state does not match; log in again")
        hub: HubClient = _state(request).hub
        token = await hub.token_for_code(
            code,
            client_id=settings.client_id,
            client_secret=settings.api_token.get_secret_value(),
            redirect_uri=settings.oauth_callback_url,
            code_verifier=str(saved.get("v", "")),
        )
        if token is None:
            raise Forbidden("the Hub did not accept the login; log in again")
        model = await hub.whoami(token, fresh=True)
        if model is None:
            raise Forbidden("the Hub did not accept the login; log in again")
        log.info("Logged in: %s", safe_log(model.get("name")))
        session_id = secrets.token_urlsafe(16)
        response = RedirectResponse(str(saved.get("next") or settings.prefix), status_code=302)
        response.set_cookie(
            login_cookie_name(settings),
            sealer.seal(login_cookie_name(settings), {"t": token, "s": session_id}, settings.cookie_max_age),
            **cookie_kwargs(request, settings.cookie_max_age),
        )
        response.delete_cookie(state_cookie_name(settings), path=cookie_path(settings))
        # Readable by the launcher's own scripts, which echo it in the X-XSRFToken header.
        response.set_cookie(
            "_xsrf",
            sealer.xsrf_token(session_id),
            path=cookie_path(settings),
            samesite="lax",
            secure=_secure(request, settings),
            max_age=settings.cookie_max_age,
        )
        return response

    @router.get("/logout")
    async def logout(request: Request) -> Response:
        response = RedirectResponse(f"{settings.hub_pages}logout", status_code=302)
        response.delete_cookie(login_cookie_name(settings), path=cookie_path(settings))
        response.delete_cookie("_xsrf", path=cookie_path(settings))
        return response

    return router
