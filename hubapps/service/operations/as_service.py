"""The service acting for itself, with its own token: the few things no user's token may do for it.

Everything else in the operations layer acts with the caller's own token, so the Hub's RBAC decides.
Two things cannot: starting an owner's stopped app for a viewer the owner lets start it (the viewer
holds no right to start someone else's server, and must not be given one), and stopping apps that are
past their idle policy (nobody is calling). For those the service uses its own token, whose scopes
(``SERVICE_ROLE_SCOPES`` in :mod:`hubapps.hub.install`, listed in docs/security.md) are the Hub's
``read:servers``, ``list:users`` and the server start and stop scopes.

Rules kept here: a start runs the owner's *stored* spec (nothing of the request reaches it: no options
are sent, and JupyterHub 5 and 6 alike start with the ones they store); the Hub's spawner mixin checks the spec and
the owner's limits at start as for any other start; no user's token or cookie is ever used or passed.
Callers decide *whether* the service may act (:mod:`.access`, :mod:`.idle`); this module only acts.
"""

from __future__ import annotations

from hubapps.service.errors import Conflict, NotFound
from hubapps.service.hub_client import HubClient
from hubapps.service.hub_models import ServerModel, UserModel, servers_of
from hubapps.service.settings import ServiceSettings

__all__ = ["ServiceActor"]


class ServiceActor:
    """The service's own hand on the Hub: read a server, list running ones, start and stop apps."""

    def __init__(self, hub: HubClient, settings: ServiceSettings) -> None:
        self.hub = hub
        self._token = settings.api_token.get_secret_value()

    @property
    def available(self) -> bool:
        """Whether the service has a token of its own (the Hub always gives a managed service one)."""
        return bool(self._token)

    async def server(self, owner: str, server: str) -> ServerModel:
        """The Hub's model of ``owner``'s server ``server`` (fresh, stopped ones too); else 404."""
        model = servers_of(await self.hub.user(owner, self._token)).get(server)
        if not isinstance(model, dict):
            raise NotFound()
        return model

    async def active_users(self) -> list[UserModel]:
        """Every user with a server that is running or pending, with those servers (one listing)."""
        users = await self.hub.paginate("users", self._token, {"state": "active"})
        return [user for user in users if isinstance(user, dict)]  # type: ignore[misc]

    async def start(self, owner: str, server: str) -> int:
        """Start ``owner``'s stopped app with its stored spec; the Hub's 201 (ready) or 202 (starting).

        No options are sent: JupyterHub 6, and 5 as well, start with the ones they store. (Sending back
        what was read earlier would, on JupyterHub 5, overwrite an edit the owner made meanwhile.)"""
        return await self.hub.start_server(owner, server, self._token)

    async def stop(self, owner: str, server: str) -> bool:
        """Stop ``owner``'s server (the Hub takes a second stop of a stopped or stopping server as done);
        False when the server is gone or cannot be stopped now (being renamed)."""
        try:
            await self.hub.stop_server(owner, server, self._token)
        except (NotFound, Conflict):
            return False
        return True
