"""The caller of an operation: who acts, and the service's objects the operation acts through."""

from __future__ import annotations

from dataclasses import dataclass

from hubapps.core.frameworks import FrameworkRegistry
from hubapps.service.app_guard import AppGuard
from hubapps.service.appstatus import AppStatusReader
from hubapps.service.auth import Identity
from hubapps.service.directory import AppDirectory
from hubapps.service.events import EventStore
from hubapps.service.homefiles import HomeFiles
from hubapps.service.hub_client import HubClient
from hubapps.service.limits import LimitGuard
from hubapps.service.revisions import RevisionStore
from hubapps.service.runs import RunStore
from hubapps.service.secrets import SecretEnvMarks, SecretSealer
from hubapps.service.settings import ServiceSettings
from hubapps.service.thumbnails import ThumbnailStore

__all__ = ["Caller"]


@dataclass(frozen=True)
class Caller:
    """One request's identity with everything an operation may touch on its behalf.

    Built per request by :func:`hubapps.service.deps.get_caller` (or :func:`~hubapps.service.deps.caller_for`
    where the identity is resolved by the page itself); the objects are the app's shared ones.
    """

    identity: Identity
    hub: HubClient
    directory: AppDirectory
    registry: FrameworkRegistry
    settings: ServiceSettings
    limits: LimitGuard
    thumbnails: ThumbnailStore
    status_reader: AppStatusReader
    home_files: HomeFiles
    sealer: SecretSealer
    secret_marks: SecretEnvMarks
    events: EventStore
    revisions: RevisionStore
    #: The apps' last runs, as their proxies reported them (failure memory).
    runs: RunStore
    #: One change at a time per app (restarts, edits, deletions).
    apps: AppGuard

    @property
    def name(self) -> str:
        """The caller's Hub user name."""
        return self.identity.name

    @property
    def token(self) -> str:
        """The token every Hub call is made with (the caller's own)."""
        return self.identity.token
