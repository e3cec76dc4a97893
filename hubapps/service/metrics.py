"""The launcher service's own Prometheus metrics (``prometheus_client``), correct with several workers.

The Hub starts the service as ``python -m hubapps.service.serve`` (:mod:`hubapps.service.serve`), which
gives every run a fresh private directory in ``PROMETHEUS_MULTIPROC_DIR`` before anything imports
``prometheus_client``: each uvicorn worker then writes its counts to files of its own there, and
``<prefix>metrics`` (whichever worker answers it) adds up every worker's (:func:`exposition`). Without
that variable (tests, a service started by hand with one process) the counts live in this process.

Labels are only ever fixed words or templates: a route's template (``/api/apps/{owner}/{server}``),
never the path a request named; a Hub API call's template (``users/{name}/servers/{server}``), never
the names in it. No user, server or group name is ever a label value.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hubapps.core.frameworks import FrameworkRegistry

__all__ = [
    "APP_STARTS",
    "CONTENT_TYPE",
    "HUB_REQUESTS",
    "MULTIPROC_ENV",
    "REGISTRY",
    "REQUESTS",
    "RequestMetrics",
    "count_start",
    "exposition",
    "framework_label",
    "hub_route",
    "observe_hub_call",
]

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

#: The service's metrics (not prometheus_client's global registry: nothing of other libraries).
REGISTRY = CollectorRegistry(auto_describe=True)

_LATENCY = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

REQUESTS = Counter(
    "hubapps_service_requests",
    "Requests the launcher service answered, by method, route template and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
REQUEST_SECONDS = Histogram(
    "hubapps_service_request_duration_seconds",
    "Seconds the launcher service took to answer, by method and route template.",
    ["method", "route"],
    buckets=_LATENCY,
    registry=REGISTRY,
)
IN_PROGRESS = Gauge(
    "hubapps_service_requests_in_progress",
    "Requests being answered now (all workers).",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
HUB_REQUESTS = Counter(
    "hubapps_service_hub_requests",
    "Calls of the launcher service to the Hub API, by method, route template and outcome.",
    ["method", "route", "outcome"],
    registry=REGISTRY,
)
HUB_SECONDS = Histogram(
    "hubapps_service_hub_request_duration_seconds",
    "Seconds the Hub took to answer the launcher service, by method and route template.",
    ["method", "route"],
    buckets=_LATENCY,
    registry=REGISTRY,
)
APP_STARTS = Counter(
    "hubapps_service_app_starts",
    "App starts the launcher service asked of the Hub, by framework and outcome "
    "(started: the Hub started it; pending: the Hub is starting it; refused: the Hub said no).",
    ["framework", "outcome"],
    registry=REGISTRY,
)

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _method(method: str) -> str:
    return method if method in _METHODS else "other"


class RequestMetrics:
    """ASGI middleware: count each request and its duration by method, route template and status.

    The template is the matched route's path (Starlette's ``scope["route"]``, set by the router on the
    very scope this middleware passed in) under the routers' prefixes, less the service prefix; a
    request no route matched is ``unmatched``. Plain ASGI, like :mod:`hubapps.service.middleware`.
    """

    def __init__(self, app: ASGIApp, prefix: str) -> None:
        self.app = app
        self.prefix = prefix.rstrip("/")

    def _route(self, scope: Scope) -> str:
        route = scope.get("route")
        path = getattr(route, "path", None)
        if not isinstance(path, str) and scope.get("endpoint") is not None:
            # A plain route of the app itself (the OpenAPI document) sets only its endpoint.
            endpoint = scope["endpoint"]
            app = scope.get("app")
            path = next((r.path for r in getattr(app, "routes", ()) if getattr(r, "endpoint", None) is endpoint), None)
        if not isinstance(path, str):
            # A mount (static files, the API docs' assets) sets no route: its path is the root path it
            # added to the scope's own.
            root, app_root = scope.get("root_path"), scope.get("app_root_path")
            if isinstance(root, str) and isinstance(app_root, str) and len(root) > len(app_root):
                path = root[len(app_root) :] + "/{path}"
            else:
                return "unmatched"
        # The route's path is relative to the routers that included it (FastAPI keeps the route as it
        # was declared); their prefixes are the request's leading segments, literal words of ours, never
        # a name: the route's template matched the last ``path.count("/")`` segments.
        if ":path}" not in path:
            segments = str(scope.get("path", "")).split("/")
            depth = path.count("/")
            if 0 < depth < len(segments):
                path = "/".join(segments[:-depth]) + path
        if self.prefix and path.startswith(self.prefix):
            path = path[len(self.prefix) :]
        return path or "/"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        IN_PROGRESS.inc()
        try:
            await self.app(scope, receive, send_status)
        finally:
            IN_PROGRESS.dec()
            method, route = _method(str(scope.get("method", ""))), self._route(scope)
            REQUESTS.labels(method, route, str(status)).inc()
            REQUEST_SECONDS.labels(method, route).observe(time.perf_counter() - began)


# -- Hub API calls -------------------------------------------------------------------------------------

#: The Hub API paths the service calls, as templates (``{}``: a name). Literal parts are compared by
#: position, so a user named ``servers`` is still ``{name}``.
_HUB_ROUTES = tuple(
    tuple(template.split("/"))
    for template in (
        "",
        "user",
        "users",
        "users/{name}",
        "users/{name}/servers/{server}",
        "users/{name}/servers/{server}/progress",
        "users/{name}/shared",
        "users/{name}/shared/{owner}/{server}",
        "users/{name}/activity",
        "groups",
        "groups/{name}",
        "shares/{owner}/{server}",
        "share-codes/{owner}/{server}",
        "oauth2/token",
    )
)
_API_PREFIX = re.compile(r"^.*?/hub/api/")


def hub_route(path: str) -> str:
    """The template of a Hub API path (relative to the API, or a full path with ``/hub/api/``); ``other``
    when it is none of the service's calls. Never a name."""
    path = _API_PREFIX.sub("", path.partition("?")[0]).strip("/")
    parts = path.split("/") if path else [""]
    for template in _HUB_ROUTES:
        if len(template) == len(parts) and all(
            t.startswith("{") or t == p for t, p in zip(template, parts, strict=True)
        ):
            return "/".join(template) or "/"
    return "other"


