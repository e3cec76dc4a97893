"""The launcher's pages, rendered on the server (Jinja2, autoescape) on top of the REST API.

=========================================  =======================================================
``<prefix>ui/gallery``                     the app gallery as an HTML fragment (the Hub home page
                                           inserts it; same query as ``/hub/home``)
``<prefix>create-app`` (GET, POST)         deploy form (``?filepath=&headless=true`` kept for the
                                           jupyterlab-jhub-apps extension)
``<prefix>ui/apps/<owner>/<app>``          details: spec, status, URL, shares, live log
``<prefix>ui/apps/<owner>/<app>/edit``     edit form (GET, POST)
``<prefix>ui/apps/<owner>/<app>/watch``    start progress: Hub progress + the app's log, then opens it
``<prefix>ui/thumbnails/sha256:<hex>``     re-encoded thumbnails (``nosniff``, sandbox CSP)
=========================================  =======================================================

Forms post to the service itself (``_xsrf`` field, checked by :mod:`hubapps.service.auth`); the
handlers call the REST API's route functions with a JSON body, so the rules and the Hub calls are
exactly the API's. On an error the form comes back with everything the user typed and the message
next to its field. Pages carry a strict CSP (:func:`page_csp`): scripts only with the response's
nonce, styles, images and fetches only from the launcher's and the Hub's own paths. No ``GET`` here
changes anything: starting is a ``POST`` (the start page's button, or the forms' "start" boxes).
"""

from __future__ import annotations

import base64
import json
import logging
import math
import re
import secrets
import shlex
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel
from starlette.datastructures import FormData, UploadFile

from hubapps import __version__
from hubapps.core.errors import SpecError
from hubapps.service.apps import app_url
from hubapps.service.auth import Identity, current_user, navigation_refusal, optional_user
from hubapps.service.deps import Directory, Hub, Registry, Settings
from hubapps.service.errors import NotAuthenticated, NotFound, ServiceError, safe_log
from hubapps.service.routes import apps as apps_routes
from hubapps.service.routes import shares as shares_routes
from hubapps.service.schemas import AppPublic
from hubapps.service.secrets import SecretEnvMarks, looks_secret, sealer_of
from hubapps.service.settings import ServiceSettings
from hubapps.service.thumbnails import THUMBNAIL_HEADERS, Thumbnail, ThumbnailStore

__all__ = ["STATIC", "TEMPLATES", "apps_home", "create_form", "json_request", "page_csp", "render_page", "router"]

log = logging.getLogger("hubapps.service.ui")

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
STATIC = Path(__file__).resolve().parent.parent / "static"

router = APIRouter(include_in_schema=False)

#: Blank environment-variable rows offered below the app's own.
_BLANK_ENV_ROWS = 2
_SORTS = {"recent": "-last_activity", "name": "name"}
_ACCESS = ("owned", "shared", "public")
_STATES = ("running", "starting", "stopped")
# REST API field → form field, for showing an error next to the right input.
_FIELD_MAP = {
    "repository": "repo_url",
    "repository.url": "repo_url",
    "repository.ref": "repo_ref",
    "secret_env": "env",
}


def _q(value: str) -> str:
    return quote(value, safe="")


_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["q"] = _q


#: What a ``Host`` header may hold to be named in a page's CSP (anything else: no host-sources at all).
_HOST = re.compile(r"[A-Za-z0-9.\-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")


def page_csp(
    nonce: str, *, host: str, prefix: str, hub_prefix: str, frame_ancestors: str = "'none'"
) -> str:
    """The CSP of a launcher page: scripts only with this response's ``nonce``; everything else only
    from the few paths of this host the page needs (never ``'self'``, which would admit whatever an app
    serves under ``/user/...`` on the same origin).

    ``host`` is the ``Host`` the browser asked for; sources without a scheme match the page's own
    scheme (and its https upgrade). The Hub's stylesheet ``@import``s Font Awesome from its static
    folder, so styles and fonts come from there and from the launcher's ``static/``.
    """
    if not _HOST.fullmatch(host):
        host = ""  # no host-source can be written: only the nonce'd scripts and data: images work

    def at(*paths: str) -> str:
        return " ".join(f"{host}{path}" for path in paths) if host else "'none'"

    hub_static, own_static = f"{hub_prefix}static/", f"{prefix}static/"
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src 'nonce-{nonce}'",
            f"style-src {at(hub_static, own_static)}",
            f"img-src {at(f'{prefix}ui/thumbnails/', hub_static, f'{hub_prefix}logo') if host else ''} data:",
            f"font-src {at(hub_static)}",
            # The API, and the gallery fragment the launcher's own gallery page loads (subdomain_host).
            f"connect-src {at(f'{prefix}api/', f'{prefix}ui/gallery')}",
            f"form-action {at(prefix, f'{hub_prefix}home')}",
            "base-uri 'none'",
            "object-src 'none'",
            f"frame-ancestors {frame_ancestors}",
        ]
    )


