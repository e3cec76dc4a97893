"""The idle policy, enforced: every ``app_policy_check_interval`` seconds, running apps past their
policy (:mod:`hubapps.core.idle`) are stopped with the service's own token, each stop recorded as a
"stopped" event by the service (actor "") with the reason ("idle" or "max age").

What it reads: one Hub listing of the users with active servers (``GET /users?state=active``), whose
server models carry ``started``, ``last_activity`` (the app proxy's activity reports: HTTP requests and
websocket messages, public visitors included) and ``user_options`` (the app's policy). Plain servers
(no app spec) are left to the Hub and its culler.

Several workers or replicas each run the loop, but only the one holding the lease
(:class:`~hubapps.service.lease.WorkerLease`) checks: one Hub listing per interval, not one per worker.
Stops are idempotent anyway (the Hub takes a second stop of a stopped server as done), so a lease that
changes hands mid-check costs at most a repeated stop, never a wrong one.
"""

from __future__ import annotations

import asyncio
import logging
import time

from hubapps.core.errors import SpecError
from hubapps.core.idle import due_reason, parse_time, stop_rule
from hubapps.core.spec import is_app_options, parse_user_options
from hubapps.service.errors import ServiceError, safe_log
from hubapps.service.events import EventStore
from hubapps.service.lease import WorkerLease
from hubapps.service.operations.as_service import ServiceActor
from hubapps.service.operations.events import record_as
from hubapps.service.settings import ServiceSettings

__all__ = ["check_idle_apps", "enforce_idle_policy"]

log = logging.getLogger("hubapps.service.idle")


async def check_idle_apps(
    actor: ServiceActor, events: EventStore, settings: ServiceSettings, *, now: float | None = None
) -> list[tuple[str, str, str]]:
    """Stop every running app past its policy now; returns ``(owner, server, reason)`` of each stop."""
    moment = time.time() if now is None else now
    stopped: list[tuple[str, str, str]] = []
    for user in await actor.active_users():
        owner = str(user.get("name") or "")
        for server, model in (user.get("servers") or {}).items():
            if not server or not model.get("ready") or model.get("pending"):
                continue  # starting or stopping: the Hub is at work on it
            options = model.get("user_options") or {}
            if not is_app_options(options):
                continue
            try:
                spec = parse_user_options(options)
            except SpecError:
                continue  # the spawner would not start it again either; leave it to its owner
            rule = stop_rule(spec, default_idle=settings.app_idle_timeout, default_max_age=settings.app_max_age)
            if rule.never:
                continue
            reason = due_reason(
                rule,
                now=moment,
                started=parse_time(model.get("started")),
                last_activity=parse_time(model.get("last_activity")),
            )
            if reason is None:
                continue
            log.info("Stopping %s/%s: %s", safe_log(owner), safe_log(server), reason)
            if await actor.stop(owner, server):
                await record_as(events, "", "stopped", owner, server, reason=reason)
                stopped.append((owner, server, reason))
    return stopped


async def enforce_idle_policy(
    actor: ServiceActor, events: EventStore, settings: ServiceSettings, lease: WorkerLease
) -> None:
    """Check every ``app_policy_check_interval`` seconds, while this worker holds ``lease`` (runs until
    cancelled; a failed check is logged and tried again at the next interval)."""
    if not actor.available:
        log.warning("The idle policy is not enforced: the service has no token of its own")
        return
    while True:
        await asyncio.sleep(settings.app_policy_check_interval)
        try:
            if await asyncio.to_thread(lease.try_hold):
                await check_idle_apps(actor, events, settings)
        except (ServiceError, OSError) as exc:
            log.warning("Idle policy check failed: %s", safe_log(str(exc)))
        except Exception:
            log.exception("Idle policy check failed")
