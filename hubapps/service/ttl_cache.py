"""A small LRU cache whose entries expire: the Hub client's short caches of user models and shares.

An entry is *fresh* for ``ttl`` seconds after it was stored, then *stale* for ``stale`` seconds more
(:meth:`TTLCache.get_stale` still returns it, saying so, for a caller that serves it while it asks
again in the background), then gone.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["TTLCache"]

K = TypeVar("K")
V = TypeVar("V")


class TTLCache(Generic[K, V]):
    """A small LRU cache whose entries are fresh for ``ttl`` seconds, then stale for ``stale`` more."""

    def __init__(
        self, ttl: float, max_entries: int, clock: Callable[[], float] = time.monotonic, *, stale: float = 0.0
    ) -> None:
        self.ttl = ttl
        self.stale = stale
        self.max_entries = max_entries
        self._clock = clock
        self._data: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def get(self, key: K) -> V | None:
        """The entry if it is fresh; else None."""
        hit = self.get_stale(key)
        return hit[0] if hit is not None and hit[1] else None

    def get_stale(self, key: K) -> tuple[V, bool] | None:
        """The entry and whether it is still fresh, while it is fresh or stale; None once it is gone."""
        item = self._data.get(key)
        if item is None:
            return None
        stored, value = item
        age = self._clock() - stored
        if age > self.ttl + self.stale:
            del self._data[key]
            return None
        self._data.move_to_end(key)
        return value, age <= self.ttl

    def set(self, key: K, value: V) -> None:
        if self.ttl <= 0:
            return
        self._data[key] = (self._clock(), value)
        self._data.move_to_end(key)
        while len(self._data) > self.max_entries:
            self._data.popitem(last=False)

    def pop(self, key: K) -> None:
        self._data.pop(key, None)

    def discard_where(self, predicate: Callable[[K, V], bool]) -> None:
        for key in [k for k, (_, v) in self._data.items() if predicate(k, v)]:
            del self._data[key]

    def clear(self) -> None:
        self._data.clear()

    def __len__(self) -> int:
        return len(self._data)
