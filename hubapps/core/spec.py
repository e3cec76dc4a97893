"""The launch spec: what a user asks the Hub to run, stored as a named server's ``user_options``.

``AppSpec`` is versioned (``spec_version``) and strict: every field has a documented limit, and
anything that would reach a process (paths, argv, environment) is checked here so that the three
runtime contexts share one set of rules. The spawner mixin re-validates on every start, because a
user can call the Hub REST API directly with any ``user_options``.

Specs written by upstream JHub Apps (``jhub_app: true`` without ``spec_version``) are read by
:func:`parse_user_options`, which maps their fields onto this model.

Versions: 2 added ``secret_env`` (values encrypted by the launcher with JupyterHub's crypto; this
module checks only that each value *looks like* a Fernet token, it holds no key). A version 1 spec
is version 2 without secret values, and parses into it unchanged. Later fields of version 2 have
defaults that keep older specs meaning what they meant: ``idle_policy`` (read from ``keep_alive`` when
a spec has none), ``idle_minutes``, ``max_age_minutes`` and ``viewers_can_start``.
"""

from __future__ import annotations

import base64
import binascii
import re
import shlex
import unicodedata
from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from hubapps.core.errors import SpecError
from hubapps.core.names import is_valid_display_name, normalise_display_name

__all__ = [
    "ENV_DENYLIST",
    "ENV_DENY_PREFIXES",
    "IDLE_POLICIES",
    "LIMITS",
    "SPEC_VERSION",
    "AppSpec",
    "GitSource",
    "Limits",
    "UpstreamTranslation",
    "check_env_entry",
    "check_env_name",
    "idle_policy_changes",
    "is_app_options",
    "is_sealed_value",
    "parse_user_options",
    "translate_upstream",
]

SPEC_VERSION: Final = 2


class Limits:
    """Named limits on every field of a launch spec.

    They are deliberately tight: a spec lives in the Hub database and is shown in listings, so it is
    small text, not a place for files or secrets.
    """

    display_name_max = 100
    description_max = 2000
    path_max = 1024
    arg_max = 4096
    argv_max = 64
    env_max = 64
    env_key_max = 128
    env_value_max = 8192
    #: Characters of one encrypted secret value (any ASCII value of ``env_value_max`` fits).
    sealed_value_max = 16384
    name_max = 64  # framework, environment and profile names
    url_max = 2048
    git_ref_max = 255
    thumbnail_ref_max = 200
    #: Longest idle time or maximum age of an app's own policy, in minutes (a year).
    policy_minutes_max = 366 * 24 * 60


LIMITS: Final = Limits()

#: Environment variables a spec may never set: they belong to the Hub, the proxy or the loader.
ENV_DENYLIST: Final = frozenset(
    {
        "PATH",
        "PYTHONPATH",
        "PYTHONHOME",
        "PYTHONSTARTUP",
        "PYTHONUSERBASE",
        "HOME",
        "USER",
        "SHELL",
        "IFS",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "no_proxy",
        "all_proxy",
        "VIRTUAL_ENV",
        "CONDA_PREFIX",
        "BASH_ENV",
        "ENV",
        "NODE_OPTIONS",
        "PORT",
    }
)
#: Prefixes of denied names: the Hub's own variables, the dynamic loader, and hubapps' own.
ENV_DENY_PREFIXES: Final = ("JUPYTERHUB_", "JPY_", "LD_", "DYLD_", "HUBAPPS_", "GIT_", "SSL_", "REQUESTS_CA")

#: What stops a running app: the Hub-wide default, nothing (keep it running), or the app's own times.
IdlePolicy = Literal["default", "keep", "idle"]
IDLE_POLICIES: Final[tuple[str, ...]] = ("default", "keep", "idle")

# Letters of either case: JHub Apps stored lowercase names, and a program may read them.
_ENV_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_FRAMEWORK = re.compile(r"[a-z][a-z0-9_-]*")
_THUMBNAIL_REF = re.compile(r"(sha256:[0-9a-f]{64}|framework:[a-z][a-z0-9_-]*)")
_GIT_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*")
# Characters that only mean something to a shell. hubapps never runs a shell, so an argument that
# holds them would reach the program literally, which is never what the user meant: refuse it.
_SHELL_META = re.compile(r"[;|&`<>]|\$\(|\$\{")
# Bidi overrides and zero-width characters let a name look like another one.
_INVISIBLE = {"Cf"}
# A Fernet token (what JupyterHub's crypto makes): URL-safe base64 of version byte 0x80, an 8-byte
# timestamp, a 16-byte IV, AES-CBC blocks of 16 bytes and a 32-byte HMAC; 0x80 encodes as "gA".
_FERNET = re.compile(r"gA[A-Za-z0-9_-]+={0,2}")
_FERNET_OVERHEAD = 1 + 8 + 16 + 32


