"""Apps described by a git repository: its ``conda-project.yml``, and how git is told a token.

Upstream JHub Apps reads an app's settings from the ``variables`` of a repository's
``conda-project.yml``: ``JHUB_APP_CONFIG_<field>`` variables are the app's fields (``display_name``,
``description``, ``framework``, ``filepath``, ``custom_command``, ``public``, ``keep_alive``,
``thumbnail_path``), every other variable goes to the app's environment. :func:`prefill_from_project`
does the same, purely, onto hubapps' spec fields; the file is the one in the configured folder
(``config_directory``, which upstream checks but then ignores), and paths in it are relative to that
folder and must stay inside it.

A private repository's token never goes into a URL, an argument or a file: :func:`git_auth_env` returns
the environment that makes git send it as an ``Authorization`` header to that repository's URL only
(``GIT_CONFIG_COUNT``/``GIT_CONFIG_KEY_n``/``GIT_CONFIG_VALUE_n``, read by git ≥ 2.31 as config).
"""

from __future__ import annotations

import base64
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from hubapps.core.errors import SpecError

__all__ = [
    "CONFIG_PREFIX",
    "GIT_AUTH_ENV_VAR",
    "PROJECT_FILES",
    "ProjectPrefill",
    "check_relative",
    "git_auth_env",
    "prefill_from_project",
]

#: The app proxy's environment variable for its repository's token: set by the spawner (decrypted at
#: start), read by the proxy for its clone, never passed to the app.
GIT_AUTH_ENV_VAR: Final = "HUBAPPS_GIT_AUTH"
#: Names of the project file, in the order they are looked for.
PROJECT_FILES: Final = ("conda-project.yml", "conda-project.yaml")
#: Variables with this prefix are app fields.
CONFIG_PREFIX: Final = "JHUB_APP_CONFIG_"
#: Upstream's framework names that differ from ours.
_FRAMEWORKS: Final = {"plotlydash": "dash", "custom": "command"}
_TEXT_FIELDS: Final = ("display_name", "description", "filepath")
_BOOL_FIELDS: Final = ("public", "keep_alive")
#: The user name sent with a token that has none (``user:token`` gives one): accepted by GitHub, and
#: by GitLab and Gitea for personal access tokens, which ignore it.
DEFAULT_TOKEN_USER: Final = "x-access-token"  # noqa: S105 (a user name)


@dataclass
class ProjectPrefill:
    """What a project file says about the app: spec fields, the thumbnail's path, and what was left out."""

    fields: dict[str, Any] = field(default_factory=dict)
    thumbnail_path: str = ""
    #: Why a variable was not used (shown to the user, so nothing is silently dropped).
    notes: list[str] = field(default_factory=list)


def check_relative(path: str, *, what: str) -> str:
    """``path`` if it is relative and has no ``..`` component, else SpecError naming ``what``."""
    if not path or "\0" in path:
        raise SpecError(what, "must be a path inside the repository")
    normal = path.replace("\\", "/")
    if normal.startswith(("/", "~")) or ".." in normal.split("/"):
        raise SpecError(what, f"{path[:200]!r} must be a relative path inside the repository (no '/' first, no '..')")
    return path


def _as_bool(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "yes", "1", "on"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "no", "0", "off", ""):
        return False
    return None


def prefill_from_project(project: object) -> ProjectPrefill:
    """The spec fields a parsed ``conda-project.yml`` gives (SpecError if it is not a mapping)."""
    if not isinstance(project, Mapping):
        raise SpecError("repository", "conda-project.yml is not a YAML mapping")
    variables = project.get("variables") or {}
    if not isinstance(variables, Mapping):
        raise SpecError("repository", "the 'variables' of conda-project.yml must be a mapping")
    out = ProjectPrefill()
    env: dict[str, str] = {}
    for raw_key, value in variables.items():
        key = str(raw_key)
        if not key.startswith(CONFIG_PREFIX):
            if isinstance(value, dict | list) or value is None:
                out.notes.append(f"{key}: not a plain value, left out of the environment")
            else:
                env[key] = str(value).lower() if isinstance(value, bool) else str(value)
            continue
        name = key[len(CONFIG_PREFIX) :]
        if name in _TEXT_FIELDS and isinstance(value, str | int | float):
            out.fields[name] = str(value)
        elif name == "framework" and isinstance(value, str):
            out.fields["framework"] = _FRAMEWORKS.get(value.strip(), value.strip())
        elif name in _BOOL_FIELDS and _as_bool(value) is not None:
            out.fields[name] = _as_bool(value)
        elif name == "custom_command" and isinstance(value, str):
            try:
                command = shlex.split(value)
            except ValueError as exc:
                raise SpecError("command", f"{key} cannot be split into arguments: {exc}") from None
            if command:
                out.fields["command"] = command
        elif name == "thumbnail_path" and isinstance(value, str) and value:
            out.thumbnail_path = check_relative(value, what="thumbnail")
        else:
            out.notes.append(f"{key}: not an app setting hubapps reads from a repository, ignored")
    if out.fields.get("filepath"):
        check_relative(out.fields["filepath"], what="filepath")
    if out.fields.get("keep_alive"):
        out.fields["idle_policy"] = "keep"
    out.fields["env"] = env
    return out


def git_auth_env(url: str, token: str, env: Mapping[str, str]) -> dict[str, str]:
    """``env`` plus the config entries that make git send ``token`` to ``url`` (and URLs under it) only.

    ``token`` is ``user:password`` or a bare token (sent with the user :data:`DEFAULT_TOKEN_USER`), as
    HTTP basic authentication, which GitHub, GitLab, Gitea and Bitbucket take for their access tokens.
    Entries already in ``env`` (``GIT_CONFIG_COUNT``) are kept.
    """
    if not url.startswith(("https://", "http://")):
        raise SpecError("repository", "a token can be used with https:// repositories only")
    user, sep, password = token.partition(":")
    credentials = f"{user}:{password}" if sep else f"{DEFAULT_TOKEN_USER}:{token}"
    if any(ch in credentials for ch in "\r\n\0"):
        raise SpecError("repository", "the token must be one line")
    header = "Authorization: Basic " + base64.b64encode(credentials.encode()).decode("ascii")
    out = dict(env)
    try:
        count = max(0, int(out.get("GIT_CONFIG_COUNT", "0")))
    except ValueError:
        count = 0
    # An empty value first resets any extraHeader configured for the URL elsewhere.
    for value in ("", header):
        out[f"GIT_CONFIG_KEY_{count}"] = f"http.{url}.extraHeader"
        out[f"GIT_CONFIG_VALUE_{count}"] = value
        count += 1
    out["GIT_CONFIG_COUNT"] = str(count)
    return out
