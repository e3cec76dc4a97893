"""Startup apps: the apps an admin declares in ``c.HubApps.startup_apps``, read into one form.

An entry names its owner, its server (or lets the display name make it, as the launcher does), the
app's spec fields (those of the API's ``AppCreate``), ``start`` (start it once, when it is created) and
``overwrite`` (the entry wins over its owner's own edits). Upstream JHub Apps' entries
(``username``, ``servername``, ``user_options``) are mapped onto the same form, their ``user_options``
by :func:`hubapps.core.spec.parse_user_options`'s own mapping of upstream specs.

Checked here, at Hub start (the trait's validator), is what needs no Hub and no installation choice:
names and every spec field, with an error naming the entry and the field. Whether the framework is
enabled, the environment or profile offered, is the service's check when it reconciles (the entry is
then reported "error").
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from hubapps.core.errors import SpecError
from hubapps.core.names import is_valid_server_name, server_name_for
from hubapps.core.spec import SPEC_VERSION, AppSpec, parse_user_options

__all__ = ["STARTUP_FIELDS", "StartupEntry", "StartupError", "parse_startup_apps", "spec_key"]

#: The fields of our own entries besides the spec's (see :class:`StartupEntry`).
STARTUP_FIELDS: Final = ("owner", "server", "start", "overwrite", "wait_for")
#: The spec fields an entry may set: the API's ``AppCreate`` fields, less ``secret_env`` (a secret does
#: not belong in ``jupyterhub_config.py``; the owner adds it in the launcher) and the launcher's choices.
_SPEC_FIELDS: Final = frozenset(AppSpec.model_fields) - {"spec_version", "jhub_app", "secret_env"}
#: Upstream's entry fields.
_UPSTREAM_FIELDS: Final = ("username", "servername", "user_options", "start", "overwrite", "wait_for")
#: Upstream user_options that are read and not kept (shares are the owner's choice in hubapps; an
#: inline image is not a spec field): named in the entry's notes.
_UPSTREAM_NOT_APPLIED: Final = ("share_with", "profile_image", "thumbnail")
_UPSTREAM_NAME_DROP = re.compile(r"[^a-z0-9\s-]")


class StartupError(ValueError):
    """An entry of ``startup_apps`` that cannot be read; the message names the entry and the field."""


@dataclass(frozen=True)
class StartupEntry:
    """One startup app, as the service reconciles it.

    ``spec`` is the app's launch spec as the entry gives it (checked by the core rules); ``server`` its
    server name; ``start``: start it once, when it is created (never again: not at later reconciles,
    nor when the Hub restarts); ``overwrite``: a change its owner made is replaced by the entry's
    spec (else it is kept, and reported as drift); ``wait_for``: an absolute path, as the service's
    machine sees it, that must exist before the app is made (files provisioned by something else);
    ``notes``: what of the entry was read and not applied (upstream's ``share_with``).
    """

    owner: str
    server: str
    spec: AppSpec
    start: bool = False
    overwrite: bool = False
    wait_for: str = ""
    notes: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """``owner/server``, the entry's name in reports."""
        return f"{self.owner}/{self.server}"

    def to_json(self) -> dict[str, Any]:
        """The entry in our own format (what the Hub hands the service)."""
        fields = {k: v for k, v in self.spec.to_user_options().items() if k in _SPEC_FIELDS}
        out: dict[str, Any] = {"owner": self.owner, "server": self.server, **fields}
        out.update(start=self.start, overwrite=self.overwrite, wait_for=self.wait_for)
        if self.notes:
            out["notes"] = list(self.notes)
        return out


def spec_key(options: Mapping[str, Any]) -> str:
    """A spec's options as one comparable string (sorted keys, ``spec_version`` left out)."""
    return json.dumps({k: v for k, v in options.items() if k != "spec_version"}, sort_keys=True, separators=(",", ":"))


def upstream_server_name(servername: str) -> str:
    """Upstream's ``HubClient.normalize_server_name``: lowercase, keep ``[a-z0-9 -]``, spaces → ``-``."""
    return _UPSTREAM_NAME_DROP.sub("", servername.lower()).replace(" ", "-")[:240]


def _flag(entry: Mapping[str, Any], name: str, where: str) -> bool:
    value = entry.get(name, False)
    if not isinstance(value, bool):
        raise StartupError(f"{where}: {name} must be true or false, not {value!r}")
    return value


def _text(entry: Mapping[str, Any], name: str, where: str) -> str:
    value = entry.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise StartupError(f"{where}: {name} must be a string, not {type(value).__name__}")
    return value.strip()


def _read_one(entry: object, index: int) -> StartupEntry:
    where = f"HubApps.startup_apps[{index}]"
    if not isinstance(entry, Mapping):
        raise StartupError(f"{where} must be a dict, not {type(entry).__name__}")
    upstream = "username" in entry or "user_options" in entry
    notes: list[str] = []
    if upstream:
        unknown = sorted(set(map(str, entry)) - set(_UPSTREAM_FIELDS))
        owner, name = _text(entry, "username", where), _text(entry, "servername", where)
        options = entry.get("user_options")
        if not isinstance(options, Mapping):
            raise StartupError(f"{where} ({owner or '?'}): user_options must be a dict")
        # An image in the admin's own entry is not applied, with a note (a user's stored one is refused).
        fields = {k: v for k, v in options.items() if k not in ("jhub_app", "profile_image")}
        notes = [f"user_options.{k} is not applied" for k in _UPSTREAM_NOT_APPLIED if options.get(k)]
        server = upstream_server_name(name) if name else ""
    else:
        unknown = sorted(set(map(str, entry)) - set(STARTUP_FIELDS) - _SPEC_FIELDS - {"notes"})
        owner, server = _text(entry, "owner", where), _text(entry, "server", where)
        fields = {k: v for k, v in entry.items() if k in _SPEC_FIELDS}
        notes = [str(n) for n in entry.get("notes") or ()]  # kept by to_json, for the service's report
        if entry.get("secret_env"):
            raise StartupError(
                f"{where}: secret_env is not accepted in startup_apps (a secret does not belong in "
                "jupyterhub_config.py); its owner adds it in the launcher"
            )
    if unknown:
        known = ", ".join(_UPSTREAM_FIELDS if upstream else (*STARTUP_FIELDS, *sorted(_SPEC_FIELDS)))
        raise StartupError(f"{where}: unknown field {unknown[0]!r} (known: {known})")
    if not owner:
        raise StartupError(f"{where}: {'username' if upstream else 'owner'} is required (the app's owner)")
    where = f"{where} ({owner})"
    try:
        # Our entries are specs of the current version; upstream's user_options go through the mapping
        # of upstream specs (framework names, custom_command, conda_env, repository).
        spec = parse_user_options(fields if upstream else {**fields, "spec_version": SPEC_VERSION})
    except SpecError as exc:
        field = f"user_options.{exc.field}" if upstream and exc.field else exc.field
        raise StartupError(f"{where}: {field or 'spec'}: {exc.message}") from None
    if not server:
        server = server_name_for(spec.display_name)
    if not is_valid_server_name(server):
        what = "servername" if upstream else "server"
        raise StartupError(
            f"{where}: {what} {server!r} is not a server name JupyterHub accepts (1-30 of a-z, 0-9 and "
            "'-', starting with a letter, no '--'); leave it out to derive one from the display name"
        )
    wait_for = _text(entry, "wait_for", where)
    if wait_for and not wait_for.startswith("/"):
        raise StartupError(f"{where}: wait_for must be an absolute path, not {wait_for!r}")
    return StartupEntry(
        owner=owner,
        server=server,
        spec=spec,
        start=_flag(entry, "start", where),
        overwrite=_flag(entry, "overwrite", where),
        wait_for=wait_for,
        notes=tuple(notes),
    )


def parse_startup_apps(entries: Sequence[object]) -> list[StartupEntry]:
    """Every entry of ``startup_apps`` (ours or upstream's), read and checked.

    Raises :class:`StartupError` naming the first bad entry (its index and owner) and field, or two
    entries that name the same app.
    """
    out: list[StartupEntry] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        read = _read_one(entry, index)
        if read.key in seen:
            raise StartupError(
                f"HubApps.startup_apps[{index}]: the app {read.key} is already entry {seen[read.key]}; "
                "give each entry its own server"
            )
        seen[read.key] = index
        out.append(read)
    return out
