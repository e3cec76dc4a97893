"""Request and response bodies of the REST API (the names follow the FastAPI full-stack template)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Accepted",
    "Access",
    "AppCreate",
    "AppPublic",
    "AppState",
    "AppStatus",
    "AppUpdate",
    "AppsPublic",
    "EventPublic",
    "EventsDeleted",
    "EventsPublic",
    "FieldChange",
    "FrameworkPublic",
    "GitPrefill",
    "GitPrefillRequest",
    "GitSourceIn",
    "LogsPublic",
    "OnConflict",
    "PublicFlag",
    "RevisionCompare",
    "RevisionPublic",
    "RevisionsPublic",
    "RollbackRequest",
    "RunPublic",
    "ShareCreate",
    "ShareLinkCreate",
    "ShareLinkPublic",
    "SharePublic",
    "SharesPublic",
    "UsagePublic",
    "UserPublic",
]

Access = Literal["owned", "shared", "public", "admin"]
#: One state model for the API, the pages and the CLI (:func:`hubapps.service.app_models.app_state`):
#: ``running`` means the app answers; ``failed`` that it could not start (``reason`` says why) while the
#: Hub still holds its server; ``unknown`` that it cannot be told (another user's public app, or an app
#: whose server does not answer its status check).
AppState = Literal["stopped", "starting", "running", "stopping", "failed", "unknown"]


class GitSourceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str
    ref: str = ""
    subdirectory: str = ""
    #: A private repository's token (or ``user:token``), in plain text: encrypted by the service before
    #: it reaches the Hub, never shown again. ``null`` (or not sent) keeps the stored one while the URL
    #: stays the same; "" removes it.
    token: str | None = Field(default=None, max_length=4096)


class GitPrefillRequest(BaseModel):
    """Where an app's settings are: a repository, its branch, tag or commit (empty: the default
    branch), and the folder of its ``conda-project.yml`` (empty: the top)."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2048)
    ref: str = Field("", max_length=255)
    subdirectory: str = Field("", max_length=1024)
    #: For a private repository: used for this clone only, and not kept.
    token: str | None = Field(default=None, max_length=4096)


class GitPrefill(BaseModel):
    """An app's settings as a repository's ``conda-project.yml`` gives them: send them (changed as you
    like) to ``POST /api/apps`` to create the app. Fields the file does not set are left at their
    defaults; ``notes`` says what was left out and why."""

    display_name: str = ""
    description: str = ""
    framework: str = ""
    filepath: str = ""
    command: list[str] = []
    env: dict[str, str] = {}
    public: bool = False
    keep_alive: bool = False
    idle_policy: str = "default"
    repository: GitSourceIn
    thumbnail_data_url: str = Field(
        "", description="the repository's thumbnail, checked and re-encoded (WebP), as a data: URL"
    )
    commit: str = Field(description="the commit the settings were read from")
    notes: list[str] = []


class _SpecFields(BaseModel):
    """The launch spec fields a client may set (rules: :class:`hubapps.core.spec.AppSpec`)."""

    model_config = ConfigDict(extra="forbid")

    framework: str
    display_name: str
    description: str = ""
    filepath: str = ""
    working_dir: str = ""
    command: list[str] = []
    args: list[str] = []
    env: dict[str, str] = {}
    #: Secret variables, in plain text: encrypted by the service before they reach the Hub.
    secret_env: dict[str, str] = {}
    python_env: str = ""
    profile: str = ""
    #: Same as ``idle_policy`` "keep" (older clients); the one sent wins.
    keep_alive: bool = False
    idle_policy: str = "default"
    idle_minutes: float = 0
    max_age_minutes: float = 0
    viewers_can_start: bool = False
    public: bool = False
    repository: GitSourceIn | None = None
    thumbnail: str = ""


OnConflict = Literal["ask", "update", "new"]


class AppCreate(_SpecFields):
    """A new app. ``start`` starts it at once; otherwise it is created stopped (JupyterHub 6).

    ``on_conflict`` says what to do when the caller already has an app of that name (its server name
    is the one the display name makes): ``ask`` (409 ``app_exists`` naming it), ``update`` (the fields
    sent change that app; a running one is restarted) or ``new`` (another app, with a distinct name).
    """

    start: bool = False
    on_conflict: OnConflict = "ask"


