"""Apps' true states: the Hub's server model, told apart by the app proxy's own status where the caller
may read it (:func:`~hubapps.service.app_models.app_state` is the rule; this module does the reading).

The Hub calls an app's server "running" as soon as its hubapps-proxy answers, which is before the app
itself is ready, and also after the app has failed (the proxy keeps its failure page up for a while).
So for the apps whose status the caller may read (their own; an admin's: anyone's), a server the Hub
calls running is asked for ``_hubapps/status`` (signed with the app's own key, never the caller's
credential). Listings ask for the caller's own running apps only, a few at a time
(``listing_status_concurrency``), reusing answers for ``listing_status_ttl`` seconds; shares and public
apps are never asked (only their owner and admins may read an app's status).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from hubapps.core.errors import SpecError
from hubapps.core.frameworks import FrameworkRegistry
from hubapps.core.spec import is_app_options, parse_user_options
from hubapps.service.app_models import MAX_REASON, StateView, app_state, app_url, ended_in, server_state
from hubapps.service.hub_models import ServerModel, servers_of
from hubapps.service.operations.caller import Caller

__all__ = ["is_proxy_app", "live_state", "live_states", "may_read_status", "remembered_state"]


def is_proxy_app(model: ServerModel, registry: FrameworkRegistry) -> bool:
    """Whether the server runs hubapps-proxy (an app spec of an enabled, non-JupyterLab framework).

    Only those have ``_hubapps/`` endpoints and a status key; anything else (JupyterLab apps run
    ``jupyterhub-singleuser``, plain named servers, the default server) is never called at all.
    """
    options = model.get("user_options") or {}
    if not is_app_options(options):
        return False
    try:
        spec = parse_user_options(options)
    except SpecError:
        return False
    if spec.framework not in registry:
        return False
    return not registry.get(spec.framework).singleuser


def may_read_status(caller: Caller, owner: str) -> bool:
    """The status rule (:func:`~hubapps.service.operations.lookup.readable_status`): owner and admins."""
    return owner == caller.identity.name or caller.identity.admin


def _asks(caller: Caller, owner: str, model: ServerModel) -> bool:
    return (
        may_read_status(caller, owner)
        and server_state(model) == "running"
        and caller.status_reader.available
        and is_proxy_app(model, caller.registry)
    )


async def live_state(caller: Caller, owner: str, server: str, model: ServerModel, *, cached: bool = False) -> StateView:
    """One app's state for a caller who may manage it (asked afresh unless ``cached``)."""
    if not _asks(caller, owner, model):
        return app_state(model)
    url = str(model.get("url") or app_url(caller.settings, owner, server))
    reader = caller.status_reader
    if cached:
        answer = await reader.cached_status(owner, server, url, str(model.get("started") or ""))
    else:
        answer = await reader.get_json(owner, server, url, "_hubapps/status")
    view = app_state(model, answer, asked=True)
    if view.state == "unknown":
        # The Hub's model may be a moment old (a stop under way removes the route first): ask it again.
        fresh = await _fresh_model(caller, owner, server)
        if fresh is None:
            return StateView("stopped")
        if server_state(fresh) != "running":
            return app_state(fresh)
        return await remembered_state(caller, owner, server, fresh, view)
    return view


async def remembered_state(caller: Caller, owner: str, server: str, model: ServerModel, view: StateView) -> StateView:
    """An ``unknown`` state told apart by failure memory: the Hub still calls the server running, its
    proxy does not answer, but reported before it exited that this run failed: failed, with its reason."""
    if view.state != "unknown":
        return view
    run = await caller.runs.last(owner, server)
    if run is not None and run.state == "failed" and ended_in(run, model):
        return StateView("failed", run.reason[:MAX_REASON] or "the app stopped", app_state="failed")
    return view


async def _fresh_model(caller: Caller, owner: str, server: str) -> ServerModel | None:
    """The Hub's model of the server as it is now (None: the server is gone)."""
    identity, hub = caller.identity, caller.hub
    if owner == identity.name:
        return servers_of(await hub.whoami(identity.token, fresh=True)).get(server)
    return servers_of(await hub.user(owner, identity.token)).get(server)


async def live_states(
    caller: Caller,
    owner: str,
    servers: Sequence[tuple[str, ServerModel]],
    *,
    gate: asyncio.Semaphore | None = None,
) -> dict[str, StateView]:
    """The states of ``owner``'s servers that need asking (the others keep the Hub's word), a few at
    a time (``gate``, shared by the calls of one listing; else ``listing_status_concurrency``), with
    cached answers."""
    wanted = [(server, model) for server, model in servers if _asks(caller, owner, model)]
    if not wanted:
        return {}
    gate = gate or asyncio.Semaphore(caller.settings.listing_status_concurrency)

    async def one(server: str, model: ServerModel) -> StateView:
        async with gate:
            return await live_state(caller, owner, server, model, cached=True)

    views = await asyncio.gather(*(one(server, model) for server, model in wanted))
    return {server: view for (server, _), view in zip(wanted, views, strict=True)}
