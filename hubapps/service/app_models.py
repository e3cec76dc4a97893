"""Apps as the API shows them: built from Hub server models, shares and the app directory.

Pure functions (no I/O), so the listing rules — what is owned, shared or public, how filters, search,
sort and pages work — are unit-tested without a Hub.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

from hubapps.core.errors import SpecError
from hubapps.core.frameworks import FrameworkRegistry
from hubapps.core.policy import SpecPolicy
from hubapps.core.spec import SPEC_VERSION, AppSpec, is_app_options, parse_user_options, translate_upstream
from hubapps.service.directory import DirectoryEntry
from hubapps.service.hosts import user_host
from hubapps.service.hub_models import ServerModel, SharedServer
from hubapps.service.runs import AppRun
from hubapps.service.schemas import Access, AppPublic, AppState, RunPublic, SpecProblem
from hubapps.service.secrets import public_repository, public_secret_env
from hubapps.service.settings import ServiceSettings

__all__ = [
    "MAX_REASON",
    "NOT_ANSWERING",
    "SORT_KEYS",
    "StateView",
    "app_from_entry",
    "app_from_server",
    "app_from_share",
    "app_state",
    "app_url",
    "build_spec",
    "check_runnable",
    "directory_entry",
    "editable_options",
    "ended_in",
    "page_of",
    "readable_options",
    "run_public",
    "server_state",
    "spec_issue",
    "with_state",
]

#: Sort keys of the listing (prefix with '-' for descending).
SORT_KEYS = ("name", "last_activity", "owner", "framework", "state")


def app_url(settings: ServiceSettings, owner: str, server: str) -> str:
    """An app's URL when the Hub gave none (apps of the public directory): its path, as JupyterHub
    escapes it, and under ``subdomain_host`` the owner's host made by JupyterHub's default
    ``subdomain_hook`` ("idna"). Wherever the Hub gives a server model, its ``url`` is used instead."""
    base = settings.hub_prefix[: -len("hub/")] if settings.hub_prefix.endswith("hub/") else "/"
    path = f"{base}user/{quote(owner, safe='')}/{quote(server, safe='')}/"
    subdomain_host = settings.subdomain_host or (settings.hub_host if settings.own_host else "")
    if not subdomain_host:
        return path
    parts = urlsplit(subdomain_host)
    host = user_host(owner, parts.hostname or "")
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "") + path


def server_state(model: ServerModel) -> AppState:
    """What the Hub's server model says of the server: starting, stopping, running or stopped."""
    pending = model.get("pending")
    if pending == "spawn":
        return "starting"
    if pending == "stop":
        return "stopping"
    if model.get("ready"):
        return "running"
    return "stopped"


#: Longest reason taken from an app's status answer (the app's server chooses what it sends).
MAX_REASON = 2000
#: The reason shown for an app whose server the Hub calls running but which does not answer.
NOT_ANSWERING = "its server does not answer (it may have stopped; the Hub notices at its next check)"


@dataclass(frozen=True)
class StateView:
    """An app's state as everyone is shown it (API, pages, CLI), with why and how fast."""

    state: AppState
    reason: str | None = None
    #: Seconds the app took to become ready (from its proxy), when it is running.
    ready_after: float | None = None
    #: The proxy's own word (starting, ready, failed), when it was read.
    app_state: str | None = None


def app_state(model: ServerModel, proxy: Mapping[str, Any] | None = None, *, asked: bool = False) -> StateView:
    """The one state model: the Hub's server model, told apart by the app proxy's status when read.

    ``asked`` says whether the proxy's ``_hubapps/status`` was asked for (an app with a hubapps proxy
    that the Hub calls running, read for its owner or an admin); ``proxy`` is its answer (None: no
    answer). The Hub says starting, stopping or stopped: that is the state. The Hub says running:

    - not asked (someone it is shared with, a JupyterLab app, no status key): running, as the Hub says;
    - the proxy says ready: running; starting (a first start, or a restart after a crash): starting,
      with the restart's reason; failed: failed, with the reason (the app's own last words);
    - no answer or an answer that makes no sense: unknown, with :data:`NOT_ANSWERING` (a proxy that has
      exited after a failure stays "running" in the Hub until its next poll of the spawner); when the
      proxy reported, before it exited, that the run failed, the caller makes that "failed" with the
      remembered reason (:func:`hubapps.service.operations.states.remembered_state`).
    """
    hub_state = server_state(model)
    if hub_state != "running" or not asked:
        return StateView(hub_state)
    if proxy is None:
        return StateView("unknown", NOT_ANSWERING)
    said = proxy.get("state")
    raw_reason = proxy.get("reason")
    reason = str(raw_reason)[:MAX_REASON] if isinstance(raw_reason, str) and raw_reason else None
    ready_after = proxy.get("ready_after")
    after = float(ready_after) if isinstance(ready_after, int | float) and not isinstance(ready_after, bool) else None
    if said == "ready":
        return StateView("running", ready_after=after, app_state="ready")
    if said == "starting":
        return StateView("starting", reason, app_state="starting")
    if said == "failed":
        return StateView("failed", reason or "the app stopped", app_state="failed")
    return StateView("unknown", NOT_ANSWERING)


