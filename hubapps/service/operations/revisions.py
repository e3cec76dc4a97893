"""Recording and reading app revisions (rolling back is an edit: :func:`.rollback.rollback_app`).

A revision is recorded once the Hub has taken a new spec — by :func:`.lifecycle.create_app`, every
edit (:func:`.lifecycle.update_app`, whichever way it came in), the public flag
(:func:`.sharing.set_public`) and rollbacks — so each spec the Hub held is one revision. Like an event,
a revision that cannot be written is logged and never fails the change itself.

An app made before revisions were recorded gets revision 1 (its spec then, actor unknown) on its first
edit or the first time its revisions are listed, so a rollback always has the spec it started from.
Reading needs the right to manage the app (owner or admin); anyone else gets 404.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from hubapps.core.errors import SpecError
from hubapps.core.spec import AppSpec, is_app_options, parse_user_options
from hubapps.service.errors import NotFound, ServiceError, safe_log
from hubapps.service.hub_models import ServerModel
from hubapps.service.operations.caller import Caller
from hubapps.service.operations.lookup import managed_server
from hubapps.service.revisions import Revision
from hubapps.service.schemas import FieldChange, RevisionCompare, RevisionPublic, RevisionsPublic
from hubapps.service.secrets import (
    is_v1_spec,
    legacy_secret_names,
    public_repository,
    public_secret_env,
    secret_env_to_save,
)

__all__ = [
    "BASE_NOTE",
    "compare_revisions",
    "ensure_base",
    "list_revisions",
    "read_revision",
    "record_revision",
    "revision_to_apply",
    "spec_changes",
]

log = logging.getLogger("hubapps.service.revisions")

#: The note of revision 1 of an app made before revisions were recorded.
BASE_NOTE = "as it was before revisions were recorded"
#: Fields of ``user_options`` that mark the format, not the app: never shown as changes.
_FORMAT_FIELDS = ("spec_version", "jhub_app")


# -- recording -------------------------------------------------------------------------------------


async def record_revision(
    caller: Caller, owner: str, server: str, spec: AppSpec, note: str, *, fresh: bool = False
) -> None:
    """Record ``spec`` (as the Hub got it) as the app's next revision, by the caller; ``fresh``: a new
    app, whose history starts at 1 whatever an earlier app of that name left."""
    try:
        await caller.revisions.add(
            owner,
            server,
            spec.to_user_options(),
            actor=caller.name,
            note=note,
            keep=caller.settings.revision_keep,
            fresh=fresh,
        )
    except Exception as exc:  # the change itself is done: never fail it for its record
        log.error("Could not record a revision of %s/%s: %s", safe_log(owner), safe_log(server), safe_log(str(exc)))


async def _base_spec(caller: Caller, owner: str, server: str, options: Mapping[str, Any]) -> dict[str, Any] | None:
    """The spec of revision 1 for an app made before revisions: its stored options in today's format.

    A version 1 spec kept secret values in plain ``env``: those are sealed first (as its next save
    does), so the revision store never holds a secret in plain text; without a key to seal them, no
    revision 1 is made.
    """
    try:
        spec = parse_user_options(dict(options))
    except SpecError:
        return None
    data = spec.to_user_options()
    legacy = legacy_secret_names(options, await caller.secret_marks.get(owner, server) if is_v1_spec(options) else ())
    if legacy:
        env = dict(data["env"])
        try:
            data["secret_env"] = await secret_env_to_save(
                caller.sealer, owner, submitted=None, env=env, env_sent=False, legacy=legacy
            )
        except (SpecError, ServiceError):
            return None
        data["env"] = env
    return data


async def ensure_base(caller: Caller, owner: str, server: str, options: Mapping[str, Any]) -> None:
    """Give an app that has no revisions yet (made before they were recorded) revision 1: ``options``,
    its spec now, by an unknown actor. Call it before the Hub takes a change."""
    try:
        if await caller.revisions.newest_number(owner, server) is not None:
            return
        data = await _base_spec(caller, owner, server, options)
        if data is not None:
            await caller.revisions.add_base(owner, server, data, note=BASE_NOTE)
    except Exception as exc:  # as record_revision: the record never fails the change
        log.error("Could not record revision 1 of %s/%s: %s", safe_log(owner), safe_log(server), safe_log(str(exc)))


# -- reading ---------------------------------------------------------------------------------------


def _shown(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A revision's spec as its managers see it: secret values replaced by ``null``."""
    shown = dict(spec)
    if isinstance(shown.get("secret_env"), dict):
        shown["secret_env"] = public_secret_env(shown["secret_env"])
    if isinstance(shown.get("repository"), dict):
        shown["repository"] = public_repository(shown["repository"])
    return shown