def is_sealed_value(value: str) -> bool:
    """True when ``value`` has the shape of a Fernet token (it says nothing about the key)."""
    if len(value) > LIMITS.sealed_value_max or not _FERNET.fullmatch(value):
        return False
    try:
        raw = base64.urlsafe_b64decode(value)
    except (binascii.Error, ValueError):
        return False
    blocks = len(raw) - _FERNET_OVERHEAD
    return raw[0] == 0x80 and blocks >= 16 and blocks % 16 == 0


def check_env_name(key: str) -> str:
    """Raise ValueError unless ``key`` may name a variable of an app's environment."""
    if len(key) > LIMITS.env_key_max or not _ENV_KEY.fullmatch(key):
        raise ValueError(
            f"{key[: LIMITS.env_key_max]!r} is not a valid name (letters, digits and _ only, not starting with a digit)"
        )
    if key in ENV_DENYLIST or key.startswith(ENV_DENY_PREFIXES):
        raise ValueError(f"{key!r} is reserved and cannot be set by an app")
    return key


def check_env_entry(key: str, value: str) -> None:
    """Raise ValueError unless ``key=value`` may be in an app's environment (the value is never quoted)."""
    check_env_name(key)
    if len(value) > LIMITS.env_value_max:
        raise ValueError(f"the value of {key!r} is longer than {LIMITS.env_value_max} characters")
    if "\x00" in value:
        raise ValueError(f"the value of {key!r} contains a NUL character")


def _no_controls(value: str, *, field: str, allow_newlines: bool = False) -> str:
    for ch in value:
        if ch in "\n\t" and allow_newlines:
            continue
        cat = unicodedata.category(ch)
        if cat == "Cc" or cat in _INVISIBLE:
            raise ValueError(f"contains a control or invisible character (U+{ord(ch):04X}) in {field}")
    return value


def _display_name(value: str) -> str:
    value = normalise_display_name(value)
    if not value:
        raise ValueError("must not be empty")
    if not is_valid_display_name(value):
        raise ValueError("may hold only printable characters (no control or invisible characters)")
    return value


def _description(value: str) -> str:
    return _no_controls(unicodedata.normalize("NFC", value).strip(), field="the description", allow_newlines=True)


def _relative_or_absolute_path(value: str) -> str:
    """A file or folder path: no NUL/controls, no option look-alike, no ``..`` component."""
    _no_controls(value, field="the path")
    if value.startswith("-"):
        raise ValueError("must not start with '-' (it would be read as an option)")
    parts = value.replace("\\", "/").split("/")
    if ".." in parts:
        raise ValueError("must not contain '..'")
    return value


def _relative_path(value: str) -> str:
    _relative_or_absolute_path(value)
    if value.startswith(("/", "\\", "~")):
        raise ValueError("must be relative to the repository")
    return value


def _argument(value: str) -> str:
    _no_controls(value, field="the argument")
    match = _SHELL_META.search(value)
    if match:
        raise ValueError(
            f"contains {match.group(0)!r}: commands run without a shell, so shell syntax would be passed "
            "literally; put pipelines and redirections in a script and run that"
        )
    return value


Path = Annotated[str, Field(max_length=LIMITS.path_max), AfterValidator(_relative_or_absolute_path)]
Argument = Annotated[str, Field(min_length=1, max_length=LIMITS.arg_max), AfterValidator(_argument)]