def _iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, UTC).isoformat().replace("+00:00", "Z")


def run_public(run: AppRun, *, full: bool) -> RunPublic:
    """An app's remembered run as the API shows it: with its reason, log tail and source facts when
    ``full`` (those who may read the app's output), else only its state and times."""
    public = RunPublic(
        state="failed" if run.state == "failed" else "stopped" if run.state == "stopped" else "running",
        started=_iso(run.started_at),
        ready_after=run.ready_after,
        ended=_iso(run.ended_at),
    )
    if full:
        public.reason = run.reason[:MAX_REASON] or None
        public.log_tail = list(run.log_tail)
        public.source_sha256 = run.source_sha256
        public.source_commit = run.source_commit
    return public


def ended_in(run: AppRun | None, model: ServerModel) -> bool:
    """Whether ``run`` was reported to have ended during the server's current run (the Hub's
    ``started``): then a server the Hub still calls running is a proxy that has exited."""
    if run is None or run.ended_at is None:
        return False
    started = model.get("started")
    try:
        began = datetime.fromisoformat(str(started)).timestamp() if started else None
    except ValueError:
        began = None
    return began is not None and run.ended_at >= began - 1.0


def with_state(app: AppPublic, view: StateView) -> AppPublic:
    """A copy of ``app`` in ``view``'s state (listing models are cached: never changed in place)."""
    return app.model_copy(update={"state": view.state, "ready": view.state == "running", "reason": view.reason})


def _spec_of(options: object) -> tuple[AppSpec | None, SpecError | None]:
    """The stored spec, and what keeps it from running as stored: the error that refuses it, or for
    one of upstream JHub Apps what it lacks (a file: upstream ran its own example)."""
    try:
        spec = parse_user_options(options)
    except SpecError as exc:
        return None, exc
    return spec, spec_issue(options)


def editable_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """The stored spec as an edit starts from it: ours, validated; one hubapps will not run as stored
    (upstream JHub Apps' pipeline, say) translated as far as it goes, so that the change that fixes
    it is all a caller sends."""
    try:
        return parse_user_options(options).to_user_options()
    except SpecError:
        return {k: v for k, v in readable_options(options).items() if k not in ("spec_version", "jhub_app")}


def check_runnable(options: object) -> None:
    """Raise the stored spec's :class:`SpecError` (422, naming the field to change) when the Hub would
    refuse to start it, or it lacks what it needs to run (an upstream JHub Apps app without a file),
    so that the reason reaches the caller as it is rather than as the Hub's start failure."""
    if is_app_options(options):
        parse_user_options(options)
        issue = spec_issue(options)
        if issue is not None:
            raise issue


def spec_issue(options: object) -> SpecError | None:
    """For upstream JHub Apps options hubapps accepts: what they lack to run (None for ours)."""
    if isinstance(options, dict) and "spec_version" not in options:
        return translate_upstream(options).first_issue
    return None


def readable_options(options: object) -> dict[str, Any]:
    """Stored options in this spec's terms as far as they go: upstream JHub Apps options translated
    (framework names, ``custom_command`` as ``command``, ...), ours as they are. For showing and for
    an edit form to start from; never run."""
    raw: dict[str, Any] = dict(options) if isinstance(options, dict) else {}
    if raw and "spec_version" not in raw:
        return translate_upstream(raw).data
    return raw


def app_from_server(
    settings: ServiceSettings,
    owner: str,
    name: str,
    model: ServerModel,
    access: Access,
    *,
    include_all: bool = False,
) -> AppPublic | None:
    """An app from a Hub server model; None for a server that is not an app (unless ``include_all``)."""
    options = model.get("user_options") or {}
    is_app = is_app_options(options)
    if not is_app and not include_all:
        return None
    spec, problem = _spec_of(options) if is_app else (None, None)
    raw = readable_options(options) if is_app else (options if isinstance(options, dict) else {})
    display = (
        (spec.display_name if spec else None)
        or model.get("display_name")
        or raw.get("display_name")
        or name
        or "JupyterLab"
    )
    return AppPublic(
        id=f"{owner}/{name}",
        owner=owner,
        name=name,
        display_name=str(display),
        description=spec.description if spec else str(raw.get("description") or ""),
        framework=spec.framework if spec else str(raw.get("framework") or ("jupyterlab" if not is_app else "")),
        access=access,
        state=server_state(model),
        ready=bool(model.get("ready")),
        public=bool(spec.public) if spec else bool(raw.get("public")),
        keep_alive=bool(spec.keep_alive) if spec else bool(raw.get("keep_alive")),
        url=str(model.get("url") or app_url(settings, owner, name)),
        thumbnail=spec.thumbnail if spec else "",
        last_activity=model.get("last_activity"),
        started=model.get("started"),
        is_app=is_app,
        spec=_public_spec(spec, raw) if access in ("owned", "admin") else None,
        problem=(
            SpecProblem(field=problem.field, message=problem.message)
            if problem is not None and access in ("owned", "admin")
            else None
        ),
    )


