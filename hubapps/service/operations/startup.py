"""Startup apps: the reconcile that makes the admin's ``startup_apps`` true, with the service's own token.

For each entry (:class:`hubapps.core.startup.StartupEntry`) the service compares three specs: the
entry's, the app's as the Hub holds it, and the one it last applied (:mod:`hubapps.service.startup_records`).
An entry that differs from the last applied one is the admin's change; an app that differs from it
is its owner's edit. Hence (:func:`plan`):

- no app: it is created (started once if the entry says ``start``); one the service made and its
  owner deleted is not made again (drift) unless the entry says ``overwrite``;
- an admin change, no owner edit: the app is updated, without starting it (a running app waits until
  it is stopped: the change is not forced on its viewers);
- an owner edit: kept and reported as drift, unless ``overwrite``;
- the owner does not exist yet, nor the entry's ``wait_for`` path, or the Hub was busy: "waiting",
  tried again with backoff (``startup_apps_retry``) by the worker that ran the reconcile.

Nothing is started but a newly created app whose entry says ``start``: not at later reconciles, nor on
Hub restarts (upstream JHub Apps respawned every startup app then, and reset its owner's edits).

One worker reconciles at a time (the lease of :class:`StartupRecords`); at service start each worker
tries, and those that find a reconcile finished since they started skip it. Events are recorded with
actor "" (the service) and ``source="startup_apps"``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from hubapps.core.errors import SpecError
from hubapps.core.frameworks import FrameworkRegistry
from hubapps.core.spec import AppSpec, is_app_options, parse_user_options
from hubapps.core.startup import StartupEntry, spec_key
from hubapps.service.app_models import build_spec, directory_entry, server_state
from hubapps.service.directory import AppDirectory
from hubapps.service.errors import HubUnavailable, ServiceError, safe_log
from hubapps.service.events import EventStore
from hubapps.service.hub_client import HubClient
from hubapps.service.hub_models import servers_of
from hubapps.service.operations.events import record_as
from hubapps.service.settings import ServiceSettings
from hubapps.service.startup_records import StartupRecord, StartupRecords
from hubapps.service.thumbnails import ThumbnailStore

__all__ = [
    "EntryReport",
    "StartupApps",
    "StartupReport",
    "StartupState",
    "plan",
]

log = logging.getLogger("hubapps.service.startup")

StartupState = Literal["created", "updated", "unchanged", "drift", "waiting", "error"]
Action = Literal["create", "update", "unchanged", "drift"]
SOURCE = "startup_apps"


def plan(desired: str, current: str | None, record: StartupRecord | None, *, overwrite: bool) -> tuple[Action, str]:
    """What to do with one entry: ``desired`` is the entry's spec (:func:`spec_key`), ``current`` the
    app's (None: no app), ``record`` what the service remembers. Returns the action and why."""
    applied = record.applied if record is not None else ""
    if current is None:
        if record is not None and record.created and not overwrite:
            return "drift", "its owner deleted the app the launcher made; not made again (set overwrite to)"
        return "create", ""
    if current == desired:
        return "unchanged", ""
    if not applied:
        if overwrite:
            return "update", "an app of that name had another spec: replaced (overwrite)"
        return "drift", "an app of that name exists with another spec: kept (set overwrite to replace it)"
    owner_edit = current != applied
    admin_change = desired != applied
    if owner_edit and not overwrite:
        if admin_change:
            return "drift", "its owner edited the app: kept, and the entry's change is not applied (set overwrite to)"
        return "drift", "its owner edited the app: kept (set overwrite to undo their edits)"
    if owner_edit:
        return "update", "its owner's edits were replaced by the entry (overwrite)"
    return "update", ""


@dataclass(frozen=True)
class EntryReport:
    """One entry in the report."""

    id: str
    owner: str
    server: str
    display_name: str
    state: StartupState | Literal[""]
    message: str
    checked_at: float | None
    start: bool
    overwrite: bool
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "owner": self.owner,
            "server": self.server,
            "display_name": self.display_name,
            "state": self.state or "pending",
            "message": self.message,
            "checked_at": self.checked_at,
            "start": self.start,
            "overwrite": self.overwrite,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class StartupReport:
    """The report: every configured entry and when the last whole reconcile finished (None: never)."""

    entries: list[EntryReport]
    last_reconcile: float | None

    @property
    def waiting(self) -> bool:
        return any(e.state == "waiting" for e in self.entries)

    def to_json(self) -> dict[str, Any]:
        return {"last_reconcile": self.last_reconcile, "apps": [e.to_json() for e in self.entries]}


