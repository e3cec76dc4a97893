"""Typed dependencies of the routes: the shared objects an app instance holds in ``app.state``, and
the :class:`~hubapps.service.operations.Caller` an operation is called with.

The getters are ``async def`` on purpose: FastAPI runs a plain ``def`` dependency in its thread pool,
which costs a thread hand-off (and the GIL ping-pong that comes with it) for a dictionary lookup.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response

from hubapps.core.frameworks import FrameworkRegistry
from hubapps.service.appstatus import AppStatusReader
from hubapps.service.auth import CurrentUser, Identity, navigation_refusal, optional_user
from hubapps.service.directory import AppDirectory
from hubapps.service.hub_client import HubClient
from hubapps.service.limits import LimitGuard
from hubapps.service.operations import Caller
from hubapps.service.rendering import login_redirect
from hubapps.service.settings import ServiceSettings

__all__ = [
    "CurrentCaller",
    "Directory",
    "Hub",
    "Limits",
    "Registry",
    "Settings",
    "StatusReader",
    "caller_for",
    "page_caller",
]


async def get_settings(request: Request) -> ServiceSettings:
    settings: ServiceSettings = request.app.state.settings
    return settings


async def get_hub(request: Request) -> HubClient:
    hub: HubClient = request.app.state.hub
    return hub


async def get_directory(request: Request) -> AppDirectory:
    directory: AppDirectory = request.app.state.directory
    return directory


async def get_registry(request: Request) -> FrameworkRegistry:
    registry: FrameworkRegistry = request.app.state.registry
    return registry


async def get_limits(request: Request) -> LimitGuard:
    limits: LimitGuard = request.app.state.limits
    return limits


async def get_status_reader(request: Request) -> AppStatusReader:
    reader: AppStatusReader = request.app.state.status_reader
    return reader


def caller_for(request: Request, identity: Identity) -> Caller:
    """The caller of an operation: ``identity`` acting through this app's shared objects (pages that
    resolve the identity themselves, e.g. to redirect to the login, build it with this)."""
    state = request.app.state
    return Caller(
        identity=identity,
        hub=state.hub,
        directory=state.directory,
        registry=state.registry,
        settings=state.settings,
        limits=state.limits,
        thumbnails=state.thumbnails,
        status_reader=state.status_reader,
        home_files=state.home_files,
        sealer=state.secret_sealer,
        secret_marks=state.secret_env,
        events=state.events,
        revisions=state.revisions,
        runs=state.runs,
        apps=state.app_guard,
    )


async def page_caller(request: Request) -> Caller | Response:
    """The caller of a launcher page (pages hand out an XSRF token): a top-level navigation by a
    logged-in user. Otherwise the answer to give instead: the refusal of what is not a navigation
    (:func:`~hubapps.service.auth.navigation_refusal`), or the redirect to the login."""
    refused = navigation_refusal(request)
    if refused is not None:
        return refused
    identity = await optional_user(request)
    if identity is None:
        return login_redirect(request, request.app.state.settings)
    return caller_for(request, identity)


async def get_caller(request: Request, identity: CurrentUser) -> Caller:
    return caller_for(request, identity)


Settings = Annotated[ServiceSettings, Depends(get_settings)]
#: The service's client of the JupyterHub REST API (:class:`~hubapps.service.hub_client.HubClient`).
Hub = Annotated[HubClient, Depends(get_hub)]
Directory = Annotated[AppDirectory, Depends(get_directory)]
Registry = Annotated[FrameworkRegistry, Depends(get_registry)]
StatusReader = Annotated[AppStatusReader, Depends(get_status_reader)]
Limits = Annotated[LimitGuard, Depends(get_limits)]
#: The authenticated caller (the identity of :data:`~hubapps.service.auth.CurrentUser`) for an operation.
CurrentCaller = Annotated[Caller, Depends(get_caller)]