def _render(
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
    )
    return HTMLResponse(html, status_code=status, headers={"Content-Security-Policy": csp, "Cache-Control": "no-store"})


def _base_prefix(settings: ServiceSettings) -> str:
    """The Hub's ``base_url`` (``/`` or ``/jupyter/``), from its ``hub/`` prefix."""
    return settings.hub_prefix[: -len("hub/")] if settings.hub_prefix.endswith("hub/") else "/"


def _context(request: Request, settings: ServiceSettings, identity: Identity | None) -> dict[str, Any]:
    xsrf = ""
    if identity is not None and identity.via == "cookie":
        xsrf = request.app.state.sealer.xsrf_token(identity.session_id)
    return {
        "title": settings.title,
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
    }


def render_page(name: str, request: Request, settings: ServiceSettings, identity: Identity) -> HTMLResponse:
    """A launcher page with nothing but the common context."""
    return _render(request, settings, name, **_context(request, settings, identity))


def _login_redirect(request: Request, settings: ServiceSettings) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{settings.prefix}oauth_login?next={_q(target)}", status_code=302)


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


def thumbnail_url(settings: ServiceSettings, ref: str) -> str:
    return f"{settings.prefix}ui/thumbnails/{ref}" if ref.startswith("sha256:") else ""


def _stores(request: Request) -> tuple[ThumbnailStore, SecretEnvMarks]:
    return request.app.state.thumbnails, request.app.state.secret_env


# -- calling the REST API's route functions -----------------------------------------------------------


def json_request(request: Request, body: Mapping[str, Any], method: str = "POST") -> Request:
    """A copy of ``request`` whose body is ``body`` as JSON (what the API's body reader expects)."""
    data = json.dumps(body).encode()
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": data, "more_body": False}

    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    return Request({**request.scope, "method": method, "headers": headers}, receive)


def _response_json(response: object) -> dict[str, Any]:
    if isinstance(response, BaseModel):
        return response.model_dump()
    if isinstance(response, Response) and response.body:
        data = json.loads(bytes(response.body))
        return data if isinstance(data, dict) else {}
    return {}


def _form_field(api_field: str | None) -> str:
    if not api_field:
        return "_form"
    if api_field in _FIELD_MAP:
        return _FIELD_MAP[api_field]
    head = api_field.split(".", 1)[0]
    return {"repository": "repo_url", "args": "command"}.get(head, head)


async def _api_call(errors: dict[str, str], call: Callable[[], Awaitable[object]]) -> dict[str, Any] | None:
    """Run an API route function; a refusal lands in ``errors`` under the form field it concerns."""
    try:
        return _response_json(await call())
    except SpecError as exc:
        errors[_form_field(exc.field)] = exc.message
    except NotAuthenticated:
        raise
    except ServiceError as exc:
        errors[_form_field(exc.field)] = exc.message
    return None


# -- gallery ----------------------------------------------------------------------------------------


def _card(settings: ServiceSettings, app: AppPublic) -> dict[str, Any]:
    return {
        "app": app,
        "thumb": thumbnail_url(settings, app.thumbnail),
        "initial": (app.display_name[:1] or "?").upper(),
        "manage": app.access in ("owned", "admin"),
        "shared": app.access == "shared",
    }


