"""The running apps' own metrics, for the service's ``/metrics``: read from each app's proxy, kept only
where they fit the schema, labelled by an opaque app id and the framework.

Why through the service: a Prometheus scrape token (``read:metrics``) must never reach a server whose
code its owner controls, so the proxies serve ``_hubapps/metrics`` only to the service's signed request
(:mod:`hubapps.core.statuskey`, made with each app's own key; no token, no cookie), as they serve
``_hubapps/status``. The service finds the running apps with its own token (``list:users`` and
``read:servers``: one paginated listing of the users with active servers), reads a few at a time
(``metrics_apps_concurrency``, at most ``metrics_apps_max``), and reuses what it read for
``metrics_apps_ttl`` seconds, one refresh at a time.

What an app's proxy answers is its owner's to choose (they may run anything on that port), so it is
parsed as untrusted input: at most :data:`METRICS_MAX_BYTES`, parsed off the event loop, and only the
families, labels and label values that :data:`hubapps.core.proxy_metrics.FAMILIES` names are kept, with
finite non-negative values. The labels the service adds come from the Hub, not from the app: ``app`` (an
HMAC of ``owner/server`` with the status key: stable, opaque, never a name; an admin can work it out for
a given app, nobody can reverse it) and ``framework`` (the app's stored spec, one of the enabled
frameworks or ``other``).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import cast

from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from hubapps.core.frameworks import FrameworkRegistry
from hubapps.core.proxy_metrics import FAMILIES
from hubapps.service.app_models import app_url, server_state
from hubapps.service.appstatus import AppStatusReader
from hubapps.service.errors import ServiceError
from hubapps.service.hub_client import HubClient
from hubapps.service.hub_models import UserModel, servers_of
from hubapps.service.metrics import framework_label
from hubapps.service.operations.states import is_proxy_app
from hubapps.service.settings import ServiceSettings

__all__ = ["METRICS_MAX_BYTES", "AppMetrics", "AppsCollector", "Snapshot", "app_id", "sanitize"]

log = logging.getLogger("hubapps.service.metrics")

#: Longest metrics text read from one app (the proxy's is about 8 KB).
METRICS_MAX_BYTES = 64 * 1024
_SUFFIXES = {"counter": ("_total",), "gauge": ("",), "histogram": ("_bucket", "_sum", "_count")}

#: One kept sample: its name, its labels (sorted), its value.
Sample = tuple[str, tuple[tuple[str, str], ...], float]


def app_id(key: bytes, owner: str, server: str) -> str:
    """The opaque id of ``owner``'s app ``server`` in metrics labels (12 hex digits)."""
    return hmac.new(key, f"hubapps-metrics-app\x00{owner}/{server}".encode(), hashlib.sha256).hexdigest()[:12]


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def sanitize(text: str) -> list[Sample]:
    """The samples of ``text`` that fit :data:`FAMILIES` (anything else, and a text that does not
    parse, is dropped)."""
    kept: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    try:
        for family in text_string_to_metric_families(text):
            schema = FAMILIES.get(family.name)
            if schema is None or family.type != schema.type:
                continue
            for sample in family.samples:
                suffix = sample.name[len(schema.name) :]
                if not sample.name.startswith(schema.name) or suffix not in _SUFFIXES[schema.type]:
                    continue
                labels = dict(sample.labels)
                le = labels.pop("le", None) if suffix == "_bucket" else None
                if set(labels) != set(schema.labels) or any(labels[k] not in schema.labels[k] for k in labels):
                    continue
                if suffix == "_bucket":
                    bound = _number(le or "")
                    if bound is None or (bound not in schema.buckets and bound != math.inf):
                        continue
                    labels["le"] = "+Inf" if bound == math.inf else repr(bound)
                value = float(sample.value)
                if not math.isfinite(value) or value < 0:
                    continue
                kept[(sample.name, tuple(sorted(labels.items())))] = value
    except Exception as exc:  # the app's text, the app's problem: nothing of it is kept
        log.info("An app's metrics did not parse: %s", type(exc).__name__)
        return []
    return [(name, labels, value) for (name, labels), value in kept.items()]


@dataclass(frozen=True)
class AppSamples:
    """One running app's kept samples (``readable``: whether its proxy answered at all)."""

    app: str
    framework: str
    readable: bool
    samples: list[Sample] = field(default_factory=list)

    @property
    def state(self) -> str:
        """The app's state from its ``hubapps_proxy_app_state`` gauge (``unknown`` without one)."""
        for name, labels, value in self.samples:
            if name == "hubapps_proxy_app_state" and value == 1:
                return dict(labels)["state"]
        return "unknown"


