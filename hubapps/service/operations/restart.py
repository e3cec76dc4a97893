"""Restarting an app's server: stop, wait until the Hub has stopped it, apply a new spec if any, start.

Shared by restart and by edits of a running app (:mod:`.lifecycle`); the caller holds the start's
claim on the owner's limits and bounds the wait (:func:`run_bounded`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from hubapps.core.spec import AppSpec
from hubapps.service.app_models import server_state
from hubapps.service.errors import Conflict, safe_log
from hubapps.service.hub_models import ServerModel, servers_of
from hubapps.service.metrics import framework_label
from hubapps.service.operations.caller import Caller

__all__ = ["RESTART_POLL_MAX", "restart_server", "stored_framework"]

log = logging.getLogger("hubapps.service.apps")

#: Longest pause between two looks at a restarting server (while it is stopped and not yet started
#: again, pages and ``--wait`` see it stopped: kept short).
RESTART_POLL_MAX = 0.5


def stored_framework(caller: Caller, model: ServerModel | None) -> str:
    """The framework of a server's stored spec, as the service's metrics label it."""
    return framework_label(caller.registry, ((model or {}).get("user_options") or {}).get("framework"))


async def restart_server(
    caller: Caller,
    owner: str,
    server: str,
    spec: AppSpec | None,
    *,
    applied: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Stop, wait until the Hub has stopped the server, apply a new spec if any, start again.

    ``applied`` runs once the Hub has taken the new spec (and not if it refused or the stop timed out).
    """
    hub, token = caller.hub, caller.token
    deadline = time.monotonic() + caller.settings.restart_timeout
    with contextlib.suppress(Conflict):  # already stopping
        await hub.stop_server(owner, server, token)
    delay = 0.2
    while True:
        model = servers_of(await hub.user(owner, token)).get(server)
        if model is None:
            # Deleted meanwhile (straight through the Hub's API): a start now would make a new, empty
            # server of its name.
            log.info("Restart of %s/%s: the server was deleted; not started again", safe_log(owner), safe_log(server))
            return
        if server_state(model) == "stopped":
            break
        if time.monotonic() > deadline:
            log.warning("Restart of %s/%s: the server did not stop in time", safe_log(owner), safe_log(server))
            return
        await asyncio.sleep(delay)
        delay = min(delay * 2, RESTART_POLL_MAX)
    if spec is not None:
        version = await hub.hub_version(token)
        if version >= (6,):
            await hub.update_server(
                owner, server, token, user_options=spec.to_user_options(), display_name=spec.display_name
            )
            if applied is not None:
                await applied()
            await hub.start_server(owner, server, token, framework=spec.framework)
        else:
            await hub.start_server(owner, server, token, user_options=spec.to_user_options(), framework=spec.framework)
            if applied is not None:
                await applied()
        return
    await hub.start_server(owner, server, token, framework=stored_framework(caller, model))