@router.get("/ui/gallery")
async def gallery(
    request: Request,
    hub: Hub,
    directory: Directory,
    registry: Registry,
    settings: Settings,
    q: str = "",
    framework: str = "",
    state: str = "",
    access: str = "",
    sort: str = "recent",
    view: str = "grid",
    page: int = 1,
    per_page: int = 0,
) -> Response:
    """The gallery fragment; 403 (JSON) when the browser has not logged in to the service yet.

    The Hub home page fetches it (it is not a navigation), so it carries the XSRF token to a ``fetch``;
    it is refused unless the browser says the request comes from this origin (or says nothing).
    """
    site = request.headers.get("Sec-Fetch-Site")
    if (site is not None and site not in ("same-origin", "none")) or request.headers.get("Sec-Fetch-Dest") == "iframe":
        return Response("The gallery is shown on the Hub's home page only.", 403, media_type="text/plain")
    identity = await current_user(request)
    q = q.strip()[:200]
    framework = framework if framework in registry else ""
    state = state if state in _STATES else ""
    access = access if access in _ACCESS else ""
    sort = sort if sort in _SORTS else "recent"
    view = view if view in ("grid", "table") else "grid"
    per_page = min(per_page or settings.gallery_page_size, settings.gallery_page_max)
    page = max(page, 1)
    listing = await apps_routes.list_apps(
        identity,
        hub,
        directory,
        settings,
        access=[access] if access else None,
        framework=framework or None,
        state=state or None,
        q=q or None,
        sort=_SORTS[sort],
        offset=(page - 1) * per_page,
        limit=per_page,
        all_servers=False,
    )
    pages = max(1, math.ceil(listing.count / per_page))
    query = {"q": q, "framework": framework, "state": state, "access": access, "sort": sort, "view": view}
    if per_page != settings.gallery_page_size:
        query["per_page"] = str(per_page)
    defaults = {"sort": "recent", "view": "grid"}
    kept = {k: v for k, v in query.items() if v and defaults.get(k) != v}

    def link(**change: Any) -> str:
        merged = {**kept, **{k: str(v) for k, v in change.items()}}
        merged = {k: v for k, v in merged.items() if v and not (k == "page" and v == "1")}
        return apps_home(settings) + (f"?{urlencode(merged)}" if merged else "")

    return _render(
        request,
        settings,
        "gallery.html",
        **_context(request, settings, identity),
        cards=[_card(settings, a) for a in listing.data],
        count=listing.count,
        page=page,
        pages=pages,
        query=query,
        link=link,
        frameworks=list(registry),
        filtered=bool(q or framework or state or access),
    )


# -- thumbnails -------------------------------------------------------------------------------------


@router.get("/ui/thumbnails/{ref}")
async def thumbnail(ref: str, request: Request) -> Response:
    thumbs, _ = _stores(request)
    found = await thumbs.get(ref)
    if found is None:
        raise NotFound()
    return Response(found.data, media_type=found.content_type, headers=THUMBNAIL_HEADERS)


# -- deploy and edit ----------------------------------------------------------------------------------


def _blank_values(filepath: str = "", framework: str = "") -> dict[str, Any]:
    return {
        "display_name": "",
        "description": "",
        "framework": framework,
        "filepath": filepath,
        "command": "",
        "python_env": "",
        "profile": "",
        "keep_alive": False,
        "public": False,
        "start": True,
        "restart": True,
        "source": "file",
        "repo_url": "",
        "repo_ref": "",
        "repo_subdirectory": "",
        "thumbnail_ref": "",
        "thumbnail_data": "",
        "env": [],
        "share_users": "",
        "share_groups": "",
    }


def _values_from_spec(spec: Mapping[str, Any], legacy: set[str]) -> dict[str, Any]:
    """The form's values for a stored spec. Secret values are never put in the form: a secret row
    comes back blank, meaning "keep". Plain variables of a version 1 spec that were meant to be secret
    (``legacy`` marks, credential-like names) show as secrets too, and are encrypted when saved."""
    values = _blank_values()
    repo = spec.get("repository") or {}
    values.update(
        display_name=spec.get("display_name", ""),
        description=spec.get("description", ""),
        framework=spec.get("framework", ""),
        filepath=spec.get("filepath", ""),
        command=shlex.join(spec.get("command") or []),
        python_env=spec.get("python_env", ""),
        profile=spec.get("profile", ""),
        keep_alive=bool(spec.get("keep_alive")),
        public=bool(spec.get("public")),
        source="git" if repo else "file",
        repo_url=repo.get("url", ""),
        repo_ref=repo.get("ref", ""),
        repo_subdirectory=repo.get("subdirectory", ""),
        thumbnail_ref=spec.get("thumbnail", "") if str(spec.get("thumbnail", "")).startswith("sha256:") else "",
        start=False,  # editing a stopped app starts it only when asked to
    )
    values["env"] = [
        {
            "name": k,
            "value": "" if (k in legacy or looks_secret(k)) else v,
            "secret": k in legacy or looks_secret(k),
            "stored": True,
        }
        for k, v in (spec.get("env") or {}).items()
    ]
    values["env"] += [{"name": k, "value": "", "secret": True, "stored": True} for k in spec.get("secret_env") or {}]
    return values


