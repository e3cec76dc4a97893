"""What ``hubapps-proxy`` counts: the names, types, labels and buckets of its Prometheus metrics.

One schema for both ends: the proxy writes these families (:mod:`hubapps.proxy.metrics`), and the
launcher service reads them from each running app and keeps **only** what fits here
(``hubapps.service.operations.app_metrics``): the proxy runs in its owner's environment, so whatever it
answers is the owner's to choose, and a label value or family the schema does not name is dropped. Every
label value is a fixed word of this module; none is ever a user's, a server's or a group's name.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "APP_STATES",
    "FAMILIES",
    "HUB_CALLS",
    "HUB_OUTCOMES",
    "LATENCY_BUCKETS",
    "READY_BUCKETS",
    "REQUEST_KINDS",
    "Family",
]

#: What a request to the proxy is: forwarded HTTP, a websocket upgrade, or the proxy's own ``_hubapps/``.
REQUEST_KINDS = ("http", "websocket", "internal")
#: The proxy's calls to the Hub: token lookups, OAuth code exchanges, activity reports, the port told to
#: batchspawner's API (``--announce-port``).
HUB_CALLS = ("user", "oauth_token", "activity", "port")
#: How a Hub call ended: an answer below 400, 4xx, 5xx, or none (timeout, network error).
HUB_OUTCOMES = ("ok", "client_error", "server_error", "error")
#: The app's states, as the proxy's ``_hubapps/status`` names them.
APP_STATES = ("starting", "ready", "failed")
#: Request latency buckets, in seconds (to the end of the answer; for websockets, to the app's 101).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: Time-to-ready buckets, in seconds.
READY_BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0)


@dataclass(frozen=True)
class Family:
    """One metric family: its type, help, its labels with the values each may take, and buckets."""

    name: str
    type: str  # counter, gauge or histogram
    help: str
    labels: dict[str, tuple[str, ...]] = field(default_factory=dict)
    buckets: tuple[float, ...] = ()


FAMILIES: dict[str, Family] = {
    family.name: family
    for family in (
        Family("hubapps_proxy_requests", "counter", "Requests answered by the app's proxy, by kind.",
               {"kind": REQUEST_KINDS}),
        Family("hubapps_proxy_request_duration_seconds", "histogram",
               "Seconds from a request's head to the end of its answer (websockets: to the app's 101).",
               {"kind": REQUEST_KINDS}, LATENCY_BUCKETS),
        Family("hubapps_proxy_websockets_active", "gauge", "Websockets open to the app now."),
        Family("hubapps_proxy_viewers_active", "gauge",
               "Distinct viewers with an open websocket or a request within the proxy's viewer window."),
        Family("hubapps_proxy_app_restarts", "counter", "Restarts of the app after it had been ready."),
        Family("hubapps_proxy_app_ready_seconds", "histogram",
               "Seconds the app took to become ready (first start: clone included; then each restart).",
               {}, READY_BUCKETS),
        Family("hubapps_proxy_app_state", "gauge", "1 for the app's current state.", {"state": APP_STATES}),
        Family("hubapps_proxy_hub_requests", "counter", "Calls of the app's proxy to the Hub API.",
               {"call": HUB_CALLS, "outcome": HUB_OUTCOMES}),
    )
}  # fmt: skip
