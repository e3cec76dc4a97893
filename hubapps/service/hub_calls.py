"""Counting the Hub calls made while serving one request (the ``X-Hubapps-Hub-Calls`` header)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

__all__ = ["CallCounter", "count_hub_calls", "count_one_call", "current_call_counter"]


@dataclass
class CallCounter:
    """Hub API calls made while serving one request."""

    count: int = 0


_counter: ContextVar[CallCounter | None] = ContextVar("hubapps_hub_calls", default=None)


def current_call_counter() -> CallCounter | None:
    return _counter.get()


@contextmanager
def count_hub_calls() -> Iterator[CallCounter]:
    """Count the Hub calls made inside the block (one request, or one benchmark step)."""
    counter = CallCounter()
    token = _counter.set(counter)
    try:
        yield counter
    finally:
        _counter.reset(token)


def count_one_call() -> None:
    """Count one Hub call in the current request's counter, if any."""
    counter = _counter.get()
    if counter is not None:
        counter.count += 1