def _names(text: str) -> list[str]:
    return [n for n in (part.strip() for part in text.replace("\n", ",").split(",")) if n]


def _values_from_form(form: FormData) -> dict[str, Any]:
    def text(name: str) -> str:
        value = form.get(name)
        return value if isinstance(value, str) else ""

    values = _blank_values()
    for key in (
        "display_name",
        "description",
        "framework",
        "filepath",
        "command",
        "python_env",
        "profile",
        "repo_url",
        "repo_ref",
        "repo_subdirectory",
        "thumbnail_ref",
        "thumbnail_data",
        "share_users",
        "share_groups",
    ):
        values[key] = text(key)
    values["source"] = "git" if text("source") == "git" else "file"
    for key in ("keep_alive", "public", "start", "restart"):
        values[key] = text(key) == "on"
    rows = []
    for index in range(int(text("env_rows") or 0) if text("env_rows").isdigit() else 0):
        name = text(f"env_name_{index}").strip()
        value = text(f"env_value_{index}")
        secret = text(f"env_secret_{index}") == "on"
        stored = text(f"env_stored_{index}") == "on"
        if name or value:
            rows.append({"name": name, "value": value, "secret": secret, "stored": stored})
    values["env"] = rows
    values["remove_thumbnail"] = text("remove_thumbnail") == "on"
    return values


