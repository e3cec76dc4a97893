"""Start on access: someone who may open a stopped app of another user starts it, when its owner allows.

Who may: the Hub decides who may *open* the app — a share (the Hub's list of servers shared with the
caller, read with the caller's own token) or the public flag (the owner's stored spec, read fresh with
the service's token, and public apps allowed on this Hub). Nothing the request says counts. The owner
allows it in the app's stored spec (``viewers_can_start``).

What runs: the owner's stored spec, started by the service with its own token
(:class:`~.as_service.ServiceActor`): the viewer's token and cookie reach neither the Hub's start nor the
app. The spawner mixin checks the spec and the owner's limits at start, as for every start. The event
is recorded with the viewer as its actor (``via: "viewer"``), which is also what rate-limits a viewer's
starts (``viewer_start_interval``, read from the event store, so every worker and replica sees it).

Owners and admins start apps the ordinary way (:func:`~.lifecycle.start_app`, with their own token).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from hubapps.core.errors import SpecError
from hubapps.core.spec import AppSpec, is_app_options, parse_user_options
from hubapps.service.app_models import server_state
from hubapps.service.errors import Forbidden, NotFound, TooSoon
from hubapps.service.hub_models import ServerModel
from hubapps.service.operations.as_service import ServiceActor
from hubapps.service.operations.bounded import run_bounded
from hubapps.service.operations.caller import Caller
from hubapps.service.operations.events import record
from hubapps.service.operations.lifecycle import start_app
from hubapps.service.operations.lookup import find_app
from hubapps.service.schemas import Accepted, AppState, AppStatus

__all__ = ["ViewerAccess", "start_or_wake", "viewer_access", "viewer_status"]

#: The ``via`` of a "started" event made by someone other than the owner (the rate limit counts them).
VIA_VIEWER = "viewer"


@dataclass(frozen=True)
class ViewerAccess:
    """What a viewer (not the owner, not an admin) may do with an app they may open."""

    owner: str
    server: str
    state: AppState
    #: The owner lets people who may open it start it (``viewers_can_start``).
    may_start: bool
    spec: AppSpec
    model: ServerModel


def _manages(caller: Caller, owner: str) -> bool:
    return owner == caller.name or caller.identity.admin


async def viewer_access(caller: Caller, owner: str, server: str) -> ViewerAccess:
    """The app as a viewer may use it; 404 unless the Hub lets the caller open it (share or public)."""
    app = await find_app(caller, owner, server)  # the caller's own token: 404 unless shared or public
    if app.access not in ("shared", "public"):
        raise NotFound()
    model = await ServiceActor(caller.hub, caller.settings).server(owner, server)
    options = model.get("user_options") or {}
    if not is_app_options(options):
        raise NotFound()
    try:
        spec = parse_user_options(options)
    except SpecError:
        raise NotFound() from None
    if app.access == "public" and not (spec.public and caller.settings.allow_public_apps):
        raise NotFound()  # the directory lagged behind the owner's spec: no longer public
    return ViewerAccess(owner, server, server_state(model), spec.viewers_can_start, spec, model)


async def _check_rate(caller: Caller) -> None:
    """At most one start of other users' apps per ``viewer_start_interval`` seconds per person."""
    interval = caller.settings.viewer_start_interval
    if interval <= 0:
        return
    now = time.time()
    recent = await caller.events.events(actor=caller.name, kinds=["started"], since=now - interval, limit=50)
    last = max((e.at for e in recent if e.detail.get("via") == VIA_VIEWER), default=None)
    if last is not None:
        wait = max(1, math.ceil(last + interval - now))
        raise TooSoon(f"you started an app a moment ago; you may start another in {wait} s", wait)


async def start_or_wake(caller: Caller, owner: str, server: str) -> Accepted:
    """Start an app: its owner and admins with their own rights; anyone else who may open it, when the
    owner allows (the service starts it with the owner's spec), once per ``viewer_start_interval``."""
    if _manages(caller, owner):
        return await start_app(caller, owner, server)
    access = await viewer_access(caller, owner, server)
    if not access.may_start:
        raise Forbidden(f"only its owner, {owner}, can start this app (they have not let viewers start it)")
    if access.state != "stopped":
        # Running, starting or stopping already: nothing to start, and no start counted.
        return Accepted(id=f"{owner}/{server}", state=access.state, done=access.state == "running")
    await caller.apps.check(owner, server)  # its owner is restarting, changing or deleting it
    await _check_rate(caller)
    actor = ServiceActor(caller.hub, caller.settings)
    done, status = await run_bounded(actor.start(owner, server), caller.settings.start_wait)
    await record(caller, "started", owner, server, via=VIA_VIEWER)
    ready = bool(done and status == 201)
    return Accepted(id=f"{owner}/{server}", state="running" if ready else "starting", done=ready)


async def viewer_status(caller: Caller, owner: str, server: str) -> AppStatus:
    """A viewer's view of an app's status: the Hub's state only (no reason, log or progress: those are
    for its owner and admins)."""
    access = await viewer_access(caller, owner, server)
    return AppStatus(id=f"{owner}/{server}", state=access.state, ready=access.state == "running")
