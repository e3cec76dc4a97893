"""Rendering the launcher's pages: the Jinja2 environment, each page's CSP, the common context, and
the URLs pages show (the gallery's home, an app's public address, thumbnails).

Pages carry a strict CSP (:func:`page_csp`): scripts only with the response's nonce, styles, images
and fetches only from the launcher's and the Hub's own paths.
"""

from __future__ import annotations

import functools
import re
import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from hubapps import __version__
from hubapps.service.auth import Identity
from hubapps.service.settings import ServiceSettings

__all__ = [
    "STATIC",
    "TEMPLATES",
    "apps_home",
    "login_redirect",
    "logo_url",
    "page_context",
    "page_csp",
    "public_app_url",
    "q",
    "render",
    "render_page",
    "thumbnail_url",
]

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"


def q(value: str) -> str:
    """``value`` escaped as one path segment or query value."""
    return quote(value, safe="")


def when(value: str | None, none: str = "") -> str:
    """A time the Hub gave (ISO 8601 in UTC) as pages show it, to the minute: ``2026-01-31 14:05 UTC``."""
    return f"{value[:16].replace('T', ' ')} UTC" if value else none


_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["q"] = q
_env.filters["when"] = when


#: What a ``Host`` header may hold to be named in a page's CSP (anything else: no host-sources at all).
_HOST = re.compile(r"[A-Za-z0-9.\-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")


def _theme_source(host: str, url: str) -> str:
    """A CSP source for one theme address (already checked by :func:`hubapps.core.theme.theme_url`):
    exactly that file (CSP ignores the query), on this host when it is a path; "" if none can be written."""
    parts = urlsplit(url)
    path = quote(parts.path or "/", safe="/-._~!$&'*+=:@%")  # no ; or , (they separate CSP directives)
    if parts.scheme:
        return f"{parts.scheme}://{parts.netloc}{path}"
    return f"{host}{path}" if host else ""


def _image_source(host: str, url: str) -> str:
    """A CSP source for exactly one admin-set image (``app_icon``, ``default_thumbnail``: a path or an
    http(s) URL, checked by the settings); on this host when it is a path; "" if none can be written."""
    parts = urlsplit(url)
    path = quote(parts.path or "/", safe="/-._~!$&'*+=:@%")  # no ; or , (they separate CSP directives)
    if parts.scheme in ("http", "https") and _HOST.fullmatch(parts.netloc):
        return f"{parts.scheme}://{parts.netloc}{path}"
    return f"{host}{path}" if host and not parts.scheme and not parts.netloc else ""


def page_csp(
    nonce: str,
    *,
    host: str,
    prefix: str,
    hub_prefix: str,
    frame_ancestors: str = "'none'",
    theme: Mapping[str, str] | None = None,
    images: Sequence[str] = (),
) -> str:
    """The CSP of a launcher page: scripts only with this response's ``nonce``; everything else only
    from the few paths of this host the page needs (never ``'self'``, which would admit whatever an app
    serves under ``/user/...`` on the same origin).

    ``host`` is the ``Host`` the browser asked for; sources without a scheme match the page's own
    scheme (and its https upgrade). The Hub's stylesheet ``@import``s Font Awesome from its static
    folder, so styles and fonts come from there and from the launcher's ``static/``.

    A ``theme`` (:mod:`hubapps.core.theme`) adds exactly what it names: the launcher's ``theme.css``,
    its ``font_url`` stylesheet, its logo and favicon files; and, for a web font, fonts over https
    (where a font stylesheet takes its files from is not known in advance).

    ``images``: the admin's image addresses the page may show (each exactly that file).
    """
    if not _HOST.fullmatch(host):
        host = ""  # no host-source can be written: only the nonce'd scripts and data: images work

    def at(*paths: str, extra: tuple[str, ...] = ()) -> str:
        sources = [f"{host}{path}" for path in paths] if host else []
        return " ".join([*sources, *extra]) or "'none'"

    theme = theme or {}
    styles: list[str] = []
    theme_images: list[str] = []
    fonts: list[str] = []
    if theme and host:
        styles.append(f"{host}{prefix}theme.css")
    for key, kind in (("font_url", styles), ("logo", theme_images), ("favicon", theme_images)):
        source = _theme_source(host, theme[key]) if theme.get(key) else ""
        if source:
            kind.append(source)
    if theme.get("font_url") and (host or urlsplit(theme["font_url"]).scheme):
        fonts.append("https:" if urlsplit(theme["font_url"]).scheme else host)
    hub_static, own_static = f"{hub_prefix}static/", f"{prefix}static/"
    admin_images = [source for source in (_image_source(host, url) for url in images if url) if source]
    # Besides thumbnails, the frameworks' logos, the Hub's logo and static images: the theme's and admin's.
    image_sources = (*theme_images, *admin_images, "data:")
    thumbnails, logos, hub_logo = f"{prefix}ui/thumbnails/", f"{own_static}logos/", f"{hub_prefix}logo"
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src 'nonce-{nonce}'",
            f"style-src {at(hub_static, own_static, extra=tuple(styles))}",
            f"img-src {at(thumbnails, logos, hub_static, hub_logo, extra=image_sources)}",
            f"font-src {at(hub_static, extra=tuple(fonts))}",
            # The API, and the gallery fragment the launcher's own gallery page loads (subdomain_host).
            f"connect-src {at(f'{prefix}api/', f'{prefix}ui/gallery')}",
            f"form-action {at(prefix, f'{hub_prefix}home')}",
            "base-uri 'none'",
            "object-src 'none'",
            f"frame-ancestors {frame_ancestors}",
        ]
    )