def _spec_body(
    values: Mapping[str, Any],
    errors: dict[str, str],
    stored_secrets: Iterable[str] = (),
    hidden_plain: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The API body from the form's values; form-level problems land in ``errors``.

    A secret row left blank sends ``null`` (keep the stored value); ``stored_secrets`` are the names
    stored encrypted, which cannot silently become plain (the service cannot read them back).
    ``hidden_plain`` are stored plain variables the form showed as secrets (see
    :func:`_values_from_spec`): unticked and left blank, they keep their stored value.
    """
    body: dict[str, Any] = {
        "display_name": values["display_name"],
        "description": values["description"],
        "framework": values["framework"],
        "filepath": values["filepath"].strip() if values["source"] == "file" or values["filepath"] else "",
        "keep_alive": values["keep_alive"],
        "public": values["public"],
        "python_env": values["python_env"],
        "profile": values["profile"],
        "thumbnail": "" if values.get("remove_thumbnail") else values["thumbnail_ref"],
    }
    try:
        body["command"] = shlex.split(values["command"]) if values["command"].strip() else []
    except ValueError as exc:
        errors["command"] = f"cannot be split into arguments: {exc}"
    if values["source"] == "git":
        if not values["repo_url"].strip():
            errors["repo_url"] = "give the repository URL (or choose a file in your home)"
        body["repository"] = {
            "url": values["repo_url"].strip(),
            "ref": values["repo_ref"].strip(),
            "subdirectory": values["repo_subdirectory"].strip(),
        }
    else:
        body["repository"] = None
    env: dict[str, str] = {}
    secret_env: dict[str, str | None] = {}
    sealed = set(stored_secrets)
    for row in values["env"]:
        name, value = row["name"], row["value"]
        if not name:
            errors["env"] = "every value needs a name"
            continue
        if name in env or name in secret_env:
            errors["env"] = f"{name!r} is set twice"
        if row["secret"]:
            if not value and not row["stored"]:
                errors["env"] = f"give the value of the secret {name!r}"
            secret_env[name] = value or None  # left blank: keep the stored value
        elif row["stored"] and not value and name in sealed:
            errors["env"] = f"{name!r} is stored encrypted: type its value to keep it as a plain variable"
        elif row["stored"] and not value and hidden_plain and name in hidden_plain:
            env[name] = hidden_plain[name]
        else:
            env[name] = value
    body["env"] = env
    body["secret_env"] = secret_env
    return body


async def _share_suggestions(identity: Identity, hub: Any, settings: ServiceSettings) -> tuple[list[str], list[str]]:
    """Names the user may see (their token decides), for type-ahead; empty when the Hub says no."""
    if settings.share_suggestions_max == 0 or not settings.allow_sharing:
        return [], []
    out: list[list[str]] = []
    for path in ("/users", "/groups"):
        try:
            items = await hub.paginate(path, identity.token)
        except ServiceError:
            items = []
        names = sorted(str(i.get("name", "")) for i in items if i.get("name"))
        out.append([n for n in names if n != identity.name][: settings.share_suggestions_max])
    return out[0], out[1]


async def _form_page(
    request: Request,
    identity: Identity,
    hub: Any,
    registry: Any,
    settings: ServiceSettings,
    values: Mapping[str, Any],
    errors: Mapping[str, str],
    *,
    app: AppPublic | None = None,
    headless: bool = False,
    status: int = 200,
) -> Response:
    users, groups = await _share_suggestions(identity, hub, settings)
    env_rows = list(values["env"]) + [
        {"name": "", "value": "", "secret": False, "stored": False} for _ in range(_BLANK_ENV_ROWS)
    ]
    return _render(
        request,
        settings,
        "app_form.html",
        status,
        frame_ancestors="'self'" if headless else "'none'",
        **_context(request, settings, identity),
        values=values,
        errors=errors,
        env_rows=env_rows,
        frameworks=list(registry),
        environments=settings.environments,
        profiles=settings.profiles,
        allow_public=settings.allow_public_apps,
        users=users,
        groups=groups,
        app=app,
        headless=headless,
        thumb=(
            f"data:image/webp;base64,{values['thumbnail_data']}"
            if values.get("thumbnail_data")
            else thumbnail_url(settings, values.get("thumbnail_ref", ""))
        ),
        thumb_pending=bool(values.get("thumbnail_data")),
        thumbnail_max_kib=settings.thumbnail_max_bytes // 1024,
        thumbnail_max_bytes=settings.thumbnail_max_bytes,
        secrets_available=sealer_of(request).available,
    )


async def create_form(
    request: Request,
    hub: Any,
    registry: Any,
    settings: ServiceSettings,
    *,
    filepath: str,
    headless: bool,
    framework: str,
) -> Response:
    """``GET <prefix>create-app``: the deploy form (called from :mod:`hubapps.service.routes.pages`)."""
    refused = navigation_refusal(request)
    if refused is not None:
        return refused
    identity = await optional_user(request)
    if identity is None:
        return _login_redirect(request, settings)
    values = _blank_values(filepath=filepath[:1024], framework=framework if framework in registry else "")
    if not values["framework"] and filepath:
        suffix = Path(filepath).suffix
        values["framework"] = next((fw.name for fw in registry if suffix in fw.file_suffixes), "")
    return await _form_page(request, identity, hub, registry, settings, values, {}, headless=headless)


async def _read_upload(
    form: FormData, values: dict[str, Any], settings: ServiceSettings, request: Request, errors: dict[str, str]
) -> Thumbnail | None:
    """The form's new image, checked and re-encoded but **not stored** (it is stored only with a saved
    app): a file chosen now, or the image a refused form carried back in ``thumbnail_data``. It goes
    back into ``values["thumbnail_data"]``, so a form shown again with errors keeps it (as a
    ``data:`` URL) without the service keeping anything."""
    if values.get("remove_thumbnail"):
        values["thumbnail_data"] = ""
        return None
    upload = form.get("thumbnail")
    data = b""
    if isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read(settings.thumbnail_max_bytes + 1)
    elif values.get("thumbnail_data"):
        carried = str(values["thumbnail_data"])
        try:
            data = base64.b64decode(carried[: 2 * settings.thumbnail_max_bytes], validate=True)
        except ValueError:
            data = b"\0"  # refused by the decoder below, with the usual message
    values["thumbnail_data"] = ""
    if not data:
        return None
    thumbs, _ = _stores(request)
    try:
        thumb = await thumbs.check(
            data,
            max_bytes=settings.thumbnail_max_bytes,
            max_pixels=settings.thumbnail_max_pixels,
            width=settings.thumbnail_width,
            height=settings.thumbnail_height,
        )
    except SpecError as exc:
        errors["thumbnail"] = exc.message
        return None
    if len(thumb.data) * 4 // 3 < settings.thumbnail_max_bytes:  # else it is chosen again after an error
        values["thumbnail_data"] = base64.b64encode(thumb.data).decode("ascii")
    return thumb


@router.post("/create-app")
async def create_submit(
    request: Request, hub: Hub, directory: Directory, registry: Registry, settings: Settings
) -> Response:
    identity = await current_user(request)  # checks the form's _xsrf field
    form = await request.form()
    values = _values_from_form(form)
    headless = form.get("headless") == "1"
    errors: dict[str, str] = {}
    thumb = await _read_upload(form, values, settings, request, errors)
    body = _spec_body(values, errors)
    if thumb is not None:
        body["thumbnail"] = thumb.ref
    body["start"] = values["start"]
    if not errors:
        created = await _api_call(
            errors,
            lambda: apps_routes.create_app(json_request(request, body), identity, hub, directory, registry, settings),
        )
        if created is not None:
            owner, server = str(created["owner"]), str(created["name"])
            # The image is stored now that its app exists (a refused form stores nothing).
            thumbs, _ = _stores(request)
            if thumb is not None:
                await thumbs.put(thumb)
            await thumbs.claim(owner, server, str(body["thumbnail"]))
            await _after_save(request, identity, hub, directory, owner, server, values, set(), errors)
            target = f"{settings.prefix}ui/apps/{_q(owner)}/{_q(server)}"
            if values["start"]:
                target += "/watch"
            if errors:
                target += "?notice=share-failed"
            if headless:
                target += ("&" if "?" in target else "?") + "headless=1"
            return RedirectResponse(target, status_code=303)
    return await _form_page(request, identity, hub, registry, settings, values, errors, headless=headless, status=422)


async def _after_save(
    request: Request,
    identity: Identity,
    hub: Any,
    directory: Any,
    owner: str,
    server: str,
    values: Mapping[str, Any],
    current_shares: set[tuple[str, str]],
    errors: dict[str, str],
) -> None:
    """Shares, once the app exists."""
    wanted = {("user", n) for n in _names(values["share_users"])}
    wanted |= {("group", n) for n in _names(values["share_groups"])}
    added = wanted - current_shares
    if added:
        body = {"users": [n for k, n in added if k == "user"], "groups": [n for k, n in added if k == "group"]}
        await _api_call(
            errors,
            lambda: shares_routes.add_shares(
                owner, server, json_request(request, body), identity, hub, directory, request.app.state.settings
            ),
        )
    for kind, name in current_shares - wanted:
        revoke = shares_routes.revoke_user if kind == "user" else shares_routes.revoke_group
        await _api_call(errors, lambda r=revoke, n=name: r(owner, server, n, identity, hub))  # type: ignore[misc]
    if errors:
        log.info("Sharing %s/%s failed: %s", safe_log(owner), safe_log(server), safe_log(errors))


async def _shares_of(identity: Identity, hub: Any, owner: str, server: str) -> list[tuple[str, str]]:
    try:
        listed = await shares_routes.list_shares(owner, server, identity, hub)
    except (ServiceError, SpecError):
        return []
    return [(s.kind, s.name) for s in listed.shares]


async def _managed(
    identity: Identity, hub: Any, directory: Any, settings: ServiceSettings, owner: str, server: str
) -> AppPublic:
    app = await apps_routes.find_app(identity, owner, server, hub, directory, settings)
    if app.access not in ("owned", "admin") or not app.is_app:
        raise NotFound()
    return app


@router.get("/ui/apps/{owner}/{server}/edit")
async def edit_form(
    owner: str, server: str, request: Request, hub: Hub, directory: Directory, registry: Registry, settings: Settings
) -> Response:
    refused = navigation_refusal(request)
    if refused is not None:
        return refused
    identity = await optional_user(request)
    if identity is None:
        return _login_redirect(request, settings)
    app = await _managed(identity, hub, directory, settings, owner, server)
    _, marks = _stores(request)
    values = _values_from_spec(app.spec or {}, await marks.get(owner, server))
    shares = await _shares_of(identity, hub, owner, server)
    values["share_users"] = ", ".join(n for k, n in shares if k == "user")
    values["share_groups"] = ", ".join(n for k, n in shares if k == "group")
    return await _form_page(request, identity, hub, registry, settings, values, {}, app=app)


@router.post("/ui/apps/{owner}/{server}/edit")
async def edit_submit(
    owner: str, server: str, request: Request, hub: Hub, directory: Directory, registry: Registry, settings: Settings
) -> Response:
    identity = await current_user(request)
    app = await _managed(identity, hub, directory, settings, owner, server)
    form = await request.form()
    values = _values_from_form(form)
    errors: dict[str, str] = {}
    thumb = await _read_upload(form, values, settings, request, errors)
    legacy = await _stores(request)[1].get(owner, server)
    stored_env: dict[str, str] = dict((app.spec or {}).get("env") or {})
    hidden = {k: v for k, v in stored_env.items() if k in legacy or looks_secret(k)}
    body = _spec_body(values, errors, (app.spec or {}).get("secret_env") or {}, hidden)
    if thumb is not None:
        body["thumbnail"] = thumb.ref
    running = app.state != "stopped"
    # "Restart" for a running app; "start once saved" for a stopped one: the API's restart=true starts
    # a stopped app once the change is saved (this POST is the click that starts it).
    starts = values["restart"] if running else values["start"]
    if running or starts:
        body["restart"] = starts
    if not errors:
        # The new image must be there once the Hub takes the spec (a restart applies it later); the
        # API records it as the app's image then (and deletes the one it replaces). Not saved: not kept.
        thumbs, _ = _stores(request)
        stored = thumb is not None and await thumbs.put(thumb)
        saved = await _api_call(
            errors,
            lambda: apps_routes.update_app(
                owner, server, json_request(request, body, "PATCH"), identity, hub, directory, registry, settings
            ),
        )
        if saved is None and stored and thumb is not None:
            await thumbs.discard(thumb.ref)
        if saved is not None:
            shares = set(await _shares_of(identity, hub, owner, server))
            await _after_save(request, identity, hub, directory, owner, server, values, shares, errors)
            target = f"{settings.prefix}ui/apps/{_q(owner)}/{_q(server)}"
            if starts:
                target += "/watch"
            if errors:
                target += "?notice=share-failed"
            return RedirectResponse(target, status_code=303)
    return await _form_page(request, identity, hub, registry, settings, values, errors, app=app, status=422)


# -- details and start progress --------------------------------------------------------------------------


@router.get("/ui/apps/{owner}/{server}")
async def details(
    owner: str, server: str, request: Request, hub: Hub, directory: Directory, settings: Settings, notice: str = ""
) -> Response:
    refused = navigation_refusal(request)
    if refused is not None:
        return refused
    identity = await optional_user(request)
    if identity is None:
        return _login_redirect(request, settings)
    app = await apps_routes.find_app(identity, owner, server, hub, directory, settings)
    manage = app.access in ("owned", "admin")
    shares = await _shares_of(identity, hub, owner, server) if manage else []
    legacy: set[str] = set()
    if manage:
        _, marks = _stores(request)
        legacy = await marks.get(owner, server)
    spec = app.spec or {}
    env = {k: ("••••••" if (k in legacy or looks_secret(k)) else v) for k, v in (spec.get("env") or {}).items()}
    env.update(dict.fromkeys(spec.get("secret_env") or {}, "•••••• (encrypted)"))
    return _render(
        request,
        settings,
        "app_detail.html",
        **_context(request, settings, identity),
        app=app,
        card=_card(settings, app),
        manage=manage,
        shares=shares,
        env=env,
        spec=app.spec or {},
        notice=notice if notice in ("share-failed",) else "",
        # The Hub's URL when it is a full one (subdomain_host), else the path as JupyterHub escapes it.
        full_url=public_app_url(settings, app.url if "://" in app.url else app_url(settings, app.owner, app.name)),
    )


@router.get("/ui/apps/{owner}/{server}/watch")
async def watch(
    owner: str, server: str, request: Request, hub: Hub, directory: Directory, settings: Settings
) -> Response:
    """Start progress. Opening it starts nothing (a link from anywhere may lead here): a stopped app
    shows its Start button, which POSTs with the XSRF token. ``?start=1`` of older links is ignored."""
    refused = navigation_refusal(request)
    if refused is not None:
        return refused
    identity = await optional_user(request)
    if identity is None:
        return _login_redirect(request, settings)
    app = await apps_routes.find_app(identity, owner, server, hub, directory, settings)
    return _render(
        request,
        settings,
        "watch.html",
        **_context(request, settings, identity),
        app=app,
        card=_card(settings, app),
        manage=app.access in ("owned", "admin"),
    )