class AppUpdate(BaseModel):
    """Fields to change; the others keep their value. A running app is changed only with ``restart``."""

    model_config = ConfigDict(extra="forbid")

    framework: str | None = None
    display_name: str | None = None
    description: str | None = None
    filepath: str | None = None
    working_dir: str | None = None
    command: list[str] | None = None
    args: list[str] | None = None
    env: dict[str, str] | None = None
    #: The secret variables after the edit: a new plain value, or ``null`` to keep the stored one;
    #: a name left out is removed. Not sent: every stored secret is kept.
    secret_env: dict[str, str | None] | None = None
    python_env: str | None = None
    profile: str | None = None
    keep_alive: bool | None = None
    idle_policy: str | None = None
    idle_minutes: float | None = None
    max_age_minutes: float | None = None
    viewers_can_start: bool | None = None
    public: bool | None = None
    repository: GitSourceIn | None = None
    thumbnail: str | None = None
    restart: bool = False


class UsagePublic(BaseModel):
    """How many viewer sessions opened an app ("opened" events), as its owner and admins see it."""

    opened_recent: int = Field(description="in the last window_days days")
    opened_total: int = Field(description="since the oldest event kept (event_retention_days)")
    window_days: float


class RunPublic(BaseModel):
    """An app's last run, as its proxy reported it (failure memory): it outlives the run's server.

    ``reason``, ``log_tail`` and the source facts are shown to those who may manage the app (owner,
    admins); others who may open it see only the state and times.
    """

    state: Literal["running", "stopped", "failed"] = Field(
        description="running: no end reported yet; stopped: stopped by the Hub; failed: the app failed for good"
    )
    started: str | None = None
    ready_after: float | None = Field(default=None, description="seconds the run took to become ready")
    ended: str | None = None
    reason: str | None = Field(default=None, description="why it failed, in the app's own words where it said any")
    log_tail: list[str] = Field(default=[], description="the last lines of the app's output as it ended")
    source_sha256: str | None = Field(default=None, description="sha256 of the app's file as the run started")
    source_commit: str | None = Field(default=None, description="git commit of the app's repository checkout")


class SpecProblem(BaseModel):
    """Why hubapps will not run an app's stored spec as it is (an app stored by upstream JHub Apps
    with a shell pipeline or its own container image, say), and how to fix it: saving the app with
    the field changed. The app is listed all the same; starting it answers 422 with this reason."""

    field: str = Field(description="the spec field to change (the edit form shows the message there)")
    message: str


class AppPublic(BaseModel):
    """An app as the caller may see it.

    ``access`` says why the caller sees it. ``spec`` (the full launch spec) is shown to those who may
    manage the app (owner, admin), not to people it is shared with; its ``secret_env`` shows only the
    names, each with ``null``: a secret value never comes back.
    """

    id: str = Field(description="'<owner>/<server>'")
    owner: str
    name: str = Field(description="server name (URL part)")
    display_name: str
    description: str = ""
    framework: str = ""
    access: Access
    state: AppState
    ready: bool = Field(default=False, description="the app answers (state running)")
    reason: str | None = Field(
        default=None, description="why the app failed or restarts, in its own words where it said any (managers only)"
    )
    public: bool = False
    keep_alive: bool = False
    url: str
    thumbnail: str = ""
    last_activity: str | None = None
    started: str | None = None
    is_app: bool = True
    spec: dict[str, Any] | None = None
    problem: SpecProblem | None = Field(
        default=None, description="why the stored spec does not run as it is (null: it does); managers only"
    )
    usage: UsagePublic | None = Field(default=None, description="how often it was opened (owner and admins only)")
    last_run: RunPublic | None = Field(
        default=None, description="the app's last run, as its proxy reported it (one app's own page and API only)"
    )


class Accepted(BaseModel):
    """An action the Hub is carrying out (or has finished): poll the status for the outcome."""

    id: str
    state: AppState
    done: bool = Field(description="the Hub finished within the request")


class AppsPublic(BaseModel):
    data: list[AppPublic]
    count: int = Field(description="matching apps in total (before offset/limit)")
    offset: int
    limit: int


class AppStatus(BaseModel):
    id: str
    state: AppState
    ready: bool = Field(description="the app answers (state running)")
    started: str | None = Field(
        default=None, description="when the Hub started the server's current run (tells a restarted run apart)"
    )
    progress: int | None = Field(default=None, description="the Hub's start progress (0-100), while starting")
    message: str | None = Field(default=None, description="the Hub's latest start message")
    app_state: str | None = Field(default=None, description="the app proxy's view: starting, ready or failed")
    elapsed: float | None = Field(default=None, description="seconds since the app's current start attempt began")
    ready_after: float | None = Field(default=None, description="seconds the app took to become ready")
    reason: str | None = Field(
        default=None, description="why the app failed (or restarts), in its own words where it said any"
    )
    log_tail: list[str] = []
    last_run: RunPublic | None = Field(default=None, description="the app's last run, as its proxy reported it")


