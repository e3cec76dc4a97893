"""An app's life: create, edit, delete, start, stop and restart, with the caller's Hub rights.

Rules kept here, for every way in (REST API, launcher pages, upstream routes): rights are checked
before any side effect (someone who cannot read the app gets 404 first); the owner's limits are
claimed before a Hub call and released once the Hub answered; the directory and the thumbnail records
follow what the Hub did, never what it was merely asked; secret values are sealed before they reach
``user_options``; waits on the Hub are bounded (:func:`run_bounded`), the rest finishes in the
background and the caller hears "accepted".
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from hubapps.core.limits import facts_of_model
from hubapps.core.names import server_name_for
from hubapps.core.spec import AppSpec, idle_policy_changes, is_app_options
from hubapps.service.app_guard import held_until_done
from hubapps.service.app_models import app_from_server, build_spec, check_runnable, directory_entry, server_state
from hubapps.service.errors import AppExists, Conflict, LimitReached, NotFound
from hubapps.service.hub_answers import StartFailed
from hubapps.service.hub_client import HubClient
from hubapps.service.hub_models import ServerModel
from hubapps.service.limits import Claim, released_after
from hubapps.service.operations.bounded import run_bounded
from hubapps.service.operations.caller import Caller
from hubapps.service.operations.environments import environments_for
from hubapps.service.operations.events import record
from hubapps.service.operations.files import check_app_file
from hubapps.service.operations.lookup import managed_server
from hubapps.service.operations.restart import restart_server, stored_framework
from hubapps.service.operations.revisions import ensure_base, record_revision
from hubapps.service.operations.states import live_state
from hubapps.service.operations.thumbnail_imports import spec_to_edit
from hubapps.service.schemas import Accepted, AppCreate, AppPublic, AppState, AppUpdate
from hubapps.service.secrets import is_v1_spec, legacy_secret_names, repository_to_save, secret_env_to_save

__all__ = [
    "apply_edit",
    "create_app",
    "delete_app",
    "deploy_app",
    "deploy_over",
    "restart_app",
    "start_app",
    "stop_app",
    "update_app",
]

log = logging.getLogger("hubapps.service.apps")

#: The spec fields of the idle policy (``keep_alive`` is the older name of one of its choices).
_POLICY_FIELDS = ("keep_alive", "idle_policy", "idle_minutes", "max_age_minutes")


def _accepted(owner: str, server: str, state: AppState, done: bool) -> Accepted:
    return Accepted(id=f"{owner}/{server}", state=state, done=done)


# -- create, edit, delete --------------------------------------------------------------------------


async def deploy_app(caller: Caller, body: AppCreate) -> tuple[AppPublic | Accepted, bool]:
    """Deploy: create an app, or (``body.on_conflict == "update"``) change the caller's app of that
    name. Returns the app (or the accepted restart) and whether it was created.

    The server name comes from the display name. When the caller already has an app of that name,
    ``body.on_conflict`` decides: ``ask`` refuses (:class:`AppExists`, naming it), ``update`` edits
    that app instead (:func:`deploy_over`), ``new`` takes the next free name.
    """
    if body.on_conflict != "new":
        base = server_name_for(body.display_name)
        existing = caller.identity.servers.get(base)
        if existing is not None and is_app_options(existing.get("user_options") or {}):
            if body.on_conflict == "update":
                return await deploy_over(caller, base, body), False
            raise AppExists(caller.identity.name, base, str(existing.get("display_name") or body.display_name))
    return await create_app(caller, body), True


async def create_app(caller: Caller, body: AppCreate) -> AppPublic:
    """Create one of the caller's apps (stopped, unless ``body.start``; JupyterHub 5 always starts it).

    The name comes from the display name; when the Hub has it already, the next free one with
    ``body.on_conflict == "new"``, else :class:`AppExists`. The app counts for the owner's limits from
    the moment it is admitted.
    """
    identity, hub, settings = caller.identity, caller.hub, caller.settings
    owner = identity.name
    base = server_name_for(body.display_name)

    def pick_name(taken: set[str]) -> str:
        if body.on_conflict != "new" and base in taken:  # made meanwhile, or a server that is not an app
            raise AppExists(owner, base, body.display_name)
        return server_name_for(spec.display_name, taken)

    fields = body.model_dump(exclude_unset=False)
    fields.update(idle_policy_changes({k: fields[k] for k in _POLICY_FIELDS if k in body.model_fields_set}))
    fields["secret_env"] = await secret_env_to_save(
        caller.sealer, owner, submitted=fields["secret_env"], env=fields["env"]
    )
    fields["repository"] = await repository_to_save(caller.sealer, owner, fields["repository"])
    spec = build_spec(fields, settings, caller.registry, await environments_for(caller, fields))
    await check_app_file(caller, owner, spec)
    limits = caller.limits
    # JupyterHub 5 has no stopped servers: creating an app there starts it.
    runs = body.start or await hub.hub_version(identity.token) < (6,)
    admission = await limits.admit(
        hub,
        identity,
        owner,
        settings,
        None,
        public=spec.public,
        running=runs,
        pick_name=pick_name,
    )
    claim = admission.claim
    taken = set(admission.servers) | limits.claimed_names(owner)
    server = claim.facts.name

    async def made(server: str, started: bool) -> None:
        """The Hub holds the new server: the service's records follow at once, before any start, so a
        service that dies while the Hub starts the app leaves no app without its records."""
        if spec.public:
            await caller.directory.record(directory_entry(owner, server, spec))
        await record_revision(caller, owner, server, spec, "created", fresh=True)
        await record(caller, "created", owner, server, started=started)

    try:
        for _attempt in range(3):
            try:
                started = await _create(
                    hub,
                    owner,
                    server,
                    identity.token,
                    spec,
                    start=body.start,
                    wait=settings.start_wait,
                    claim=claim,
                    made=made,
                )
                break
            except LimitReached:
                raise
            except Conflict:
                if body.on_conflict != "new":
                    raise AppExists(owner, server, spec.display_name) from None
                taken.add(server)  # created by someone else meanwhile: take the next name
                server = server_name_for(spec.display_name, taken)
                claim.rename(server)
        else:
            raise Conflict("could not find a free name for the app; try another display name")
    except BaseException:
        claim.release()
        raise
    model: ServerModel = {
        "name": server,
        "user_options": spec.to_user_options(),
        "ready": False,
        "pending": "spawn" if started else None,
    }
    app = app_from_server(settings, owner, server, model, "owned")
    assert app is not None
    return app


async def deploy_over(caller: Caller, server: str, body: AppCreate) -> AppPublic | Accepted:
    """A deploy onto the caller's app ``server`` (``on_conflict="update"``): the fields sent change it
    (those not sent keep their value); a running app restarts with them, a stopped one starts only
    when ``body.start``."""
    model = await managed_server(caller.identity, caller.identity.name, server, caller.hub)
    fields = body.model_dump(exclude_unset=True, exclude={"start", "on_conflict"})
    restart = body.start or server_state(model) != "stopped"
    return await update_app(
        caller, caller.identity.name, server, AppUpdate.model_validate({**fields, "restart": restart})
    )


async def _create(
    hub: HubClient,
    owner: str,
    server: str,
    token: str,
    spec: AppSpec,
    *,
    start: bool,
    wait: float,
    claim: Claim,
    made: Callable[[str, bool], Awaitable[None]],
) -> bool:
    """Create (and start) the app; ``claim`` is released once the Hub has answered the last call.

    ``made(server, started)`` records the app once the Hub holds it: on JupyterHub 6 between the
    creation and the start (whose wait may outlast the service), on JupyterHub 5 (where creating is
    starting) once the Hub answered or the wait is over.
    """
    version = await hub.hub_version(token)
    options = spec.to_user_options()
    if version >= (6,):
        await hub.create_server(owner, server, token, user_options=options, display_name=spec.display_name, start=False)
        await made(server, start)
        if start:
            await run_bounded(
                released_after(hub.start_server(owner, server, token, framework=spec.framework), claim), wait
            )
        else:
            claim.release()
        return start
    await run_bounded(
        released_after(
            hub.create_server(
                owner,
                server,
                token,
                user_options=options,
                display_name=spec.display_name,
                start=True,
                framework=spec.framework,
            ),
            claim,
        ),
        wait,
    )
    await made(server, True)
    return True


async def update_app(caller: Caller, owner: str, server: str, body: AppUpdate) -> AppPublic | Accepted:
    """Edit an app: a stopped one at once (started after if ``body.restart``), a running one only with
    ``body.restart`` (stopped, changed, started again; answered as accepted while that goes on)."""
    identity, hub, settings = caller.identity, caller.hub, caller.settings
    model = await managed_server(identity, owner, server, hub)
    options = model.get("user_options") or {}
    if not is_app_options(options):
        raise NotFound()
    current = await spec_to_edit(caller, owner, server, options)
    changes = idle_policy_changes(body.model_dump(exclude_unset=True, exclude={"restart"}), current)
    stored_env: dict[str, str] = current["env"] if isinstance(current.get("env"), dict) else {}
    stored_secret_env: dict[str, str] = current["secret_env"] if isinstance(current.get("secret_env"), dict) else {}
    sent_env = changes.get("env")
    env: dict[str, str] = dict(sent_env) if isinstance(sent_env, dict) else dict(stored_env)
    changes["secret_env"] = await secret_env_to_save(
        caller.sealer,
        owner,
        submitted=changes.get("secret_env"),
        env=env,
        env_sent=isinstance(sent_env, dict),
        stored_env=stored_env,
        stored_secret_env=stored_secret_env,
        # Marks only matter for version 1 specs (whose secrets were plain env): no database read for others.
        legacy=legacy_secret_names(
            options,
            await caller.secret_marks.get(owner, server) if is_v1_spec(options) else (),
        ),
    )
    changes["env"] = env
    if "repository" in changes:
        changes["repository"] = await repository_to_save(
            caller.sealer, owner, changes["repository"], current.get("repository")
        )
    edited = {**current, **changes}
    spec = build_spec(edited, settings, caller.registry, await environments_for(caller, edited))
    changed = sorted(k for k, v in spec.to_user_options().items() if current.get(k) != v and k != "spec_version")
    if "filepath" in changes or "working_dir" in changes:
        await check_app_file(caller, owner, spec)
    return await apply_edit(caller, owner, server, model, spec, changed, restart=body.restart)


async def apply_edit(
    caller: Caller,
    owner: str,
    server: str,
    model: ServerModel,
    spec: AppSpec,
    changed: list[str],
    *,
    restart: bool,
    rolled_back_to: int | None = None,
) -> AppPublic | Accepted:
    """Give the app a new spec: a stopped one at once (started after if ``restart``), a running one only
    with ``restart`` (stopped, changed, started again; answered as accepted while that goes on)."""
    identity, hub, settings = caller.identity, caller.hub, caller.settings
    state = server_state(model)
    if state != "stopped" and not restart:
        raise Conflict("the app is running; send restart=true to apply the change, or stop it first")
    # Held until the Hub has the new spec (and, with a restart, has started the app again): a second
    # edit meanwhile would otherwise be overwritten by this one's spec.
    hold = await caller.apps.hold(owner, server, "restarting with a change" if restart else "being changed")
    claim: Claim | None = None
    try:
        # JupyterHub 5 has no PATCH and writes user_options only at a spawn: a stopped app takes its new spec
        # by starting with it (as a creation starts it there; upstream's edit too). The Hub holds it from then on.
        start_with_spec = state == "stopped" and not await hub.edits_stopped_servers(identity.token)
        # An app made before revisions: its spec now becomes revision 1, so it can be rolled back to.
        await ensure_base(caller, owner, server, model.get("user_options") or {})

        async def applied() -> None:
            await _edited(caller, owner, server, spec, changed, rolled_back_to=rolled_back_to)

        # Made public, or (re)started: the owner's limits, the app itself left out of the counts.
        running = bool(restart) or start_with_spec
        claim = (
            await caller.limits.admit(hub, identity, owner, settings, server, public=spec.public, running=running)
        ).claim
        if state != "stopped":
            await run_bounded(
                held_until_done(
                    released_after(restart_server(caller, owner, server, spec, applied=applied), claim), hold
                ),
                settings.start_wait,
            )
            return _accepted(owner, server, "stopping", done=False)
        if start_with_spec:
            done, _ = await run_bounded(
                held_until_done(released_after(_start_with(caller, owner, server, spec, applied=applied), claim), hold),
                settings.start_wait,
            )
            return _accepted(owner, server, "running" if done else "starting", bool(done))
        await hub.update_server(
            owner, server, identity.token, user_options=spec.to_user_options(), display_name=spec.display_name
        )
        await applied()
        hold.release()  # the Hub has the spec: the start is a single call the Hub orders itself
        if restart:
            done, _ = await run_bounded(
                released_after(hub.start_server(owner, server, identity.token, framework=spec.framework), claim),
                settings.start_wait,
            )
            return _accepted(owner, server, "running" if done else "starting", done)
    except BaseException:
        if claim is not None:
            claim.release()
        hold.release()
        raise
    claim.release()
    hold.release()
    new_model: ServerModel = {**model, "user_options": spec.to_user_options(), "display_name": spec.display_name}
    app = app_from_server(settings, owner, server, new_model, "owned" if owner == identity.name else "admin")
    assert app is not None
    return app


async def _start_with(
    caller: Caller, owner: str, server: str, spec: AppSpec, *, applied: Callable[[], Awaitable[None]]
) -> None:
    """Start with a new spec (JupyterHub 5); the Hub commits it before spawning: ``applied`` runs even if that fails."""
    try:
        await caller.hub.start_server(
            owner, server, caller.token, user_options=spec.to_user_options(), framework=spec.framework
        )
    except StartFailed:
        await applied()
        raise
    await applied()


async def _edited(
    caller: Caller, owner: str, server: str, spec: AppSpec, changed: list[str], *, rolled_back_to: int | None = None
) -> None:
    """The Hub took an edit (or a rollback to revision ``rolled_back_to``): the service's records
    follow, a new revision holds the spec, and the event names the fields changed (names only:
    values may be secret)."""
    await _record(caller, owner, server, spec)
    if rolled_back_to is None:
        await record_revision(caller, owner, server, spec, "edited")
        await record(caller, "edited", owner, server, fields=changed)
    else:
        await record_revision(caller, owner, server, spec, f"rolled back to {rolled_back_to}")
        await record(caller, "rolled-back", owner, server, revision=rolled_back_to, fields=changed)


async def _record(caller: Caller, owner: str, server: str, spec: AppSpec) -> None:
    """The service's records once the Hub took a new spec: directory entry, and the app's image
    (the one it replaces is deleted unless another app shows it)."""
    entry = directory_entry(owner, server, spec)
    if spec.public or await caller.directory.get(owner, server) is not None:
        await caller.directory.record(entry)
    await caller.thumbnails.claim(owner, server, spec.thumbnail)


async def delete_app(caller: Caller, owner: str, server: str) -> Accepted:
    """Stop and delete an app; done, or accepted while the Hub finishes (its records go after)."""
    if not server:
        raise NotFound()
    # Rights first (someone who cannot even read the app gets 404 before anything happens), and the
    # directory entry and the app's image go only once the Hub has accepted the deletion, however
    # long it takes.
    model = await managed_server(caller.identity, owner, server, caller.hub)
    spec_image = str((model.get("user_options") or {}).get("thumbnail") or "")
    # Held until the Hub has removed it: a restart's start meanwhile would make a new server of its name.
    hold = await caller.apps.hold(owner, server, "being deleted")

    async def forget() -> None:
        await caller.directory.remove(owner, server)
        await caller.thumbnails.release(owner, server, also=spec_image)
        await caller.revisions.delete_app(owner, server)  # a later app of this name starts a history of its own
        await caller.runs.forget(owner, server)  # (its proxy reported its stop while the Hub stopped it)

    try:
        done, _ = await run_bounded(
            held_until_done(caller.hub.stop_server(owner, server, caller.token, remove=True), hold),
            caller.settings.stop_wait,
            then=forget,
        )
    except BaseException:
        hold.release()
        raise
    await record(caller, "deleted", owner, server)
    return _accepted(owner, server, "stopped" if done else "stopping", done=done)


# -- lifecycle -------------------------------------------------------------------------------------


async def start_app(caller: Caller, owner: str, server: str) -> Accepted:
    """Start an app with its stored spec (the running-apps limit claimed for it).

    An app that failed (or whose server does not answer) still has a server the Hub calls running:
    starting it stops that server first, then starts it again, as a restart does.
    """
    hub = caller.hub
    model = await managed_server(caller.identity, owner, server, hub)  # 404 before anything, even with a slow Hub
    check_runnable(model.get("user_options"))
    await caller.apps.check(owner, server)  # a restart, edit or deletion under way: 409, not a second start
    if (await live_state(caller, owner, server, model)).state in ("failed", "unknown"):
        return await restart_app(caller, owner, server)
    claim = await _admit_start(caller, owner, server, model)
    done, status = await run_bounded(
        released_after(hub.start_server(owner, server, caller.token, framework=stored_framework(caller, model)), claim),
        caller.settings.start_wait,
    )
    await record(caller, "started", owner, server)
    return _accepted(
        owner, server, "running" if done and status == 201 else "starting", done=bool(done and status == 201)
    )


async def stop_app(caller: Caller, owner: str, server: str) -> Accepted:
    """Stop an app (answered at once when the Hub is slow; the Hub finishes)."""
    await managed_server(caller.identity, owner, server, caller.hub)  # 404 before anything, even with a slow Hub
    await caller.apps.check(owner, server)  # a restart under way would start it again: 409 instead
    done, status = await run_bounded(caller.hub.stop_server(owner, server, caller.token), caller.settings.stop_wait)
    await record(caller, "stopped", owner, server)
    finished = bool(done and status == 204)
    return _accepted(owner, server, "stopped" if finished else "stopping", done=finished)


async def restart_app(caller: Caller, owner: str, server: str) -> Accepted:
    """Stop an app, wait until the Hub stopped it, start it again (never reported as done)."""
    model = await managed_server(caller.identity, owner, server, caller.hub)
    check_runnable(model.get("user_options"))
    hold = await caller.apps.hold(owner, server, "restarting")
    try:
        claim = await _admit_start(caller, owner, server, model)
        done, _ = await run_bounded(
            held_until_done(released_after(restart_server(caller, owner, server, None), claim), hold),
            caller.settings.start_wait,
        )
    except BaseException:
        hold.release()
        raise
    await record(caller, "restarted", owner, server)
    return _accepted(owner, server, "starting" if done else "stopping", done=False)


async def _admit_start(caller: Caller, owner: str, server: str, model: ServerModel) -> Claim:
    """The running-apps limit (and the public one, which the Hub checks at start too) for one start.

    Servers that are not apps (plain JupyterLab) count for no limit, so they are not held to one either.
    """
    facts = facts_of_model(server, model)
    admission = await caller.limits.admit(
        caller.hub, caller.identity, owner, caller.settings, server, public=facts.public, running=facts.is_app
    )
    return admission.claim
