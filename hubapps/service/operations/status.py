"""Reading a running app: its state and start progress, and its log (from its hubapps-proxy).

Only the owner and admins may read them (the service reads the app with a credential of its own, so
it decides, see :func:`~hubapps.service.operations.lookup.readable_status`). Someone else who may open
the app (a share, a public app) gets its state only (:func:`~.access.viewer_status`), which is what the
start page of a viewer's start follows.
"""

from __future__ import annotations

import asyncio
from typing import Any

from hubapps.service.app_models import MAX_REASON, app_state, app_url, run_public, server_state
from hubapps.service.errors import Conflict, HubUnavailable
from hubapps.service.hub_models import ServerModel
from hubapps.service.operations.access import viewer_status
from hubapps.service.operations.caller import Caller
from hubapps.service.operations.lookup import readable_status
from hubapps.service.operations.states import is_proxy_app, remembered_state
from hubapps.service.schemas import AppStatus, LogsPublic

__all__ = ["app_logs", "app_status"]


async def _progress(caller: Caller, model: ServerModel) -> tuple[int | None, str | None]:
    """The Hub's latest progress event of a starting server (read for a moment, never waited on)."""
    url = model.get("progress_url")
    if not url:
        return None, None
    progress: int | None = None
    message: str | None = None
    async for event in caller.hub.progress_events(str(url), caller.token, seconds=0.5):
        if isinstance(event.get("progress"), int):
            progress = event["progress"]
        if isinstance(event.get("message"), str):
            message = event["message"][:500]
    return progress, message


async def _read_app(caller: Caller, model: ServerModel, owner: str, server: str, sub: str) -> dict[str, Any] | None:
    # The Hub's URL of the server (a full URL on the owner's host under subdomain_host).
    url = str(model.get("url") or app_url(caller.settings, owner, server))
    return await caller.status_reader.get_json(owner, server, url, sub)


async def app_status(caller: Caller, owner: str, server: str) -> AppStatus:
    """State (:func:`~hubapps.service.app_models.app_state`), start progress, time to ready, the reason
    of a failure and the app's startup log (the state only, for a viewer)."""
    if owner != caller.name and not caller.identity.admin:
        return await viewer_status(caller, owner, server)
    model = await readable_status(caller, owner, server)
    hub_state = server_state(model)
    asks = hub_state in ("starting", "running") and is_proxy_app(model, caller.registry)
    proxy: dict[str, Any] | None = None
    logs: dict[str, Any] | None = None
    if asks and caller.status_reader.available:
        proxy, logs = await asyncio.gather(
            _read_app(caller, model, owner, server, "_hubapps/status"),
            _read_app(caller, model, owner, server, "_hubapps/logs"),
        )
    view = app_state(model, proxy, asked=asks and caller.status_reader.available)
    view = await remembered_state(caller, owner, server, model, view)
    run = await caller.runs.last(owner, server)
    started = model.get("started")
    status = AppStatus(
        id=f"{owner}/{server}",
        state=view.state,
        ready=view.state == "running",
        started=str(started) if started and hub_state != "stopped" else None,
        reason=view.reason,
        ready_after=view.ready_after,
        last_run=run_public(run, full=True) if run is not None else None,
    )
    if hub_state == "starting":
        status.progress, status.message = await _progress(caller, model)
    if isinstance(proxy, dict):
        status.app_state = str(proxy.get("state")) if proxy.get("state") else None
        elapsed = proxy.get("elapsed")
        status.elapsed = float(elapsed) if isinstance(elapsed, int | float) else None
        if status.reason is None and isinstance(proxy.get("reason"), str) and proxy["reason"]:
            status.reason = str(proxy["reason"])[:MAX_REASON]
    if isinstance(logs, dict):
        status.log_tail = [str(line) for line in (logs.get("lines") or [])][-20:]
    return status


async def app_logs(caller: Caller, owner: str, server: str, lines: int) -> LogsPublic:
    """The last ``lines`` lines of a running app's output (at most ``log_lines_max``)."""
    model = await readable_status(caller, owner, server)
    if server_state(model) not in ("starting", "running"):
        raise Conflict("the app is not running, so it has no logs")
    if not is_proxy_app(model, caller.registry):
        raise Conflict("this server is not a hubapps app (JupyterLab keeps its own log); it has no app log")
    reader = caller.status_reader
    if not reader.available:
        raise HubUnavailable(
            "app logs are unavailable: the service knows no proxy URL or has no status key (see docs/security.md)"
        )
    logs = await _read_app(caller, model, owner, server, "_hubapps/logs")
    if not isinstance(logs, dict):
        raise HubUnavailable("the app did not return its logs")
    got = [str(line) for line in (logs.get("lines") or [])]
    return LogsPublic(id=f"{owner}/{server}", lines=got[-min(lines, caller.settings.log_lines_max) :])
