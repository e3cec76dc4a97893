"""A small LRU cache whose entries expire: the Hub client's short caches of user models and shares.

An entry is *fresh* for ``ttl`` seconds after it was stored, then *stale* for ``stale`` seconds more
(:meth:`TTLCache.get_stale` still returns it, saying so, for a caller that serves it while it asks
again in the background), then gone.

Entries nobody asks for again are not kept to the size limit: each :meth:`TTLCache.set` first drops the
expired entries at the least recently used end (a value replaced elsewhere, such as the derived values
of a user model the Hub client has refreshed, is never read again and would otherwise stay until
``max_entries`` newer ones pushed it out). ``on_drop`` hears of every entry that leaves: replaced,
expired, popped, discarded, evicted or cleared.
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
        self,
        ttl: float,
        max_entries: int,
        clock: Callable[[], float] = time.monotonic,
        *,
        stale: float = 0.0,
        on_drop: Callable[[K, V], None] | None = None,
    ) -> None:
        self.ttl = ttl
        self.stale = stale
        self.max_entries = max_entries
        self._clock = clock
        self._on_drop = on_drop
        self._data: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def _dropped(self, key: K, value: V) -> None:
        if self._on_drop is not None:
            self._on_drop(key, value)

    def _sweep(self) -> None:
        """Drop expired entries from the least recently used end, up to the first one still held."""
        if not self._data:
            return
        oldest = self._clock() - self.ttl - self.stale
        while self._data:
            key, (stored, value) = next(iter(self._data.items()))
            if stored >= oldest:
                return
            del self._data[key]
            self._dropped(key, value)

    def peek(self, key: K) -> V | None:
        """The entry, fresh or stale, without counting it as used; None if there is none."""
        item = self._data.get(key)
        return None if item is None else item[1]

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
            self._dropped(key, value)
            return None
        self._data.move_to_end(key)
        return value, age <= self.ttl

    def set(self, key: K, value: V) -> None:
        if self.ttl <= 0:
            return
        self._sweep()
        old = self._data.get(key)
        self._data[key] = (self._clock(), value)
        self._data.move_to_end(key)
        if old is not None and old[1] is not value:
            self._dropped(key, old[1])
        while len(self._data) > self.max_entries:
            evicted, (_, gone) = self._data.popitem(last=False)
            self._dropped(evicted, gone)

    def pop(self, key: K) -> None:
        item = self._data.pop(key, None)
        if item is not None:
            self._dropped(key, item[1])

    def discard_where(self, predicate: Callable[[K, V], bool]) -> None:
        for key in [k for k, (_, v) in self._data.items() if predicate(k, v)]:
            self.pop(key)

    def clear(self) -> None:
        items, self._data = list(self._data.items()), OrderedDict()
        for key, (_, value) in items:
            self._dropped(key, value)

    def __len__(self) -> int:
        return len(self._data)