def _variables(value: object) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def _kind(name: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> Literal["added", "removed", "changed"]:
    return "added" if name not in before else "removed" if name not in after else "changed"


def spec_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[FieldChange]:
    """What changed from spec ``before`` to spec ``after``, field by field (one entry per environment
    variable). Secret values are compared as the sealed tokens they are and never shown."""
    changes: list[FieldChange] = []
    for name in sorted((set(before) | set(after)) - set(_FORMAT_FIELDS)):
        old, new = before.get(name), after.get(name)
        if name in ("env", "secret_env"):
            secret = name == "secret_env"
            old_vars, new_vars = _variables(old), _variables(new)
            for key in sorted(set(old_vars) | set(new_vars)):
                if old_vars.get(key) == new_vars.get(key):
                    continue
                changes.append(
                    FieldChange(
                        field=f"{name}.{key}",
                        change=_kind(key, old_vars, new_vars),
                        before=None if secret else old_vars.get(key),
                        after=None if secret else new_vars.get(key),
                        secret=secret,
                    )
                )
        elif old != new:
            if name == "repository":  # its sealed token is never shown ("token": null when there is one)
                old, new = public_repository(old), public_repository(new)
            changes.append(FieldChange(field=name, change=_kind(name, before, after), before=old, after=new))
    return changes


def _public(revision: Revision, previous: Revision | None) -> RevisionPublic:
    changed = spec_changes(previous.spec, revision.spec) if previous is not None else []
    return RevisionPublic(
        number=revision.number,
        created_at=datetime.fromtimestamp(revision.at, UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        actor=revision.actor,
        note=revision.note,
        changed=list(dict.fromkeys(c.field.split(".", 1)[0] for c in changed)),
        source_sha256=revision.source_sha256,
        source_commit=revision.source_commit,
        spec=_shown(revision.spec),
    )


async def _managed_app_server(caller: Caller, owner: str, server: str) -> ServerModel:
    """The Hub's model of an app the caller manages (owner or admin); anything else 404."""
    model = await managed_server(caller.identity, owner, server, caller.hub)
    if not is_app_options(model.get("user_options") or {}):
        raise NotFound()
    return model


async def _history(caller: Caller, owner: str, server: str) -> list[Revision]:
    """The app's revisions, newest first, after the rights check (and revision 1, if it had none)."""
    model = await _managed_app_server(caller, owner, server)
    revisions = await caller.revisions.revisions(owner, server)
    if not revisions:
        await ensure_base(caller, owner, server, model.get("user_options") or {})
        revisions = await caller.revisions.revisions(owner, server)
    return revisions


async def list_revisions(caller: Caller, owner: str, server: str) -> RevisionsPublic:
    """The revisions of an app the caller manages, newest first."""
    revisions = await _history(caller, owner, server)
    data = [_public(r, revisions[i + 1] if i + 1 < len(revisions) else None) for i, r in enumerate(revisions)]
    return RevisionsPublic(id=f"{owner}/{server}", keep=caller.settings.revision_keep, data=data)


def _missing(owner: str, server: str, number: int, revisions: list[Revision]) -> NotFound:
    kept = f"{revisions[-1].number} to {revisions[0].number}" if revisions else "none"
    return NotFound(f"{owner}/{server} has no revision {number} (kept: {kept})", field="revision")


def _find(owner: str, server: str, number: int, revisions: list[Revision]) -> tuple[Revision, Revision | None]:
    for i, revision in enumerate(revisions):
        if revision.number == number:
            return revision, revisions[i + 1] if i + 1 < len(revisions) else None
    raise _missing(owner, server, number, revisions)


async def read_revision(caller: Caller, owner: str, server: str, number: int) -> RevisionPublic:
    """Revision ``number`` of an app the caller manages; 404 if it does not exist (or no longer)."""
    revision, previous = _find(owner, server, number, await _history(caller, owner, server))
    return _public(revision, previous)


async def compare_revisions(caller: Caller, owner: str, server: str, first: int, second: int) -> RevisionCompare:
    """What changed from revision ``first`` to revision ``second`` of an app the caller manages."""
    revisions = await _history(caller, owner, server)
    before, _ = _find(owner, server, first, revisions)
    after, _ = _find(owner, server, second, revisions)
    return RevisionCompare(
        id=f"{owner}/{server}",
        from_revision=first,
        to_revision=second,
        changes=spec_changes(before.spec, after.spec),
    )


async def revision_to_apply(caller: Caller, owner: str, server: str, number: int) -> tuple[ServerModel, Revision]:
    """For a rollback: the app's Hub model (rights checked) and its revision ``number`` (else 404)."""
    model = await _managed_app_server(caller, owner, server)
    revisions = await caller.revisions.revisions(owner, server)
    if not revisions:
        await ensure_base(caller, owner, server, model.get("user_options") or {})
        revisions = await caller.revisions.revisions(owner, server)
    revision, _ = _find(owner, server, number, revisions)
    return model, revision
