"""The proxy's own Prometheus metrics, written in the text exposition format (version 0.0.4) by hand.

The proxy may import only the standard library, httptools, uvloop and :mod:`hubapps.core` (it runs in
every app's environment; see ``docs/proxy.md``), so this is a small writer of our own rather than
``prometheus_client``; the unit tests keep it honest by parsing its output with
``prometheus_client.parser`` (the library as an oracle, as ``scopes.py`` is kept by JupyterHub's).

Counting is on the hot path of every request, so it costs a dict lookup and a few additions: label
values are fixed at construction (request kinds, Hub calls, outcomes) and cumulative histogram buckets
are summed only when the text is written. Nothing here ever holds a name: the only label values are the
fixed words above. Viewers are remembered for :attr:`ProxyMetrics.viewer_window` seconds to count them
(never written out), at most :data:`MAX_VIEWERS` at once.

The text is served at ``<prefix>_hubapps/metrics`` to the launcher service's signed requests only
(:mod:`hubapps.core.statuskey`); the service relabels it by an opaque app id and serves it to Prometheus
(``docs/metrics.md``).
"""

from __future__ import annotations

import bisect
import math
import time
import weakref
from collections.abc import Callable, Iterable, Sequence

from hubapps.core.proxy_metrics import FAMILIES, HUB_CALLS, HUB_OUTCOMES, Family

__all__ = [
    "CONTENT_TYPE",
    "MAX_VIEWERS",
    "Counter",
    "Gauge",
    "Histogram",
    "ProxyMetrics",
]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: Distinct viewers remembered at once (a flood of anonymous addresses cannot grow the proxy past it).
MAX_VIEWERS = 4096


def _number(value: float) -> str:
    if value == math.inf:
        return "+Inf"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(pairs: Sequence[tuple[str, str]]) -> str:
    if not pairs:
        return ""
    # Label values are fixed words of this module; escaped anyway, as the format says.
    return "{" + ",".join(f'{name}="{_escape(value)}"' for name, value in pairs) + "}"


class _Family:
    """One family of :data:`~hubapps.core.proxy_metrics.FAMILIES` with at most one label."""

    def __init__(self, schema: Family) -> None:
        self.name = schema.name
        self.kind = schema.type
        self.help = schema.help
        self.label, values = next(iter(schema.labels.items()), ("", ("",)))
        self.values = tuple(values)

    def _pairs(self, value: str) -> list[tuple[str, str]]:
        return [(self.label, value)] if self.label else []

    def header(self) -> list[str]:
        # A counter's lines name its samples (``x_total``), as the 0.0.4 text format wants (and as
        # prometheus_client writes it); the parsers then name the family ``x``.
        name = self.name + "_total" if self.kind == "counter" else self.name
        return [f"# HELP {name} {self.help}", f"# TYPE {name} {self.kind}"]

    def lines(self) -> list[str]:
        raise NotImplementedError


class Counter(_Family):
    """A monotonic count per label value."""

    def __init__(self, schema: Family) -> None:
        super().__init__(schema)
        self.counts = dict.fromkeys(self.values, 0.0)

    def inc(self, value: str = "", amount: float = 1.0) -> None:
        self.counts[value] += amount

    def lines(self) -> list[str]:
        out = self.header()
        out += [f"{self.name}_total{_labels(self._pairs(v))} {_number(self.counts[v])}" for v in self.values]
        return out


class Gauge(_Family):
    """A value that goes up and down (set when the text is written)."""

    def __init__(self, schema: Family) -> None:
        super().__init__(schema)
        self.current = dict.fromkeys(self.values, 0.0)

    def set(self, amount: float, value: str = "") -> None:
        self.current[value] = amount

    def lines(self) -> list[str]:
        out = self.header()
        out += [f"{self.name}{_labels(self._pairs(v))} {_number(self.current[v])}" for v in self.values]
        return out


class Histogram(_Family):
    """Observations in buckets (kept per bucket, made cumulative when written), their sum and count."""

    def __init__(self, schema: Family) -> None:
        super().__init__(schema)
        self.bounds = tuple(sorted(schema.buckets))
        # One slot per bound (an observation equal to a bound is in it: ``le``), and one past the last.
        self.buckets = {v: [0] * (len(self.bounds) + 1) for v in self.values}
        self.sums = dict.fromkeys(self.values, 0.0)

    def observe(self, amount: float, value: str = "") -> None:
        self.buckets[value][bisect.bisect_left(self.bounds, amount)] += 1
        self.sums[value] += amount

    def lines(self) -> list[str]:
        out = self.header()
        for v in self.values:
            pairs = self._pairs(v)
            running = 0
            for bound, count in zip((*self.bounds, math.inf), self.buckets[v], strict=True):
                running += count
                out.append(f"{self.name}_bucket{_labels([*pairs, ('le', _number(bound))])} {running}")
            out.append(f"{self.name}_sum{_labels(pairs)} {_number(self.sums[v])}")
            out.append(f"{self.name}_count{_labels(pairs)} {running}")
        return out


