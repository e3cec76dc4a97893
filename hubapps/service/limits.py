"""Per-user limits in the launcher service: counted from the Hub, one decision at a time per owner.

The counting and the rule are :mod:`hubapps.core.limits`. What this module adds is the race: two
creates (or starts) sent at once would both count the same servers and both pass. So every check
of one owner runs under that owner's :class:`asyncio.Lock`, reads the owner's servers fresh from
the Hub, and leaves a :class:`Claim` for the change it let through until the Hub has answered the
call that makes it (a create, an edit, a start). Claims count as if the Hub already showed them, so
the next check of the same owner sees them even while the Hub is still working.

This holds within one service process. With ``service_workers`` > 1 each worker has its own locks
and claims, so concurrent requests landing on different workers can pass one over the limit; the
spawner mixin (one Hub process) still refuses the extra start and the extra public spec, and the
app count is then bounded by JupyterHub's ``named_server_limit_per_user`` if the admin sets it.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from hubapps.core.limits import LimitReached as CoreLimitReached
from hubapps.core.limits import ServerFacts, check_limits, count_servers, facts_of_model
from hubapps.service.auth import Identity
from hubapps.service.errors import LimitReached, NotFound
from hubapps.service.hub_client import HubClient
from hubapps.service.hub_models import servers_of
from hubapps.service.settings import ServiceSettings

__all__ = ["Admission", "Claim", "LimitGuard", "released_after"]

T = TypeVar("T")


@dataclass(eq=False)  # each claim is its own, even when two say the same
class Claim:
    """A change let through and not yet answered by the Hub; :meth:`release` once it has been."""

    owner: str
    facts: ServerFacts
    _guard: LimitGuard = field(repr=False)
    _released: bool = False

    def rename(self, server: str) -> None:
        """The app got another server name (the first one was taken meanwhile)."""
        self.facts = replace(self.facts, name=server)

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._guard._drop(self)


@dataclass(frozen=True)
class Admission:
    """A check that passed: the claim to release, and the owner's servers as the Hub listed them."""

    claim: Claim
    servers: Mapping[str, Mapping[str, Any]]


class LimitGuard:
    """Per-owner locks and claims of one service process (kept in ``app.state.limits``)."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._claims: dict[str, list[Claim]] = {}

    def lock(self, owner: str) -> asyncio.Lock:
        lock = self._locks.get(owner)
        if lock is None:
            lock = self._locks[owner] = asyncio.Lock()
        return lock

    def facts(self, owner: str, servers: Mapping[str, Mapping[str, Any]]) -> list[ServerFacts]:
        """The owner's servers as the Hub shows them, with the pending claims laid over them."""
        merged = {name: facts_of_model(name, model) for name, model in servers.items() if isinstance(model, Mapping)}
        for claim in self._claims.get(owner, ()):
            seen = merged.get(claim.facts.name)
            merged[claim.facts.name] = (
                claim.facts
                if seen is None
                else replace(
                    seen,
                    is_app=True,
                    running=seen.running or claim.facts.running,
                    public=seen.public or claim.facts.public,
                )
            )
        return list(merged.values())

    def claimed_names(self, owner: str) -> set[str]:
        return {c.facts.name for c in self._claims.get(owner, ())}

    def claim(self, owner: str, facts: ServerFacts) -> Claim:
        claim = Claim(owner, facts, self)
        self._claims.setdefault(owner, []).append(claim)
        return claim

    def _drop(self, claim: Claim) -> None:
        claims = self._claims.get(claim.owner, [])
        if claim in claims:
            claims.remove(claim)
        if not claims:
            self._claims.pop(claim.owner, None)

    async def admit(
        self,
        hub: HubClient,
        identity: Identity,
        owner: str,
        settings: ServiceSettings,
        server: str | None,
        *,
        public: bool = False,
        running: bool = False,
        pick_name: Callable[[set[str]], str] | None = None,
    ) -> Admission:
        """Check the owner's limits for one app and claim the change, or raise :class:`LimitReached`.

        ``server`` is the app's name (the counts leave it out), or None for a new app, which
        ``pick_name`` then names, given the names taken (the Hub's and those of pending claims).
        """
        if server is not None and not public and not running:
            # An edit that neither publishes nor starts anything: no limit to meet, no Hub call.
            return Admission(Claim(owner, ServerFacts(server, True, False, False), self, _released=True), {})
        async with self.lock(owner):
            servers, admin = await owner_servers(hub, identity, owner)
            facts = self.facts(owner, servers)
            try:
                check_limits(
                    settings.user_limits(admin=admin),
                    count_servers(facts, exclude=server),
                    new_server=server is None,
                    public=public,
                    running=running,
                )
            except CoreLimitReached as exc:
                raise LimitReached.from_core(exc) from None
            if server is not None:
                name = server
            else:
                assert pick_name is not None, "a new app needs pick_name"
                name = pick_name(set(servers) | self.claimed_names(owner))
            claim = self.claim(owner, ServerFacts(name=name, is_app=True, running=running, public=public))
            return Admission(claim, servers)


async def owner_servers(hub: HubClient, identity: Identity, owner: str) -> tuple[Mapping[str, Mapping[str, Any]], bool]:
    """The owner's servers fresh from the Hub (never a cached model), and whether the owner is a Hub admin."""
    if owner == identity.name:
        model = await hub.whoami(identity.token, fresh=True)
    else:
        model = await hub.user(owner, identity.token)
    if model is None:
        raise NotFound()
    return servers_of(model), bool(model.get("admin"))


async def released_after(work: Awaitable[T], claim: Claim) -> T:
    """Await ``work`` (a Hub call), then release ``claim`` whatever came of it."""
    try:
        return await work
    finally:
        claim.release()
