"""Hub work bounded in time: wait a little for the Hub, let the rest finish in the background."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from hubapps.service.errors import safe_log

__all__ = ["run_bounded"]

log = logging.getLogger("hubapps.service")

T = TypeVar("T")

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