def observe_hub_call(method: str, path: str, outcome: str, seconds: float | None) -> None:
    """One call to the Hub: ``outcome`` is the status class (``2xx`` … ``5xx``) or ``error`` (no
    answer); ``seconds`` None for a stream (counted, not timed)."""
    route = hub_route(path)
    HUB_REQUESTS.labels(_method(method), route, outcome).inc()
    if seconds is not None:
        HUB_SECONDS.labels(_method(method), route).observe(seconds)


def framework_label(registry: FrameworkRegistry, name: object) -> str:
    """A framework's name as a label: one of the registry's, else ``other`` (``user_options`` set
    through the Hub's API directly may hold anything)."""
    return name if isinstance(name, str) and name in registry else "other"


def count_start(framework: str, status: int | None) -> None:
    """One start asked of the Hub: its answer (201 started, 202 pending) or None (refused)."""
    outcome = "started" if status == 201 else "pending" if status is not None else "refused"
    APP_STARTS.labels(framework or "unknown", outcome).inc()


def status_class(status: int) -> str:
    return f"{status // 100}xx"


# -- the exposition ------------------------------------------------------------------------------------


def _forget_dead_workers(path: str) -> None:
    """Drop the live gauges of workers that are gone (uvicorn replaces a worker that died; its
    in-progress count must not stay in the sum). Counters of dead workers are kept: they counted."""
    for name in os.listdir(path):
        if not name.startswith("gauge_live") or not name.endswith(".db"):
            continue
        pid_text = name.rsplit("_", 1)[-1][: -len(".db")]
        if not pid_text.isdigit():
            continue
        try:
            os.kill(int(pid_text), 0)
        except ProcessLookupError:
            mark_process_dead(int(pid_text), path)  # type: ignore[no-untyped-call]
        except PermissionError:  # alive, someone else's
            continue


def exposition(extra: Iterable[Collector] = ()) -> bytes:
    """The text of every worker's metrics (or this process's), and of ``extra`` collectors."""
    path = os.environ.get(MULTIPROC_ENV, "")
    if path and os.path.isdir(path):
        registry = CollectorRegistry(auto_describe=False)
        with contextlib.suppress(OSError):
            _forget_dead_workers(path)
        MultiProcessCollector(registry, path=path)  # type: ignore[no-untyped-call]
    else:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Forward(REGISTRY))
    for collector in extra:
        registry.register(collector)
    return generate_latest(registry)


class _Forward(Collector):
    """The metrics of another registry, collected into this one."""

    def __init__(self, source: CollectorRegistry) -> None:
        self.source = source

    def collect(self) -> Iterable[Metric]:
        return self.source.collect()