def render(families: Iterable[_Family]) -> bytes:
    """The exposition text of ``families``."""
    lines: list[str] = []
    for family in families:
        lines += family.lines()
    return ("\n".join(lines) + "\n").encode()


class ProxyMetrics:
    """Everything the proxy counts. The runtime calls the hooks below; :meth:`render` writes the text.

    ``viewer_window``: seconds a viewer stays "active" after their last request (viewers with an open
    websocket stay active while it is open).
    """

    def __init__(self, *, viewer_window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.viewer_window = viewer_window
        self._clock = clock
        self.requests = Counter(FAMILIES["hubapps_proxy_requests"])
        self.latency = Histogram(FAMILIES["hubapps_proxy_request_duration_seconds"])
        self.websockets = Gauge(FAMILIES["hubapps_proxy_websockets_active"])
        self.viewers = Gauge(FAMILIES["hubapps_proxy_viewers_active"])
        self.restarts = Counter(FAMILIES["hubapps_proxy_app_restarts"])
        self.ready = Histogram(FAMILIES["hubapps_proxy_app_ready_seconds"])
        self.state = Gauge(FAMILIES["hubapps_proxy_app_state"])
        self.hub_calls = _HubCalls(FAMILIES["hubapps_proxy_hub_requests"])
        #: viewer key → the monotonic time of their last request.
        self._viewers: dict[object, float] = {}
        self._pruned_at = -math.inf
        #: The viewer key of each websocket upgrade request let through (pruned as they close).
        #: Weak: a request that is gone (its websocket closed and forgotten) takes its entry with it,
        #: even if nobody reads the metrics for days.
        self._socket_viewers: weakref.WeakKeyDictionary[object, object] = weakref.WeakKeyDictionary()

    # -- hooks ----------------------------------------------------------------------------------

    def request_done(self, kind: str, seconds: float) -> None:
        """One answer finished (``kind`` one of :data:`~hubapps.core.proxy_metrics.REQUEST_KINDS`); the
        request count is the latency histogram's, copied when the text is written."""
        self.latency.observe(seconds, kind)

    def viewer_seen(self, key: object) -> None:
        """A request of viewer ``key`` was let through to the app."""
        viewers = self._viewers
        now = self._clock()
        if key not in viewers and len(viewers) >= MAX_VIEWERS:
            # Full: make room from idle viewers, at most once a second (a flood of new addresses must
            # not make every request scan them all); a viewer that finds no room is not counted.
            if now - self._pruned_at >= 1.0:
                self._pruned_at = now
                self._forget_idle(now)
            if len(viewers) >= MAX_VIEWERS:
                return
        viewers[key] = now

    def websocket_viewer(self, request: object, key: object) -> None:
        """The websocket of ``request`` (let through for viewer ``key``) is open."""
        self._socket_viewers[request] = key

    def hub_call(self, call: str, outcome: str) -> None:
        """One call to the Hub ended (``call`` in :data:`HUB_CALLS`, ``outcome`` in :data:`HUB_OUTCOMES`)."""
        self.hub_calls.counts[(call, outcome)] += 1

    def _forget_idle(self, now: float) -> None:
        limit = now - self.viewer_window
        for key in [key for key, seen in self._viewers.items() if seen < limit]:
            del self._viewers[key]

    # -- the text -------------------------------------------------------------------------------

    def render(self, *, state: str, open_sockets: Iterable[object]) -> bytes:
        """The exposition text; ``state`` is the app's state, ``open_sockets`` the upgrade requests of
        the websockets open now."""
        now = self._clock()
        open_requests = list(open_sockets)
        still_open = set(open_requests)
        for request in [r for r in list(self._socket_viewers) if r not in still_open]:
            del self._socket_viewers[request]
        self._forget_idle(now)
        for kind, buckets in self.latency.buckets.items():
            self.requests.counts[kind] = sum(buckets)
        active = set(self._viewers) | set(self._socket_viewers.values())
        self.viewers.set(len(active))
        self.websockets.set(len(open_requests))
        for name in self.state.values:
            self.state.set(1.0 if name == state else 0.0, name)
        return render(
            (
                self.requests,
                self.latency,
                self.websockets,
                self.viewers,
                self.restarts,
                self.ready,
                self.state,
                self.hub_calls,
            )
        )


class _HubCalls(_Family):
    """``hubapps_proxy_hub_requests_total{call, outcome}`` (two labels, kept in one dict)."""

    def __init__(self, schema: Family) -> None:
        super().__init__(schema)
        self.counts = {(call, outcome): 0 for call in HUB_CALLS for outcome in HUB_OUTCOMES}

    def lines(self) -> list[str]:
        out = self.header()
        out += [
            f"{self.name}_total{_labels([('call', call), ('outcome', outcome)])} {count}"
            for (call, outcome), count in self.counts.items()
        ]
        return out