def _public_spec(spec: AppSpec | None, raw: Mapping[str, Any]) -> dict[str, Any]:
    """The launch spec as its managers see it: secret values replaced by ``null``."""
    shown = spec.to_user_options() if spec else dict(raw)
    if isinstance(shown.get("secret_env"), dict):
        shown["secret_env"] = public_secret_env(shown["secret_env"])
    if isinstance(shown.get("repository"), dict):
        shown["repository"] = public_repository(shown["repository"])
    return shown


def app_from_share(settings: ServiceSettings, share_server: SharedServer, entry: DirectoryEntry | None) -> AppPublic:
    """An app shared with the caller (``server`` part of a Hub share model), named from the directory."""
    owner = str((share_server.get("user") or {}).get("name", ""))
    name = str(share_server.get("name", ""))
    return AppPublic(
        id=f"{owner}/{name}",
        owner=owner,
        name=name,
        display_name=entry.display_name if entry else name,
        description=entry.description if entry else "",
        framework=entry.framework if entry else "",
        access="shared",
        state="running" if share_server.get("ready") else "stopped",
        ready=bool(share_server.get("ready")),
        public=entry.public if entry else False,
        url=str(share_server.get("url") or app_url(settings, owner, name)),
        thumbnail=entry.thumbnail if entry else "",
    )


def app_from_entry(settings: ServiceSettings, entry: DirectoryEntry) -> AppPublic:
    """A public app of another user (its state is not known without reading the owner's servers)."""
    return AppPublic(
        id=f"{entry.owner}/{entry.server}",
        owner=entry.owner,
        name=entry.server,
        display_name=entry.display_name,
        description=entry.description,
        framework=entry.framework,
        access="public",
        state="unknown",
        public=True,
        url=app_url(settings, entry.owner, entry.server),
        thumbnail=entry.thumbnail,
    )


def directory_entry(owner: str, server: str, spec: AppSpec) -> DirectoryEntry:
    return DirectoryEntry(
        owner=owner,
        server=server,
        display_name=spec.display_name,
        description=spec.description,
        framework=spec.framework,
        thumbnail=spec.thumbnail,
        public=spec.public,
    )


def build_spec(
    fields: Mapping[str, Any],
    settings: ServiceSettings,
    registry: FrameworkRegistry,
    environments: Collection[str] | None = None,
) -> AppSpec:
    """Validate a submitted spec with the core rules plus this installation's choices.

    Raises :class:`SpecError` naming the field: unknown or disabled framework, an environment or
    profile the admin did not offer, ``public`` when public apps are off, or a spec that does not fit
    its framework (no file, wrong file type, a missing custom command). ``environments``: the names the
    owner may choose (:func:`hubapps.service.operations.environment_names`); by default those every user
    may, and any name when a callable ``conda_envs`` decides per user (the spawner's check then holds).
    """
    if environments is None:
        environments = None if settings.conda_envs_from_hub else settings.static_environment_names
    data = {k: v for k, v in fields.items() if k not in ("start", "restart", "on_conflict")}
    data["spec_version"] = SPEC_VERSION
    spec = parse_user_options(data)
    # The same checks the Hub makes at start, so mistakes show up next to the field when saving.
    SpecPolicy(
        frameworks=registry,
        allow_public=settings.allow_public_apps,
        environments=None if environments is None else frozenset(environments),
        profiles=frozenset(p.get("slug", "") for p in settings.profiles),
    ).check(spec)
    return spec


def _matches(app: AppPublic, q: str) -> bool:
    q = q.casefold()
    return any(q in text.casefold() for text in (app.display_name, app.description, app.name, app.owner, app.framework))


def page_of(
    apps: Iterable[AppPublic],
    *,
    access: set[str] | None = None,
    framework: str | None = None,
    state: str | None = None,
    q: str | None = None,
    sort: str = "name",
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[AppPublic], int]:
    """Filter, search, sort and cut one page; returns the page and the number of matches."""
    selected = [
        a
        for a in apps
        if (not access or a.access in access)
        and (not framework or a.framework == framework)
        and (not state or a.state == state)
        and (not q or _matches(a, q))
    ]
    descending = sort.startswith("-")
    key = sort.lstrip("-")

    def sort_key(a: AppPublic) -> tuple[str, str, str]:
        value: str = {
            "name": a.display_name.casefold(),
            "last_activity": a.last_activity or "",
            "owner": a.owner.casefold(),
            "framework": a.framework,
            "state": a.state,
        }[key]
        return (value, a.owner, a.name)

    selected.sort(key=sort_key, reverse=descending)
    return selected[offset : offset + limit], len(selected)
