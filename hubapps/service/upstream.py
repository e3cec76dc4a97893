"""Upstream JHub Apps' wire shapes, and their translation to and from hubapps' launch spec.

Scripts and tools written for upstream JHub Apps call ``/services/japps/server/…`` and friends
(:mod:`hubapps.service.routes.upstream`); what they send and get back has upstream's shapes
(``jhub_apps/service/models.py``). This module holds those shapes as pydantic models and the pure
translation both ways, so the routes only move data between HTTP and :mod:`hubapps.service.operations`:

- **in**: upstream ``user_options`` → hubapps spec fields, through the one reading of upstream
  options that stored apps use too (:func:`hubapps.core.spec.parse_user_options`), then the
  fields an :class:`~hubapps.service.schemas.AppCreate` / :class:`~hubapps.service.schemas.AppUpdate`
  carries (the operations apply the installation's policy, limits, revisions and events);
- **out**: a Hub server model whose ``user_options`` are hubapps' spec → the same model with
  upstream-format ``user_options`` (framework names ``plotlydash``/``custom``, ``custom_command``,
  ``conda_env``, ``thumbnail`` as the URL of the stored image or of the framework's logo).

Fields hubapps has and upstream has not (``working_dir``, ``args``, secret variables, the idle
policy's times, ``viewers_can_start``) are not shown to upstream clients and are kept as they are
when such a client edits an app. Secret values never leave the service either way.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from hubapps import __version__
from hubapps.core.errors import SpecError
from hubapps.core.spec import _UPSTREAM_FRAMEWORKS, AppSpec, is_app_options, parse_user_options
from hubapps.service.hub_models import ServerModel
from hubapps.service.settings import ServiceSettings

__all__ = [
    "SPEC_FIELD_NAMES",
    "UPSTREAM_SPEC_FIELDS",
    "JHubAppConfig",
    "Repository",
    "ServerCreation",
    "SharePermissions",
    "UserOptions",
    "from_upstream_options",
    "logo_url",
    "status_body",
    "thumbnail_ref_of_url",
    "upstream_framework",
    "upstream_options",
    "upstream_server",
]


# -- upstream's request models (jhub_apps/service/models.py, same fields and defaults) ---------------


class Repository(BaseModel):
    url: str
    config_directory: str = "."
    ref: str = "main"


class SharePermissions(BaseModel):
    users: list[str] = []
    groups: list[str] = []


class JHubAppConfig(BaseModel):
    display_name: str
    description: str
    thumbnail: str | None = None
    filepath: str | None = ""
    framework: str = "panel"
    custom_command: str | None = ""
    public: bool | None = False
    keep_alive: bool | None = False
    env: dict[str, str] | None = {}
    repository: Repository | None = None


class UserOptions(JHubAppConfig):
    conda_env: str | None = ""
    profile: str | None = ""
    profile_image: str | None = ""
    share_with: SharePermissions | None = None
    jhub_app: bool


class ServerCreation(BaseModel):
    """The JSON of the ``data`` form field of ``POST /server`` and ``PUT /server/{name}``."""

    model_config = ConfigDict(extra="ignore")

    servername: str
    user_options: UserOptions


# -- names ---------------------------------------------------------------------------------------

_TO_UPSTREAM_FRAMEWORK = {ours: theirs for theirs, ours in _UPSTREAM_FRAMEWORKS.items()}

#: The hubapps spec fields upstream's ``user_options`` say something about (the others keep their
#: value when an upstream client edits an app: it cannot send them).
UPSTREAM_SPEC_FIELDS = (
    "framework",
    "display_name",
    "description",
    "filepath",
    "command",
    "env",
    "python_env",
    "profile",
    "keep_alive",
    "public",
    "repository",
)

#: hubapps spec field → the upstream field a client sent it as (for error messages).
SPEC_FIELD_NAMES = {"command": "custom_command", "python_env": "conda_env", "repository.subdirectory": "repository"}


def upstream_framework(name: str) -> str:
    """A hubapps framework name as upstream spells it (``dash`` → ``plotlydash``, ``command`` → ``custom``)."""
    return _TO_UPSTREAM_FRAMEWORK.get(name, name)


def logo_url(settings: ServiceSettings, framework: str) -> str:
    """Where the service serves a framework's logo (hubapps' name)."""
    return f"{settings.prefix}static/logos/{framework}.svg"


def _thumbnail_url(settings: ServiceSettings, spec: Mapping[str, Any]) -> str:
    ref = str(spec.get("thumbnail") or "")
    if ref.startswith("sha256:"):
        return f"{settings.prefix}ui/thumbnails/{ref}"
    framework = ref.removeprefix("framework:") if ref.startswith("framework:") else str(spec.get("framework") or "")
    return logo_url(settings, framework) if framework else ""


def thumbnail_ref_of_url(settings: ServiceSettings, url: str) -> str | None:
    """The stored image a thumbnail URL of :func:`upstream_options` names (absolute or not), or None."""
    path = url.split("://", 1)[1].partition("/")[2] if "://" in url else url.lstrip("/")
    marker = settings.prefix.lstrip("/") + "ui/thumbnails/"
    if not path.startswith(marker):
        return None
    ref = path[len(marker) :]
    return ref if ref.startswith("sha256:") and len(ref) == len("sha256:") + 64 else None


# -- in: upstream → hubapps ------------------------------------------------------------------------


def from_upstream_options(options: UserOptions) -> dict[str, Any]:
    """The hubapps spec fields (:data:`UPSTREAM_SPEC_FIELDS`) an upstream client's ``user_options``
    mean (thumbnail and shares aside: the routes handle those), checked by the spec's rules. Raises
    :class:`SpecError` naming the field as the client sent it."""
    data = options.model_dump(exclude={"thumbnail", "share_with", "profile_image"})
    data["jhub_app"] = True
    if data.get("repository") is None:
        data.pop("repository", None)
    for key in ("filepath", "custom_command", "conda_env", "profile"):
        data[key] = data.get(key) or ""
    data["env"] = data.get("env") or {}
    data["public"] = bool(data.get("public"))
    data["keep_alive"] = bool(data.get("keep_alive"))
    try:
        spec = parse_user_options(data)
    except SpecError as exc:
        field = exc.field.split(".")[0] if exc.field.startswith("command") else exc.field
        raise SpecError(SPEC_FIELD_NAMES.get(field, field), exc.message) from None
    fields = spec.model_dump(include=set(UPSTREAM_SPEC_FIELDS))
    repo = fields["repository"]
    if repo is not None:  # what upstream's Repository says (url, ref, config_directory), nothing else
        fields["repository"] = {"url": repo["url"], "ref": repo["ref"], "subdirectory": repo["subdirectory"]}
    return fields


# -- out: hubapps → upstream -----------------------------------------------------------------------


def upstream_options(
    settings: ServiceSettings, options: Mapping[str, Any] | None, *, shares: Mapping[str, list[str]] | None = None
) -> dict[str, Any] | None:
    """A server's stored ``user_options`` as upstream clients read them.

    An app's spec (hubapps' or one stored by upstream) is translated; other servers' options (a
    plain JupyterLab server's) are returned as they are. ``shares`` fills ``share_with``.
    """
    if options is None:
        return None
    if not is_app_options(options):
        return dict(options)
    try:
        spec: Mapping[str, Any] = parse_user_options(options).to_user_options()
    except SpecError:
        spec = options  # an app hubapps refuses to start: shown with what it holds
    framework = str(spec.get("framework") or "")
    command = spec.get("command") or []
    repo = spec.get("repository")
    repository = None
    if isinstance(repo, Mapping) and repo.get("url"):
        repository = {
            "url": repo.get("url"),
            "config_directory": repo.get("subdirectory") or repo.get("config_directory") or ".",
            "ref": repo.get("ref") or "main",
        }
    env = spec.get("env")
    return {
        "jhub_app": True,
        "display_name": spec.get("display_name") or "",
        "description": spec.get("description") or "",
        "thumbnail": _thumbnail_url(settings, spec),
        "filepath": spec.get("filepath") or "",
        "framework": upstream_framework(framework),
        "custom_command": _join(command) if isinstance(command, list) else "",
        "public": bool(spec.get("public")),
        "keep_alive": bool(spec.get("keep_alive")),
        "env": dict(env) if isinstance(env, Mapping) else {},
        "repository": repository,
        "conda_env": spec.get("python_env") or spec.get("conda_env") or "",
        "profile": spec.get("profile") or "",
        "profile_image": "",
        "share_with": {"users": list(shares.get("users", [])), "groups": list(shares.get("groups", []))}
        if shares is not None
        else None,
    }


_PLAIN_ARG = re.compile(r"[\w@%+=:,./{}-]+")


def _join(argv: list[str]) -> str:
    """A command as one line that :func:`shlex.split` reads back, placeholders (``{port}``) unquoted."""
    return " ".join(arg if _PLAIN_ARG.fullmatch(arg) else shlex.quote(arg) for arg in argv)


#: The keys of a Hub server model that upstream passes on (``state`` is the spawner's, never shown here).
_SERVER_KEYS = ("name", "ready", "pending", "url", "progress_url", "started", "last_activity", "stopped")


def upstream_server(
    settings: ServiceSettings, model: ServerModel, *, shares: Mapping[str, list[str]] | None = None
) -> dict[str, Any]:
    """A Hub server model as upstream's ``/server/`` routes answer it."""
    out: dict[str, Any] = {key: model.get(key) for key in _SERVER_KEYS}
    out["name"] = str(model.get("name") or "")
    out["ready"] = bool(model.get("ready"))
    out["stopped"] = bool(model.get("stopped", not model.get("ready") and not model.get("pending")))
    out["url"] = str(model.get("url") or "")
    out["progress_url"] = str(model.get("progress_url") or "")
    out["state"] = None
    out["user_options"] = upstream_options(settings, model.get("user_options"), shares=shares)
    return out


def spec_of(options: object) -> AppSpec | None:
    """The spec of stored options, or None (not an app, or one hubapps refuses)."""
    if not is_app_options(options):
        return None
    try:
        return parse_user_options(options)
    except SpecError:
        return None


def status_body() -> dict[str, str]:
    """Upstream's ``GET /status`` (and ``GET /`` for scripts)."""
    return {"status": "ok", "version": __version__}