class ReconcileBusy(ServiceError):
    """Another worker is reconciling (answered 409 to an admin who asks for one)."""

    status_code = 409
    code = "conflict"


@dataclass
class StartupApps:
    """The startup apps of this service: the entries, and what a reconcile acts through.

    ``token`` is the service's own (its role's scopes: ``servers``, ``read:servers``, see
    :data:`hubapps.hub.install.SERVICE_ROLE_SCOPES`). ``path_exists`` checks ``wait_for`` paths.
    """

    entries: Sequence[StartupEntry]
    hub: HubClient
    token: str
    settings: ServiceSettings
    registry: FrameworkRegistry
    records: StartupRecords
    events: EventStore
    directory: AppDirectory
    thumbnails: ThumbnailStore
    path_exists: Callable[[str], bool] = os.path.exists
    holder: str = field(default_factory=lambda: f"{os.getpid()}-{secrets.token_hex(6)}")

    # -- the report ----------------------------------------------------------------------------------

    async def report(self) -> StartupReport:
        records = await self.records.all()
        last = await self.records.last_reconcile()
        entries = []
        for entry in self.entries:
            rec = records.get((entry.owner, entry.server))
            entries.append(
                EntryReport(
                    id=entry.key,
                    owner=entry.owner,
                    server=entry.server,
                    display_name=entry.spec.display_name,
                    state=rec.state if rec is not None else "",  # type: ignore[arg-type]
                    message=rec.message if rec is not None else "not reconciled yet",
                    checked_at=(rec.checked_at or None) if rec is not None else None,
                    start=entry.start,
                    overwrite=entry.overwrite,
                    notes=entry.notes,
                )
            )
        return StartupReport(entries, last or None)

    # -- reconciling ---------------------------------------------------------------------------------

    async def reconcile(self, *, unless_since: float | None = None) -> StartupReport | None:
        """Reconcile every entry once, holding the lease; :class:`ReconcileBusy` when another worker
        holds it. ``unless_since``: skip (None) when a reconcile finished after that unix time."""
        lease = self.settings.startup_apps_lease
        if not await self.records.acquire(self.holder, lease):
            raise ReconcileBusy("a reconcile of the startup apps is running; try again shortly")
        finished = False
        try:
            if unless_since is not None and await self.records.last_reconcile() >= unless_since:
                return None
            records = await self.records.all()
            for entry in self.entries:
                await self._one(entry, records.get((entry.owner, entry.server)))
                await self.records.acquire(self.holder, lease)  # renewed: a long reconcile keeps it
            finished = True
        finally:
            await self.records.release(self.holder, finished=finished)
        return await self.report()

    async def run_at_start(self, started_at: float) -> None:
        """The reconcile at service start (a background task: never blocks startup), then tries again
        with backoff while an entry waits."""
        if not self.entries:
            return
        delay = self.settings.startup_apps_retry
        first = True
        while True:
            try:
                report = await self.reconcile(unless_since=started_at if first else None)
            except ReconcileBusy:
                await asyncio.sleep(min(1.0, self.settings.startup_apps_retry))
                continue
            except Exception as exc:  # the database or the Hub: try again later
                log.warning("Startup apps: the reconcile failed: %s", safe_log(str(exc)))
                report = None
                if first:
                    first = False
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self.settings.startup_apps_retry_max)
                    continue
            if first and report is None:
                return  # another worker reconciled since this one started
            first = False
            if report is not None and not report.waiting:
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.settings.startup_apps_retry_max)

    async def _one(self, entry: StartupEntry, record: StartupRecord | None) -> None:
        base = record or StartupRecord(owner=entry.owner, server=entry.server)
        try:
            state, message, applied, created = await self._apply(entry, record)
        except HubUnavailable as exc:
            state, message, applied, created = "waiting", exc.message, base.applied, base.created
        except (ServiceError, SpecError) as exc:
            where = f"{exc.field}: " if getattr(exc, "field", None) else ""
            state, message, applied, created = "error", where + exc.message, base.applied, base.created
        except Exception as exc:
            log.exception("Startup app %s failed", safe_log(entry.key))
            state, message, applied, created = (
                "error",
                f"unexpected error: {type(exc).__name__}",
                base.applied,
                base.created,
            )
        if entry.notes:
            message = "; ".join([message, *entry.notes]) if message else "; ".join(entry.notes)
        attempts = base.attempts + 1 if state == "waiting" else 0
        log.info("Startup app %s: %s %s", safe_log(entry.key), state, safe_log(message))
        await self.records.put(
            StartupRecord(
                owner=entry.owner,
                server=entry.server,
                applied=applied,
                created=created,
                state=state,
                message=message,
                checked_at=time.time(),
                attempts=attempts,
            )
        )

    async def _apply(self, entry: StartupEntry, record: StartupRecord | None) -> tuple[StartupState, str, str, bool]:
        """Reconcile one entry; returns (state, message, applied spec key, created by the service)."""
        applied = record.applied if record is not None else ""
        created = record.created if record is not None else False
        spec = build_spec(entry.spec.to_user_options(), self.settings, self.registry)
        desired = spec_key(spec.to_user_options())
        user = await self.hub.user(entry.owner, self.token)
        if user is None:
            return "waiting", f"its owner {entry.owner!r} does not exist yet", applied, created
        model = servers_of(user).get(entry.server)
        current: str | None = None
        if model is not None:
            options = model.get("user_options") or {}
            if not is_app_options(options):
                return "error", "a server of that name exists and is not an app: left alone", applied, created
            try:
                current = spec_key(parse_user_options(options).to_user_options())
            except SpecError:
                current = spec_key(options)
        action, why = plan(desired, current, record, overwrite=entry.overwrite)
        if action == "unchanged":
            return "unchanged", why, desired, created
        if action == "drift":
            return "drift", why, applied, created
        if action == "create":
            if entry.wait_for and not await asyncio.to_thread(self.path_exists, entry.wait_for):
                return "waiting", f"{entry.wait_for} does not exist yet", applied, created
            started = await self._create(entry, spec)
            return "created", "created and started" if started else "created (not started)", desired, True
        assert model is not None
        if server_state(model) != "stopped":
            return "waiting", "the app is running: the change is applied once it is stopped", applied, created
        await self.hub.update_server(
            entry.owner, entry.server, self.token, user_options=spec.to_user_options(), display_name=spec.display_name
        )
        before = parse_user_options(model.get("user_options") or {}).to_user_options() if current else {}
        changed = sorted(k for k, v in spec.to_user_options().items() if before.get(k) != v and k != "spec_version")
        await self._records_follow(entry, spec)
        await record_as(self.events, "", "edited", entry.owner, entry.server, fields=changed, source=SOURCE)
        return "updated", why or "updated (not started)", desired, created

    async def _create(self, entry: StartupEntry, spec: AppSpec) -> bool:
        """Create the app (started only if the entry says so); whether it was started."""
        owner, server, token = entry.owner, entry.server, self.token
        options = spec.to_user_options()
        started = await self.hub.create_server(
            owner, server, token, user_options=options, display_name=spec.display_name, start=False
        )
        if started and not entry.start:
            # JupyterHub 5 creates a server by starting it: stop it again, as upstream did.
            with contextlib.suppress(ServiceError):
                await self.hub.stop_server(owner, server, token)
            started = False
        await self._records_follow(entry, spec)
        await record_as(self.events, "", "created", owner, server, started=entry.start, source=SOURCE)
        if entry.start and not started:
            await self.hub.start_server(owner, server, token)
            started = True
        if entry.start:
            await record_as(self.events, "", "started", owner, server, source=SOURCE)
        return started

    async def _records_follow(self, entry: StartupEntry, spec: AppSpec) -> None:
        """The service's records of an app it made or changed: the public directory and the image."""
        if spec.public or await self.directory.get(entry.owner, entry.server) is not None:
            await self.directory.record(directory_entry(entry.owner, entry.server, spec))
        await self.thumbnails.claim(entry.owner, entry.server, spec.thumbnail)