class GitSource(BaseModel):
    """Clone a repository before starting the app; the app's paths are then relative to it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: Annotated[str, Field(min_length=1, max_length=LIMITS.url_max)]
    ref: Annotated[str, Field(max_length=LIMITS.git_ref_max)] = ""
    subdirectory: Annotated[str, Field(max_length=LIMITS.path_max), AfterValidator(_relative_path)] = ""
    #: The token of a private repository, encrypted by the launcher service for the owner like a
    #: ``secret_env`` value (a Fernet token); only the spawner decrypts it, for the proxy's clone.
    secret_token: Annotated[str, Field(max_length=LIMITS.sealed_value_max)] = ""

    @field_validator("secret_token")
    @classmethod
    def _secret_token(cls, value: str) -> str:
        if value and not is_sealed_value(value):
            raise ValueError(
                "is not encrypted: a repository token must be saved through the app launcher, which "
                "encrypts it with the Hub's key"
            )
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        _no_controls(value, field="the URL")
        if value.startswith("-") or any(c.isspace() for c in value):
            raise ValueError("is not a repository URL")
        if not re.match(r"(https|http|ssh|git|file)://", value):
            raise ValueError("must start with https://, http://, ssh://, git:// or file://")
        if re.match(r"(https|http)://[^/]*@", value):
            raise ValueError("must not carry credentials; use a credential helper instead")
        return value

    @field_validator("ref")
    @classmethod
    def _ref(cls, value: str) -> str:
        if value and (not _GIT_REF.fullmatch(value) or ".." in value or value.endswith((".lock", "/"))):
            raise ValueError("is not a valid branch, tag or commit name")
        return value


class AppSpec(BaseModel):
    """Version 2 of the launch spec.

    ``jhub_app`` marks the options as an app for upstream JHub Apps tools too; ``spec_version`` tells
    our own format apart from theirs.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)

    spec_version: Literal[2] = SPEC_VERSION
    jhub_app: Literal[True] = True
    framework: Annotated[str, Field(min_length=1, max_length=LIMITS.name_max, pattern=f"^{_FRAMEWORK.pattern}$")]
    display_name: Annotated[str, Field(max_length=LIMITS.display_name_max), AfterValidator(_display_name)]
    description: Annotated[str, Field(max_length=LIMITS.description_max), AfterValidator(_description)] = ""
    #: Script or notebook, relative to the user's home (or the repository) or absolute.
    filepath: Path = ""
    #: Folder the app runs in; empty means the file's folder (or the home / repository folder).
    working_dir: Path = ""
    #: argv for the ``command`` framework; ``{port}`` is replaced by the port the app must listen on.
    command: Annotated[list[Argument], Field(max_length=LIMITS.argv_max)] = []
    #: Extra arguments given to the user's script after the framework's own.
    args: Annotated[list[Argument], Field(max_length=LIMITS.argv_max)] = []
    env: Annotated[dict[str, str], Field(max_length=LIMITS.env_max)] = {}
    #: Secret variables: name → Fernet token made by the launcher service with the Hub's key, bound to
    #: the owner. Only the spawner decrypts them, at start; nothing shows them again.
    secret_env: Annotated[dict[str, str], Field(max_length=LIMITS.env_max)] = {}
    #: Name of an admin-configured Python or conda environment; empty means the server's default.
    python_env: Annotated[str, Field(max_length=LIMITS.name_max)] = ""
    #: Name (slug) of an admin-configured spawner profile; empty means the default.
    profile: Annotated[str, Field(max_length=LIMITS.name_max)] = ""
    #: Spec version 2's first idle setting, kept for older tools: True exactly when ``idle_policy`` is
    #: "keep" (the proxy then reports activity "now", so no culler stops the app).
    keep_alive: bool = False
    #: "default": the Hub-wide ``app_idle_timeout``/``app_max_age``; "keep": never stopped for being
    #: idle or old; "idle": this app's own ``idle_minutes`` and ``max_age_minutes`` (0: not that one).
    idle_policy: IdlePolicy = "default"
    #: Minutes without viewers (HTTP requests or websocket messages) before the service stops the app.
    idle_minutes: Annotated[float, Field(ge=0, le=LIMITS.policy_minutes_max)] = 0
    #: Minutes after its start at which the service stops the app, used or not.
    max_age_minutes: Annotated[float, Field(ge=0, le=LIMITS.policy_minutes_max)] = 0
    #: People who may open the app (a share, or anyone logged in for a public app) may start it when
    #: stopped; the start runs with the owner's spec and rights.
    viewers_can_start: bool = False
    public: bool = False
    repository: GitSource | None = None
    #: ``sha256:<hex>`` of an image stored by the service, or ``framework:<name>`` for its logo.
    thumbnail: Annotated[str, Field(max_length=LIMITS.thumbnail_ref_max)] = ""

    @field_validator("env")
    @classmethod
    def _env(cls, value: dict[str, str]) -> dict[str, str]:
        for key, val in value.items():
            check_env_entry(key, val)
        return value

    @field_validator("secret_env")
    @classmethod
    def _secret_env(cls, value: dict[str, str]) -> dict[str, str]:
        for key, val in value.items():
            check_env_name(key)
            if not is_sealed_value(val):
                # Never echo the value: it is most likely a secret sent in plain text.
                raise ValueError(
                    f"the value of {key!r} is not encrypted: secret values must be saved through the app "
                    "launcher, which encrypts them with the Hub's key (JUPYTERHUB_CRYPT_KEY); "
                    "plain values belong in env"
                )
        return value

    @model_validator(mode="before")
    @classmethod
    def _policy_from_keep_alive(cls, data: Any) -> Any:
        """A spec without ``idle_policy`` (older ones) means what its ``keep_alive`` meant, and one
        without ``keep_alive`` gets it from its policy."""
        if isinstance(data, dict):
            if "idle_policy" not in data:
                data = {**data, "idle_policy": "keep" if data.get("keep_alive") is True else "default"}
            elif "keep_alive" not in data:
                data = {**data, "keep_alive": data.get("idle_policy") == "keep"}
        return data

    @model_validator(mode="after")
    def _idle_policy(self) -> AppSpec:
        if self.keep_alive != (self.idle_policy == "keep"):
            raise ValueError("keep_alive: must be true exactly when idle_policy is 'keep' (set one of them, not both)")
        if self.idle_policy == "idle" and not (self.idle_minutes or self.max_age_minutes):
            raise ValueError("idle_minutes: set idle_minutes or max_age_minutes (above 0) for the 'idle' policy")
        if self.idle_policy != "idle" and (self.idle_minutes or self.max_age_minutes):
            field = "idle_minutes" if self.idle_minutes else "max_age_minutes"
            raise ValueError(
                f"{field}: only the 'idle' policy has times of its own (idle_policy is {self.idle_policy!r})"
            )
        return self

    @model_validator(mode="after")
    def _one_environment(self) -> AppSpec:
        both = sorted(set(self.env) & set(self.secret_env))
        if both:
            raise ValueError(f"secret_env: {both[0]!r} is also set in env; a variable is either secret or not")
        if len(self.env) + len(self.secret_env) > LIMITS.env_max:
            raise ValueError(f"secret_env: at most {LIMITS.env_max} variables in env and secret_env together")
        return self

    def with_secret_values(self, values: dict[str, str]) -> AppSpec:
        """This spec with its secrets opened: ``values`` (name → plain text, for every secret name)
        joined to ``env`` and checked by the same rules. Called by the spawner, at start, only."""
        if set(values) != set(self.secret_env):
            raise SpecError("secret_env", "the opened values do not match the secret names")
        if not values:
            return self
        data = self.model_dump()
        data["env"] = {**self.env, **values}
        data["secret_env"] = {}
        try:
            return AppSpec.model_validate(data)
        except ValidationError as exc:
            raise _spec_error(exc, "secret_env") from None

    @field_validator("python_env", "profile")
    @classmethod
    def _optional_name(cls, value: str) -> str:
        if value and not _NAME.fullmatch(value):
            raise ValueError("may hold only letters, digits, '.', '_' and '-', and must not start with them")
        return value

    @field_validator("thumbnail")
    @classmethod
    def _thumbnail(cls, value: str) -> str:
        if value and not _THUMBNAIL_REF.fullmatch(value):
            raise ValueError("must be a stored image reference (sha256:…) or framework:<name>")
        return value

    def to_user_options(self) -> dict[str, Any]:
        """The JSON stored in the Hub (defaults included, so the stored spec is explicit)."""
        return self.model_dump(mode="json")