@dataclass(frozen=True)
class Snapshot:
    """What one refresh read: every running app's samples, how many were left out, whether the Hub
    could list the running apps."""

    apps: list[AppSamples]
    left_out: int = 0
    listed: bool = True


class AppMetrics:
    """The running apps' metrics, refreshed at most every ``metrics_apps_ttl`` seconds (per worker)."""

    def __init__(
        self, hub: HubClient, reader: AppStatusReader, registry: FrameworkRegistry, settings: ServiceSettings
    ) -> None:
        self.hub = hub
        self.reader = reader
        self.registry = registry
        self.settings = settings
        self._snapshot: Snapshot | None = None
        self._read_at = 0.0
        self._lock = asyncio.Lock()

    async def snapshot(self) -> Snapshot:
        async with self._lock:  # one refresh at a time; scrapes that arrive meanwhile share it
            if self._snapshot is None or time.monotonic() - self._read_at >= self.settings.metrics_apps_ttl:
                self._snapshot = await self._read()
                self._read_at = time.monotonic()
            return self._snapshot

    async def _read(self) -> Snapshot:
        token = self.settings.api_token.get_secret_value()
        if not token or not self.reader.available:
            return Snapshot([], listed=False)
        try:
            users = await self.hub.paginate("users", token, {"state": "active"})
        except ServiceError as exc:
            log.warning("Could not list the running apps for /metrics: %s", type(exc).__name__)
            return Snapshot([], listed=False)
        running: list[tuple[str, str, str, str]] = []
        for user in users:
            owner = str(user.get("name") or "")
            for server, model in servers_of(cast(UserModel, user)).items():
                if owner and server_state(model) == "running" and is_proxy_app(model, self.registry):
                    framework = framework_label(self.registry, (model.get("user_options") or {}).get("framework"))
                    url = str(model.get("url") or app_url(self.settings, owner, server))
                    running.append((owner, server, url, framework))
        limit = self.settings.metrics_apps_max
        left_out = max(0, len(running) - limit)
        gate = asyncio.Semaphore(self.settings.metrics_apps_concurrency)
        key = self.settings.status_key_bytes

        async def one(owner: str, server: str, url: str, framework: str) -> AppSamples:
            async with gate:
                body = await self.reader.get_bytes(
                    owner, server, url, "_hubapps/metrics", "text/plain", max_bytes=METRICS_MAX_BYTES
                )
            ident = app_id(key, owner, server)
            if body is None:
                return AppSamples(ident, framework, readable=False)
            samples = await asyncio.to_thread(sanitize, body.decode("utf-8", "replace"))
            return AppSamples(ident, framework, readable=True, samples=samples)

        apps = await asyncio.gather(*(one(*app) for app in running[:limit]))
        return Snapshot(list(apps), left_out=left_out)


class AppsCollector(Collector):
    """A snapshot as Prometheus families: the apps' samples with ``app`` and ``framework`` labels, and
    the counts of running apps by framework and state."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        snapshot = self.snapshot
        for schema in FAMILIES.values():
            family = Metric(schema.name, schema.help, schema.type)
            for app in snapshot.apps:
                for name, labels, value in app.samples:
                    if name.startswith(schema.name) and name[len(schema.name) :] in _SUFFIXES[schema.type]:
                        family.add_sample(name, {"app": app.app, "framework": app.framework, **dict(labels)}, value)
            yield family
        running = Metric("hubapps_apps_running", "Running apps, by framework and state (from their proxies).", "gauge")
        counts: dict[tuple[str, str], int] = {}
        for app in snapshot.apps:
            state = app.state if app.readable else "unreadable"
            counts[(app.framework, state)] = counts.get((app.framework, state), 0) + 1
        for (framework, state), count in sorted(counts.items()):
            running.add_sample("hubapps_apps_running", {"framework": framework, "state": state}, count)
        yield running
        left_out = Metric(
            "hubapps_apps_metrics_left_out", "Running apps whose metrics were not read (metrics_apps_max).", "gauge"
        )
        left_out.add_sample("hubapps_apps_metrics_left_out", {}, snapshot.left_out)
        yield left_out
        listed = Metric(
            "hubapps_apps_metrics_listed", "1 when the Hub listed the running apps at the last refresh.", "gauge"
        )
        listed.add_sample("hubapps_apps_metrics_listed", {}, 1 if snapshot.listed else 0)
        yield listed
