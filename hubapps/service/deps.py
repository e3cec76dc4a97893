"""Typed dependencies of the routes: the shared objects an app instance holds in ``app.state``.

The getters are ``async def`` on purpose: FastAPI runs a plain ``def`` dependency in its thread pool,
which costs a thread hand-off (and the GIL ping-pong that comes with it) for a dictionary lookup.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request

from hubapps.core.frameworks import FrameworkRegistry
from hubapps.service.appstatus import AppStatusReader
from hubapps.service.directory import AppDirectory
from hubapps.service.errors import safe_log
from hubapps.service.hub import HubClient
from hubapps.service.limits import LimitGuard
from hubapps.service.settings import ServiceSettings

__all__ = ["Directory", "Hub", "Limits", "Registry", "Settings", "StatusReader", "run_bounded"]

log = logging.getLogger("hubapps.service")

T = TypeVar("T")


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


Settings = Annotated[ServiceSettings, Depends(get_settings)]
Hub = Annotated[HubClient, Depends(get_hub)]
Directory = Annotated[AppDirectory, Depends(get_directory)]
Registry = Annotated[FrameworkRegistry, Depends(get_registry)]
StatusReader = Annotated[AppStatusReader, Depends(get_status_reader)]
Limits = Annotated[LimitGuard, Depends(get_limits)]

# Work that outlived its request (a slow stop finishing on the Hub); kept so it is not collected.
_background: set[asyncio.Task[Any]] = set()


async def _followed(work: Coroutine[Any, Any, T], then: Callable[[], Awaitable[None]]) -> T:
    result = await work
    await then()
    return result


def _finished(task: asyncio.Task[Any]) -> None:
    _background.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.warning("Background Hub call failed: %s", safe_log(type(task.exception()).__name__))


async def run_bounded(
    work: Coroutine[Any, Any, T], wait: float, *, then: Callable[[], Awaitable[None]] | None = None
) -> tuple[bool, T | None]:
    """Run ``work``, waiting at most ``wait`` seconds; returns ``(done, result)``.

    When the time is up the work goes on in the background (the Hub finishes a slow stop or start)
    and the caller answers 202. Errors raised within ``wait`` propagate as usual. ``then`` runs once
    ``work`` has succeeded, and only then (in the background too, if it outlived the request): local
    records follow what the Hub did, never what it was merely asked.
    """
    if then is not None:
        work = _followed(work, then)
    task = asyncio.ensure_future(work)
    try:
        return True, await asyncio.wait_for(asyncio.shield(task), wait)
    except TimeoutError:
        _background.add(task)
        task.add_done_callback(_finished)
        return False, None