def idle_policy_changes(changes: dict[str, Any], current: dict[str, Any] | None = None) -> dict[str, Any]:
    """``changes`` to a spec with ``keep_alive`` and ``idle_policy`` made to agree: the one sent wins.

    They name one thing (keep it running), so a client that knows only ``keep_alive`` (upstream tools,
    spec version 2's first clients) still changes the policy, and one that sets the policy needs not
    send ``keep_alive``. Turning ``keep_alive`` off takes a "keep" app back to the default; choosing a
    policy other than "idle" clears the app's own times.
    """
    out = dict(changes)
    current = current or {}
    if "idle_policy" in out and out["idle_policy"] is not None:
        out["keep_alive"] = out["idle_policy"] == "keep"
    elif "keep_alive" in out and out["keep_alive"] is not None:
        was = current.get("idle_policy", "keep" if current.get("keep_alive") else "default")
        out["idle_policy"] = "keep" if out["keep_alive"] else ("default" if was == "keep" else was)
    policy = out.get("idle_policy", current.get("idle_policy"))
    if policy in ("default", "keep"):
        out.setdefault("idle_minutes", 0)
        out.setdefault("max_age_minutes", 0)
    return out


def is_app_options(options: object) -> bool:
    """True when ``user_options`` describe a hubapps (or upstream JHub Apps) app."""
    return isinstance(options, dict) and (options.get("jhub_app") is True or "spec_version" in options)