def render(
    request: Request,
    settings: ServiceSettings,
    name: str,
    status: int = 200,
    *,
    frame_ancestors: str = "'none'",
    **context: Any,
) -> HTMLResponse:
    """A page from ``templates/``, with a fresh CSP nonce for its ``<script>`` tags (``csp_nonce``)."""
    nonce = secrets.token_urlsafe(18)
    html = _env.get_template(name).render(**context, csp_nonce=nonce)
    csp = page_csp(
        nonce,
        host=request.headers.get("host", ""),
        prefix=settings.prefix,
        hub_prefix=settings.hub_prefix,
        frame_ancestors=frame_ancestors,
        theme=settings.theme,
        images=(settings.app_icon, settings.default_thumbnail),
    )
    return HTMLResponse(html, status_code=status, headers={"Content-Security-Policy": csp, "Cache-Control": "no-store"})


def _base_prefix(settings: ServiceSettings) -> str:
    """The Hub's ``base_url`` (``/`` or ``/jupyter/``), from its ``hub/`` prefix."""
    return settings.hub_prefix[: -len("hub/")] if settings.hub_prefix.endswith("hub/") else "/"


def page_context(request: Request, settings: ServiceSettings, identity: Identity | None) -> dict[str, Any]:
    """What every launcher page's template gets: titles, prefixes, links, the user and the XSRF token."""
    xsrf = ""
    if identity is not None and identity.via == "cookie":
        xsrf = request.app.state.sealer.xsrf_token(identity.session_id)
    return {
        "title": settings.title,
        "app_icon": settings.app_icon,
        "prefix": settings.prefix,
        "hub_prefix": settings.hub_prefix,
        # Links to the Hub's pages, and to the app gallery (the Hub home, or the service's own page
        # when the service has a host of its own under subdomain_host).
        "hub_pages": settings.hub_pages,
        "apps_home": apps_home(settings),
        "base_prefix": _base_prefix(settings),
        "static": f"{settings.prefix}static/",
        "version": __version__,
        "user": identity.name if identity else "",
        "admin": identity.admin if identity else False,
        "xsrf": xsrf,
        "poll_ms": int(settings.watch_poll_seconds * 1000),
        "allow_sharing": settings.allow_sharing,
        # The Hub's theme (checked: hubapps.core.theme); base.html links theme.css when there is one.
        "theme": settings.theme,
    }


def render_page(name: str, request: Request, settings: ServiceSettings, identity: Identity) -> HTMLResponse:
    """A launcher page with nothing but the common context."""
    return render(request, settings, name, **page_context(request, settings, identity))


def login_redirect(request: Request, settings: ServiceSettings) -> Response:
    """To the service's OAuth login, coming back to this very page."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{settings.prefix}oauth_login?next={q(target)}", status_code=302)


def apps_home(settings: ServiceSettings) -> str:
    """Where the app gallery is: the Hub's home page, or the service's own page on a host of its own
    (the Hub's page cannot fetch the gallery from another origin: the service allows no CORS)."""
    return settings.prefix if settings.own_host else f"{settings.hub_prefix}home"


def public_app_url(settings: ServiceSettings, path: str) -> str:
    """The address users open an app at: the Hub's public origin and the app's (escaped) path, or the
    Hub's URL of the app when it is a full one (on the owner's host under ``subdomain_host``).

    Never ``proxy_url``, which is where the service itself reaches apps (often an internal address).
    Empty when the Hub has no ``public_url``: the page's script then puts the browser's own origin in.
    """
    if urlsplit(path).netloc:
        return path
    if settings.own_host:
        return ""  # the service's public URL is its own host, not the apps' (the script fills it in)
    if not settings.public_url:
        return ""
    parts = urlsplit(settings.public_url)
    return f"{parts.scheme}://{parts.netloc}{path}"


@functools.cache
def _logos() -> frozenset[str]:
    """The frameworks that have a logo of their own (read once: the package's files do not change)."""
    return frozenset(path.stem for path in (STATIC / "logos").glob("*.svg"))


def logo_url(settings: ServiceSettings, framework: str) -> str:
    """A framework's logo (``static/logos/<name>.svg``), or the generic one for a plugin's without its own."""
    name = framework if framework in _logos() else "framework"
    return f"{settings.prefix}static/logos/{name}.svg"


def thumbnail_url(settings: ServiceSettings, ref: str) -> str:
    """Where a stored thumbnail is served (empty for anything that is not a stored image's ref)."""
    return f"{settings.prefix}ui/thumbnails/{ref}" if ref.startswith("sha256:") else ""