class LogsPublic(BaseModel):
    id: str
    lines: list[str]


class FrameworkPublic(BaseModel):
    name: str
    display_name: str
    description: str
    help: str = Field(default="", description="what file to give and what to expect (shown in the deploy form)")
    needs_file: bool
    file_suffixes: list[str]
    logo: str
    available: bool = Field(default=True, description="false when this Hub lacks the framework's runtime")
    unavailable_reason: str | None = Field(default=None, description="what is missing, when not available")


class UserPublic(BaseModel):
    name: str
    admin: bool
    groups: list[str]
    can_share: bool
    via: Literal["token", "cookie"]
    xsrf_token: str | None = Field(default=None, description="send in X-XSRFToken with cookie-authenticated writes")


class ShareCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    users: list[str] = Field([], max_length=100)
    groups: list[str] = Field([], max_length=100)


class SharePublic(BaseModel):
    kind: Literal["user", "group"]
    name: str
    created_at: str | None = None


class SharesPublic(BaseModel):
    id: str
    public: bool
    shares: list[SharePublic]


class PublicFlag(BaseModel):
    model_config = ConfigDict(extra="forbid")

    public: bool


class ShareLinkCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expires_in: int = Field(86400, ge=60, le=365 * 86400)


class ShareLinkPublic(BaseModel):
    id: str
    created_at: str | None = None
    expires_at: str | None = None
    exchange_count: int = 0
    accept_url: str | None = Field(default=None, description="only when the link is created")


class RevisionPublic(BaseModel):
    """One revision of an app: the spec the Hub held from ``created_at`` on. ``spec.secret_env`` shows
    the names only, each with ``null``: a secret value is never shown, nor ever decrypted."""

    number: int = Field(description="1, 2, ... per app")
    created_at: str = Field(description="when the Hub took this spec (ISO 8601, UTC)")
    actor: str | None = Field(description="who saved it; null: not known (an app made before revisions)")
    note: str = Field(description='what made it: "created", "edited", "rolled back to 3", ...')
    changed: list[str] = Field(description="the spec's fields that differ from the previous revision kept")
    source_sha256: str | None = Field(default=None, description="sha256 of the app's file when it first ran")
    source_commit: str | None = Field(default=None, description="the repository's commit when it first ran")
    spec: dict[str, Any]


class RevisionsPublic(BaseModel):
    id: str
    keep: int = Field(description="revisions kept per app (the oldest beyond go); 0: all")
    data: list[RevisionPublic] = Field(description="newest first")


class FieldChange(BaseModel):
    """One difference between two revisions' specs. ``field`` is a spec field, or ``env.NAME`` /
    ``secret_env.NAME`` for one variable; a secret's ``before`` and ``after`` are always ``null``
    ("changed" then means that a new value was saved)."""

    field: str
    change: Literal["added", "removed", "changed"]
    before: Any = None
    after: Any = None
    secret: bool = False


class RevisionCompare(BaseModel):
    id: str
    from_revision: int
    to_revision: int
    changes: list[FieldChange] = Field(description="what changed from from_revision to to_revision")


class RollbackRequest(BaseModel):
    """Roll back: revision ``n``'s spec becomes the app's (a new revision). A running app is changed
    only with ``restart`` (stopped, changed, started again)."""

    model_config = ConfigDict(extra="forbid")

    restart: bool = False


class EventPublic(BaseModel):
    """One app event: ``kind`` of ``owner``'s app ``server``, by ``actor`` ("" = the service), at ``at``."""

    id: int = Field(description="increasing; page back with ?before=<id>")
    at: str = Field(description="when, ISO 8601 in UTC")
    kind: str
    owner: str
    server: str
    actor: str = Field(description="the Hub user who acted; empty when the service acted on its own")
    detail: dict[str, Any] = {}


class EventsPublic(BaseModel):
    data: list[EventPublic] = Field(description="newest first")
    limit: int
    next_before: int | None = Field(description="pass as ?before= for the next (older) page; null: no more")


class EventsDeleted(BaseModel):
    user: str
    deleted: int = Field(description="events removed: those of the user's apps and those the user caused")