def parse_user_options(options: object) -> AppSpec:
    """Validate stored or submitted ``user_options`` into an :class:`AppSpec`.

    Raises :class:`SpecError` naming the first offending field.
    """
    if not isinstance(options, dict):
        raise SpecError("", "user options must be a JSON object")
    data = dict(options)
    if "spec_version" not in data:
        data = _from_upstream(data)
    elif data["spec_version"] == 1:
        data = _from_v1(data)
    try:
        return AppSpec.model_validate(data)
    except ValidationError as exc:
        raise _spec_error(exc) from None


def _from_v1(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 is version 2 without ``secret_env`` (its env values are all plain)."""
    if "secret_env" in data:
        raise SpecError("secret_env", "is not a field of spec_version 1; use spec_version 2")
    return {**data, "spec_version": SPEC_VERSION}


def _spec_error(exc: ValidationError, rename: str | None = None) -> SpecError:
    first = exc.errors(include_url=False, include_input=False)[0]
    field = rename or ".".join(str(p) for p in first["loc"])
    message = first["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    head, sep, rest = message.partition(": ")
    if not field and sep and head in AppSpec.model_fields:
        field, message = head, rest  # a check of several fields names the one it is about
    if first["type"] == "extra_forbidden":
        message = "is not a launch spec field"
    return SpecError(field, message)


# Upstream JHub Apps framework names that differ from ours.
_UPSTREAM_FRAMEWORKS: Final = {"plotlydash": "dash", "custom": "command"}
# Upstream frameworks that run a file: with an empty ``filepath`` upstream ran its own bundled example.
_UPSTREAM_FILE_FRAMEWORKS: Final = frozenset({"panel", "bokeh", "streamlit", "plotlydash", "voila", "gradio"})
# Upstream fields that hubapps does not keep in the spec: the server name is the Hub's, shares are
# the Hub's (``share_with`` was applied through the Hub's shares when the app was saved), ``argv`` was
# never sent by upstream's API, and the inline image goes to the thumbnail store (the service
# imports it; the spec carries its reference).
_UPSTREAM_DROPPED: Final = ("name", "share_with", "argv", "thumbnail", "profile_image")
# Upstream's proxy placeholders for an argument that must not be read as the proxy's own option.
_UPSTREAM_DASHES: Final = (("{--}", "--"), ("{-}", "-"))


@dataclass(frozen=True)
class UpstreamTranslation:
    """Upstream ``user_options`` in this spec's terms, and what hubapps refuses in them.

    ``data`` is the spec as far as it translates (for an edit form to start from); ``problems`` name
    each field hubapps will not run as stored, with the reason and the fix, in the order they apply.
    """

    data: dict[str, Any]
    problems: tuple[SpecError, ...] = ()
    #: What the stored app lacks to run, though hubapps accepts it as it is (the spec is valid, as one of
    #: hubapps' own without a file is, and a start says why it cannot run): an empty ``filepath``.
    missing: tuple[SpecError, ...] = ()

    @property
    def first_issue(self) -> SpecError | None:
        """What to fix first: a refusal, else what is missing; None when the app runs as stored."""
        return (self.problems or self.missing or (None,))[0]


def translate_upstream(options: dict[str, Any]) -> UpstreamTranslation:
    """Map upstream JHub Apps ``user_options`` onto the current spec version, keeping every meaning
    hubapps can keep and naming, instead of dropping, what it refuses on purpose:

    - ``custom_command``: split like a shell would split words (upstream split on whitespace, then
      its proxy removed quotes), ``{-}``/``{--}`` become ``-``/``--``; ``{port}`` keeps its meaning.
      Shell syntax (pipelines, redirections, ``$(...)``) is refused: upstream passed it to the
      program as words too, and hubapps runs no shell. The draft keeps the words for the form.
    - ``profile_image`` (a container image the user chose) is refused: only the admin's profiles run.
    - an empty ``filepath`` on a framework that runs a file is accepted (as in hubapps' own specs,
      where a start then says a file is needed) and named in ``missing``: upstream ran its own bundled
      example, which hubapps does not guess; the user picks the file.
    - lowercase environment variable names are kept as they are (the spec accepts them).
    """
    problems: list[SpecError] = []
    out: dict[str, Any] = {k: v for k, v in options.items() if k not in _UPSTREAM_DROPPED}
    out["spec_version"] = SPEC_VERSION
    upstream_framework = out.get("framework") or "panel"
    if isinstance(upstream_framework, str):
        out["framework"] = _UPSTREAM_FRAMEWORKS.get(upstream_framework, upstream_framework)
    custom = out.pop("custom_command", "")
    if isinstance(custom, str) and custom.strip():
        try:
            words = shlex.split(custom)
        except ValueError as exc:
            words = custom.split()
            problems.append(SpecError("command", f"cannot be split into arguments: {exc}"))
        for token, dash in _UPSTREAM_DASHES:
            words = [w.replace(token, dash) for w in words]
        out["command"] = words
        shell = next((m.group(0) for w in words if (m := _SHELL_META.search(w))), None)
        if shell is not None:
            problems.append(
                SpecError(
                    "command",
                    f"the stored custom command is a shell pipeline or redirection ({shell!r}); hubapps runs "
                    "commands without a shell (JHub Apps passed these characters to the program too): save "
                    f"the line as a script, e.g. run.sh containing `{custom.strip()}`, and set the command "
                    "to: sh run.sh",
                )
            )
    conda_env = out.pop("conda_env", "")
    if conda_env and not out.get("python_env"):
        out["python_env"] = conda_env
    image = options.get("profile_image")
    if image:
        problems.append(
            SpecError(
                "profile_image",
                f"JHub Apps let users choose the container image ({str(image)[:200]!r}); hubapps runs only "
                "the images of the admin's profiles: choose a profile (the image is dropped when saved)",
            )
        )
    env = out.get("env")
    if isinstance(env, dict):
        # Upstream kept proxy switches in the app env; they mean nothing here.
        out["env"] = {k: v for k, v in env.items() if not str(k).startswith(("JHUB_APP_PROXY_", "JH_APPS_"))}
    elif env is None:
        out["env"] = {}
    repo = out.get("repository")
    if isinstance(repo, dict):
        out["repository"] = {
            "url": repo.get("url", ""),
            "ref": repo.get("ref", "") or "",
            "subdirectory": "" if repo.get("config_directory") in (None, ".", "./") else repo["config_directory"],
        }
    for key in ("description", "filepath", "profile"):
        if out.get(key) is None:
            out[key] = ""
    for key in ("public", "keep_alive"):
        if out.get(key) is None:
            out[key] = False
    missing: list[SpecError] = []
    if upstream_framework in _UPSTREAM_FILE_FRAMEWORKS and not out.get("filepath") and not out.get("repository"):
        missing.append(
            SpecError(
                "filepath",
                "no file is set: JHub Apps ran its own bundled example in that case; choose the file to run",
            )
        )
    return UpstreamTranslation(data=out, problems=tuple(problems), missing=tuple(missing))


def _from_upstream(data: dict[str, Any]) -> dict[str, Any]:
    """Upstream ``user_options`` as spec data; raises the first thing hubapps refuses in them (what
    is only missing, such as a file, is left to the checks at start, as for hubapps' own specs)."""
    translation = translate_upstream(data)
    if translation.problems:
        raise translation.problems[0]
    return translation.data
