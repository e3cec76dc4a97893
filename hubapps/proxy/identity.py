"""Identity at the app's door: what the proxy removes from a request, and what it adds.

The app is code of its owner, who may be hostile to viewers; viewers may forge who they are. So, before
a request is forwarded:

- every client-sent header that **claims an identity** is removed (:func:`claims_identity`). Apps and
  their frameworks trust many such names (older launchers: ``X-CDSDASHBOARDS-JH-USER``,
  ``X-Forwarded-User-Data``; auth proxies: ``X-Auth-Request-*``, ``Remote-User``, ``X-Forwarded-Email``,
  ``X-Webauth-User``, ...), and WSGI servers fold ``-`` and ``_`` together (``X_Forwarded_User`` becomes
  ``HTTP_X_FORWARDED_USER``), so this is a rule over the normalised name, not a list of spellings;
- every **login cookie** is removed (:func:`is_login_cookie`): the Hub's session cookies and the login
  (and OAuth state) cookies of every other server or service, ``__Host-``/``__Secure-`` prefixed ones
  included. Under JupyterHub's ``cookie_host_prefix_enabled`` they all have path ``/``, so the browser
  sends every one of them to every app.

Then the identity the Hub vouched for is added (:func:`identity_headers`): ``X-Hubapps-User`` and
``X-Hubapps-Groups``, and upstream JHub Apps' ``X-Forwarded-User-Data`` (compact JSON in the shape
jhub-app-proxy sends: ``name``, ``admin``, ``roles``, ``groups``, ``scopes``), so apps written for
upstream read the real viewer. Anonymous viewers of public apps get none of these.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import TYPE_CHECKING

from hubapps.proxy.wire import header_value

if TYPE_CHECKING:
    from hubapps.proxy.auth import Viewer

__all__ = ["claims_identity", "confine_set_cookie", "identity_headers", "is_login_cookie", "unprefixed_cookie_name"]

#: Normalised names (lower case, ``-`` for ``_``) that claim an identity outright.
IDENTITY_NAMES = frozenset(
    {
        "gap-auth",  # oauth2-proxy
        "rstudio-connect-credentials",  # Posit Connect
        "shiny-server-credentials",  # Shiny Server Pro
    }
)
#: Normalised name prefixes of identity (or viewer credential) headers of launchers and auth proxies.
IDENTITY_PREFIXES = (
    "x-hubapps-",  # ours
    "x-forwarded-user",  # jhub-app-proxy (-data), oauth2-proxy, Databricks
    "x-forwarded-email",
    "x-forwarded-preferred-username",
    "x-forwarded-groups",
    "x-forwarded-access-token",
    "x-auth-request-",  # oauth2-proxy, nginx auth_request
    "x-jupyterhub-",  # X-JupyterHub-User; X-Jupyterhub-Api-Token (jhub-app-proxy reads a token from it)
    "x-cdsdashboards-",  # jhsingle-native-proxy, cdsdashboards
    "remote-",  # Authelia, Apache
    "x-remote-",  # Kubernetes' auth proxy
    "x-webauth-",  # Grafana
    "x-ms-client-principal",  # Azure App Service
    "x-ms-token-",
    "x-amzn-oidc-",  # AWS load balancers
    "x-goog-authenticated-",  # Google IAP
    "x-goog-iap-",
    "cf-access-",  # Cloudflare Access
    "x-pomerium-",
    "x-authentik-",
    "x-vouch-",
    "oidc-",  # mod_auth_openidc (OIDC_CLAIM_*, OIDC_access_token)
    "tailscale-",
    "x-sp-",  # ShinyProxy
    "sf-context-current-",  # Streamlit in Snowflake
)
#: Words that make a header an identity claim: any ``X-`` header with one of these words, and any header
#: made only of these and :data:`QUALIFIER_WORDS` (``User``, ``Auth-User``, ``Authenticated-Email``).
IDENTITY_WORDS = frozenset(
    {
        "user",
        "users",
        "username",
        "userid",
        "uid",
        "email",
        "mail",
        "group",
        "groups",
        "role",
        "roles",
        "login",
        "principal",
        "identity",
        "claim",
        "claims",
        "credentials",
    }
)
QUALIFIER_WORDS = frozenset({"x", "auth", "authenticated", "remote", "forwarded", "preferred", "current", "real"})

#: Cookie name prefixes that only say how the browser must treat the cookie (RFC 6265bis, matched
#: case-insensitively as browsers now do).
COOKIE_PREFIXES = ("__host-", "__secure-")
#: (Unprefixed) cookie names of JupyterHub logins: the Hub's (``jupyterhub-hub-login``,
#: ``jupyterhub-session-id``), every server's OAuth client (``jupyterhub-user-<user>-<server>`` and its
#: ``-oauth-state`` cookies, this proxy's own among them) and every service's (``service-<name>``).
LOGIN_COOKIE_PREFIXES = ("jupyterhub-", "service-")


@lru_cache(maxsize=2048)
def claims_identity(name: str) -> bool:
    """Whether a request header ``name`` claims who the viewer is (then the viewer may not send it).

    The name is normalised (lower case, ``_`` → ``-``), then matched against :data:`IDENTITY_NAMES`,
    :data:`IDENTITY_PREFIXES` and the word rule of :data:`IDENTITY_WORDS`. (Cached: browsers and
    configurable-http-proxy send the same few names again and again.)
    """
    normal = name.lower().replace("_", "-")
    if normal in IDENTITY_NAMES or normal.startswith(IDENTITY_PREFIXES):
        return True
    words = [word for word in normal.split("-") if word]
    if not words:
        return False
    if words[0] == "x" and any(word in IDENTITY_WORDS for word in words[1:]):
        return True
    return any(word in IDENTITY_WORDS for word in words) and all(
        word in IDENTITY_WORDS or word in QUALIFIER_WORDS for word in words
    )


def unprefixed_cookie_name(name: str) -> str:
    """``name`` without its ``__Host-``/``__Secure-`` prefixes, lower case."""
    lower = name.lower()
    while lower.startswith(COOKIE_PREFIXES):
        lower = lower.split("-", 1)[1]
    return lower


def is_login_cookie(name: str) -> bool:
    """Whether cookie ``name`` is a JupyterHub login (the Hub's, a server's or a service's), in any prefixed
    form. No app behind this proxy needs one, and each is a credential of the viewer somewhere else."""
    return unprefixed_cookie_name(name).startswith(LOGIN_COOKIE_PREFIXES)


def confine_set_cookie(value: str, prefix: str, *, strip_prefix: bool) -> str | None:
    """An app's ``Set-Cookie`` ``value`` confined to the app's own URL prefix, or ``None`` to drop it.

    Without this an app could toss a cookie onto the Hub, the launcher or another user's app (a
    ``service-japps`` cookie on ``/services/japps/`` logged the next visitor in as the app's owner):

    - ``Domain`` is removed, so the cookie is host-only (an app must not reach sibling hosts);
    - a ``Path`` outside ``prefix`` (``/user/ann/sales/``) becomes the prefix, so the cookie still reaches
      the app and nothing else; for apps that serve at ``/`` behind the proxy (``strip_prefix``) a ``Path``
      is read relative to the prefix first (``/static`` → ``/user/ann/sales/static``);
    - a JupyterHub login cookie (any ``jupyterhub-*``/``service-*``, in any prefixed form) or a ``__Host-``
      cookie (which the browser only takes with ``Path=/``) is dropped.
    """
    parts = value.split(";")
    name = parts[0].split("=", 1)[0].strip()
    if not name or is_login_cookie(name) or name.lower().startswith("__host-"):
        return None
    kept = [parts[0]]
    for attribute in parts[1:]:
        key, _, raw = attribute.partition("=")
        key = key.strip().lower()
        if key == "domain":
            continue
        if key == "path":
            path = raw.strip()
            if strip_prefix and path.startswith("/") and not path.startswith(prefix):
                path = prefix + path[1:]
            inside = path == prefix.rstrip("/") or path.startswith(prefix)
            if not inside or ".." in path.split("/") or "%2e" in path.lower():
                path = prefix  # the app's own cookie, for the app only (Path=/ from a server that assumes a host)
            attribute = f" Path={path}"
        kept.append(attribute)
    return ";".join(kept)


def identity_headers(viewer: Viewer) -> tuple[tuple[str, str], ...]:
    """The headers that tell the app who ``viewer`` is.

    ``X-Forwarded-User-Data`` has upstream's keys; ``scopes`` is always empty (the viewer's scopes would
    tell the app's owner which other servers the viewer may open).
    """
    data = {
        "name": viewer.name,
        "admin": viewer.admin,
        "roles": list(viewer.roles),
        "groups": list(viewer.groups),
        "scopes": [],
    }
    return (
        ("X-Hubapps-User", header_value(viewer.name)),
        ("X-Hubapps-Groups", header_value(",".join(viewer.groups))),
        # ASCII JSON: no control character or non-latin-1 byte can reach the header.
        ("X-Forwarded-User-Data", json.dumps(data, separators=(",", ":"))),
    )
