"""The launcher's deploy and edit forms ↔ launch specs: pure mapping, no request, no Hub.

- :func:`values_from_form` reads a submitted form into the form's *values* (what the page shows);
- :func:`values_from_spec` turns a stored spec into values (secret values never go into a form);
- :func:`create_request` / :func:`update_request` turn values into the API's models
  (:class:`~hubapps.service.schemas.AppCreate`, :class:`~hubapps.service.schemas.AppUpdate`);
- :func:`share_changes` is the diff between the shares a form asks for and those the app has;
- :func:`record_error` puts a refusal next to the form field it concerns.

A problem with the form lands in an ``errors`` mapping (form field → message), so the page comes back
with everything the user typed and the message next to its field.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel

from hubapps.core.errors import SpecError
from hubapps.service.body import validated
from hubapps.service.errors import ServiceError
from hubapps.service.schemas import AppCreate, AppUpdate, GitPrefill, GitPrefillRequest, ShareCreate
from hubapps.service.secrets import looks_secret

M = TypeVar("M", bound=BaseModel)

__all__ = [
    "ShareChanges",
    "apply_prefill",
    "blank_values",
    "command_text",
    "create_request",
    "form_field",
    "hidden_plain_env",
    "names",
    "prefill_request",
    "problem_errors",
    "record_error",
    "share_changes",
    "shares_values",
    "spec_body",
    "starts_after_save",
    "update_request",
    "values_from_form",
    "values_from_spec",
]

# REST API field → form field, for showing an error next to the right input.
_FIELD_MAP = {
    "repository": "repo_url",
    "repository.url": "repo_url",
    "repository.ref": "repo_ref",
    "repository.subdirectory": "repo_subdirectory",
    "repository.token": "repo_token",
    "thumbnail": "thumbnail",
    "secret_env": "env",
    "keep_alive": "idle_policy",
}
_TEXT_FIELDS = (
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
    "idle_minutes",
    "max_age_minutes",
)
_CHECKBOXES = ("viewers_can_start", "public", "start", "restart")
#: The idle policies the form offers (:data:`hubapps.core.spec.IDLE_POLICIES`).
_POLICIES = ("default", "keep", "idle")


def blank_values(filepath: str = "", framework: str = "") -> dict[str, Any]:
    """The values of an empty deploy form (``filepath``/``framework`` as the extension opens it)."""
    return {
        "display_name": "",
        "description": "",
        "framework": framework,
        "filepath": filepath,
        "command": "",
        "python_env": "",
        "profile": "",
        "idle_policy": "default",
        "idle_minutes": "",
        "max_age_minutes": "",
        "viewers_can_start": False,
        "public": False,
        "start": True,
        "restart": True,
        "source": "file",
        "repo_url": "",
        "repo_ref": "",
        "repo_subdirectory": "",
        #: Never shown back in the page (a password field): typed, sent, sealed.
        "repo_token": "",
        "repo_has_token": False,
        "repo_token_remove": False,
        "notes": [],
        "thumbnail_ref": "",
        "thumbnail_data": "",
        "env": [],
        "share_users": "",
        "share_groups": "",
        "on_conflict": "ask",
    }


def _secret_name(name: str, legacy: set[str]) -> bool:
    return name in legacy or looks_secret(name)


#: Spec fields whose problems the form shows at another field.
_PROBLEM_FIELDS = {"profile_image": "profile", "secret_env": "env", "idle_policy": "idle_policy"}


def problem_errors(field: str, message: str) -> dict[str, str]:
    """The form's error for a stored spec's problem: beside the field that fixes it."""
    head = field.split(".", 1)[0]
    return {_PROBLEM_FIELDS.get(head, head) or "display_name": message}


def values_from_spec(spec: Mapping[str, Any], legacy: set[str]) -> dict[str, Any]:
    """The form's values for a stored spec. Secret values are never put in the form: a secret row
    comes back blank, meaning "keep". Plain variables of a version 1 spec that were meant to be secret
    (``legacy`` marks, credential-like names) show as secrets too, and are encrypted when saved."""
    values = blank_values()
    repo = spec.get("repository") or {}
    values.update(
        display_name=spec.get("display_name", ""),
        description=spec.get("description", ""),
        framework=spec.get("framework", ""),
        filepath=spec.get("filepath", ""),
        command=shlex.join(spec.get("command") or []),
        python_env=spec.get("python_env", ""),
        profile=spec.get("profile", ""),
        idle_policy=spec.get("idle_policy") or ("keep" if spec.get("keep_alive") else "default"),
        idle_minutes=_minutes_text(spec.get("idle_minutes")),
        max_age_minutes=_minutes_text(spec.get("max_age_minutes")),
        viewers_can_start=bool(spec.get("viewers_can_start")),
        public=bool(spec.get("public")),
        source="git" if repo else "file",
        repo_url=repo.get("url", ""),
        repo_ref=repo.get("ref", ""),
        repo_subdirectory=repo.get("subdirectory", ""),
        repo_has_token="token" in repo or bool(repo.get("secret_token")),
        thumbnail_ref=spec.get("thumbnail", "") if str(spec.get("thumbnail", "")).startswith("sha256:") else "",
        start=False,  # editing a stopped app starts it only when asked to
    )
    values["env"] = [
        {
            "name": k,
            "value": "" if _secret_name(k, legacy) else v,
            "secret": _secret_name(k, legacy),
            "stored": True,
        }
        for k, v in (spec.get("env") or {}).items()
    ]
    values["env"] += [{"name": k, "value": "", "secret": True, "stored": True} for k in spec.get("secret_env") or {}]
    return values


def _minutes_text(value: object) -> str:
    """A stored number of minutes as the form shows it ("" for none, no trailing ".0")."""
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        return ""
    return f"{value:g}"


def _minutes(values: Mapping[str, Any], name: str, errors: dict[str, str]) -> float:
    text = str(values.get(name) or "").strip()
    if not text:
        return 0.0
    try:
        number = float(text)
    except ValueError:
        errors[name] = "give a number of minutes (or leave it empty)"
        return 0.0
    if not number >= 0:
        errors[name] = "give a number of minutes of 0 or more"
        return 0.0
    return number


def hidden_plain_env(spec: Mapping[str, Any], legacy: set[str]) -> dict[str, str]:
    """Stored plain variables the form shows as secrets (see :func:`values_from_spec`)."""
    stored_env: dict[str, str] = dict(spec.get("env") or {})
    return {k: v for k, v in stored_env.items() if _secret_name(k, legacy)}


def names(text: str) -> list[str]:
    """User or group names typed into a form field, separated by commas or new lines."""
    return [n for n in (part.strip() for part in text.replace("\n", ",").split(",")) if n]


def values_from_form(form: Mapping[str, object]) -> dict[str, Any]:
    """The values of a submitted form (a field that is not text counts as empty)."""

    def text(name: str) -> str:
        value = form.get(name)
        return value if isinstance(value, str) else ""

    values = blank_values()
    for key in _TEXT_FIELDS:
        values[key] = text(key)
    values["source"] = "git" if text("source") == "git" else "file"
    values["idle_policy"] = text("idle_policy") if text("idle_policy") in _POLICIES else "default"
    values["on_conflict"] = text("on_conflict") if text("on_conflict") in ("update", "new") else "ask"
    for key in _CHECKBOXES:
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
    values["repo_token"] = text("repo_token").strip()
    values["repo_has_token"] = text("repo_has_token") == "1"
    values["repo_token_remove"] = text("repo_token_remove") == "on"
    return values


def command_text(argv: Iterable[str]) -> str:
    """A command as one line that ``shlex.split`` gives back: arguments quoted only where they need it
    (``{python} app.py {port}`` stays as written, as upstream's single-string commands read)."""
    return " ".join(a if a and not any(c.isspace() or c in "'\"\\#" for c in a) else shlex.quote(a) for a in argv)


def prefill_request(values: Mapping[str, Any]) -> GitPrefillRequest | None:
    """The repository the form's "Read settings from the repository" names (None without a URL)."""
    if not values["repo_url"].strip():
        return None
    return validated(
        GitPrefillRequest,
        {
            "url": values["repo_url"].strip(),
            "ref": values["repo_ref"].strip(),
            "subdirectory": values["repo_subdirectory"].strip(),
            "token": values["repo_token"] or None,
        },
    )


def apply_prefill(values: dict[str, Any], prefill: GitPrefill) -> None:
    """Put what the repository says into the form's values (the env rows it sets replace those typed;
    a thumbnail becomes the form's pending image)."""
    values.update(
        source="git",
        display_name=prefill.display_name or values["display_name"],
        description=prefill.description or values["description"],
        framework=prefill.framework or values["framework"],
        filepath=prefill.filepath,
        command=command_text(prefill.command),
        public=prefill.public,
        idle_policy="keep" if prefill.keep_alive else values["idle_policy"],
        repo_url=prefill.repository.url,
        repo_ref=prefill.repository.ref,
        repo_subdirectory=prefill.repository.subdirectory,
        notes=[f"Read from commit {prefill.commit[:12]}.", *prefill.notes],
    )
    kept = [row for row in values["env"] if row["name"] not in prefill.env]
    values["env"] = [{"name": k, "value": v, "secret": False, "stored": False} for k, v in prefill.env.items()] + kept
    if prefill.thumbnail_data_url:
        values["thumbnail_data"] = prefill.thumbnail_data_url.partition(",")[2]


def spec_body(
    values: Mapping[str, Any],
    errors: dict[str, str],
    stored_secrets: Iterable[str] = (),
    hidden_plain: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The API body from the form's values; form-level problems land in ``errors``.

    A secret row left blank sends ``null`` (keep the stored value); ``stored_secrets`` are the names
    stored encrypted, which cannot silently become plain (the service cannot read them back).
    ``hidden_plain`` are stored plain variables the form showed as secrets (see
    :func:`values_from_spec`): unticked and left blank, they keep their stored value.
    """
    body: dict[str, Any] = {
        "display_name": values["display_name"],
        "description": values["description"],
        "framework": values["framework"],
        "filepath": values["filepath"].strip() if values["source"] == "file" or values["filepath"] else "",
        "idle_policy": values["idle_policy"],
        "viewers_can_start": values["viewers_can_start"],
        "public": values["public"],
        "python_env": values["python_env"],
        "profile": values["profile"],
        "thumbnail": "" if values.get("remove_thumbnail") else values["thumbnail_ref"],
    }
    # The times belong to the "idle" policy only: another choice clears them (what was typed stays shown).
    own = values["idle_policy"] == "idle"
    body["idle_minutes"] = _minutes(values, "idle_minutes", errors) if own else 0.0
    body["max_age_minutes"] = _minutes(values, "max_age_minutes", errors) if own else 0.0
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
        if values.get("repo_token"):  # (left empty: the stored token is kept, for the same URL)
            body["repository"]["token"] = values["repo_token"]
        elif values.get("repo_token_remove"):
            body["repository"]["token"] = ""
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


def form_field(api_field: str | None) -> str:
    """The form field an API field's error belongs to (``_form`` for the form as a whole)."""
    if not api_field:
        return "_form"
    if api_field in _FIELD_MAP:
        return _FIELD_MAP[api_field]
    head = api_field.split(".", 1)[0]
    return {"repository": "repo_url", "args": "command"}.get(head, head)


def record_error(errors: dict[str, str], exc: SpecError | ServiceError) -> None:
    """A refusal (a spec rule, or the service's answer) next to the form field it concerns."""
    errors[form_field(exc.field)] = exc.message


def create_request(values: Mapping[str, Any], errors: dict[str, str], *, thumbnail: str | None) -> AppCreate | None:
    """The new app the deploy form asks for (``thumbnail``: the ref of a new image); None, with
    ``errors`` saying why, when the form cannot be saved."""
    body = spec_body(values, errors)
    if thumbnail is not None:
        body["thumbnail"] = thumbnail
    body["start"] = values["start"]
    body["on_conflict"] = values.get("on_conflict", "ask")
    return _model_or_errors(AppCreate, body, errors)


def update_request(
    values: Mapping[str, Any],
    errors: dict[str, str],
    spec: Mapping[str, Any],
    legacy: set[str],
    *,
    running: bool,
    thumbnail: str | None,
) -> AppUpdate | None:
    """The edit the form asks of an app whose (public) spec is ``spec``; None, with ``errors``, when
    it cannot be saved.

    Secret rows left blank keep their stored values. "Restart" applies to a running app, "start once
    saved" to a stopped one: either sends ``restart=true`` (the API starts a stopped app once saved).
    """
    body = spec_body(values, errors, spec.get("secret_env") or {}, hidden_plain_env(spec, legacy))
    if thumbnail is not None:
        body["thumbnail"] = thumbnail
    starts = starts_after_save(values, running=running)
    if running or starts:
        body["restart"] = starts
    return _model_or_errors(AppUpdate, body, errors)


def _model_or_errors(model: type[M], body: dict[str, Any], errors: dict[str, str]) -> M | None:
    """``body`` as ``model``, unless the form already has errors or the model refuses it (noted in ``errors``)."""
    if errors:
        return None
    try:
        return validated(model, body)
    except ServiceError as exc:
        record_error(errors, exc)
        return None


def starts_after_save(values: Mapping[str, Any], *, running: bool) -> bool:
    """Whether saving the form (re)starts the app (the page then follows its start)."""
    return bool(values["restart"] if running else values["start"])


@dataclass(frozen=True)
class ShareChanges:
    """What saving a form changes in an app's shares: names to share with, ``(kind, name)`` to revoke."""

    users: tuple[str, ...]
    groups: tuple[str, ...]
    revoke: tuple[tuple[str, str], ...]  # kind "user" or "group"

    def request(self) -> ShareCreate | None:
        """The shares to add as the API's body (None: nothing to add); raises
        :class:`~hubapps.service.errors.InvalidInput` when they break its rules (too many names)."""
        if not self.users and not self.groups:
            return None
        return validated(ShareCreate, {"users": list(self.users), "groups": list(self.groups)})


def shares_values(shares: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The form's share fields for the app's current shares (``(kind, name)`` pairs)."""
    listed = list(shares)
    return {
        "share_users": ", ".join(n for k, n in listed if k == "user"),
        "share_groups": ", ".join(n for k, n in listed if k == "group"),
    }


def share_changes(values: Mapping[str, Any], current: Iterable[tuple[str, str]]) -> ShareChanges:
    """The shares to add and to revoke so that the app's shares become those the form names."""
    wanted = {("user", n) for n in names(values["share_users"])}
    wanted |= {("group", n) for n in names(values["share_groups"])}
    have = set(current)
    added = sorted(wanted - have)
    return ShareChanges(
        users=tuple(n for k, n in added if k == "user"),
        groups=tuple(n for k, n in added if k == "group"),
        revoke=tuple(sorted(have - wanted)),
    )
