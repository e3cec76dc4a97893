"""App starts and failures counted by the spawner mixin, in JupyterHub's own registry (``/hub/metrics``)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from prometheus_client import REGISTRY
from tornado import web
from traitlets.config import Config

import hubapps
from tests.unit.test_hub import RecordingSpawner, spec


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # install() keeps its status key file where the Hub runs


class PollingSpawner(RecordingSpawner):
    """A recording spawner whose server ended with ``exit_status`` (None: still running)."""

    exit_status: int | None = None

    async def poll(self) -> int | None:
        return self.exit_status


def make(options: Any) -> Any:
    c = Config()
    hubapps.install(c, spawner_class=PollingSpawner)
    spawner = c.JupyterHub.spawner_class(config=c)
    spawner.user = SimpleNamespace(name="ann")
    spawner.user_options = options
    return spawner


def count(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_starts_are_counted_by_framework_and_outcome() -> None:
    started = count("hubapps_hub_app_starts_total", framework="panel", outcome="started")
    refused = count("hubapps_hub_app_starts_total", framework="other", outcome="refused")
    await make(spec()).start()
    assert count("hubapps_hub_app_starts_total", framework="panel", outcome="started") == started + 1
    with pytest.raises(web.HTTPError):
        await make(spec(framework='<a b="c">')).start()
    assert count("hubapps_hub_app_starts_total", framework="other", outcome="refused") == refused + 1


async def test_a_failed_app_is_counted_once_and_a_clean_stop_not_at_all() -> None:
    failures = count("hubapps_hub_app_failures_total", framework="panel")
    spawner = make(spec())
    await spawner.start()
    assert await spawner.poll() is None
    spawner.exit_status = 0  # stopped cleanly (the proxy exits 0 on SIGTERM)
    await spawner.poll()
    assert count("hubapps_hub_app_failures_total", framework="panel") == failures
    await spawner.start()
    spawner.exit_status = 1  # the proxy gave up on its app
    await spawner.poll()
    await spawner.poll()
    assert count("hubapps_hub_app_failures_total", framework="panel") == failures + 1


async def test_plain_servers_are_not_counted() -> None:
    before = sum(s.value for m in REGISTRY.collect() if m.name.startswith("hubapps_hub_") for s in m.samples)
    spawner = make({})
    spawner.test_name = ""  # the default server
    await spawner.start()
    spawner.exit_status = 1
    await spawner.poll()
    after = sum(s.value for m in REGISTRY.collect() if m.name.startswith("hubapps_hub_") for s in m.samples)
    assert after == before
