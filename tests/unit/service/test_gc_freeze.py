"""A service worker keeps its start-up heap out of later garbage collections (``gc.freeze``).

A full collection walked the ~100,000 objects of the imports each time, stopping the event loop for
about 50 ms on the benchmark machine: that was the p99 of a listing at 1,000 users
(``docs/benchmarks.md``). Only a worker started by ``hubapps.service.serve`` freezes (frozen objects are
never freed), never an app made in a test or an embedding process.
"""

from __future__ import annotations

import gc
import os
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hubapps.service import serve


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_a_worker_of_serve_freezes_what_it_loaded_once_it_is_up(
    monkeypatch: pytest.MonkeyPatch, unfrozen: None, make_client: Callable[..., TestClient]
) -> None:
    monkeypatch.setenv(serve.FREEZE_ENV_VAR, "1")
    assert gc.get_freeze_count() == 0
    client = make_client()
    assert client.get("/services/japps/health").status_code == 200
    # Every module, class and function loaded so far is out of the collector's reach.
    assert gc.get_freeze_count() > 50_000
    assert len(gc.get_objects(generation=2)) < gc.get_freeze_count() / 10


@pytest.mark.parametrize("value", [None, "0"])
def test_an_app_outside_serve_or_turned_off_freezes_nothing(
    value: str | None, monkeypatch: pytest.MonkeyPatch, unfrozen: None, make_client: Callable[..., TestClient]
) -> None:
    if value is None:
        monkeypatch.delenv(serve.FREEZE_ENV_VAR, raising=False)
    else:
        monkeypatch.setenv(serve.FREEZE_ENV_VAR, value)
    make_client()
    assert gc.get_freeze_count() == 0


def test_serve_turns_it_on_for_its_workers_unless_the_admin_set_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: list[str | None] = []
    fake = types.ModuleType("uvicorn.main")
    fake.main = types.SimpleNamespace(  # type: ignore[attr-defined]
        main=lambda args, prog_name: seen.append(os.environ.get(serve.FREEZE_ENV_VAR))
    )
    monkeypatch.setitem(sys.modules, "uvicorn.main", fake)
    monkeypatch.setenv(serve.MULTIPROC_ENV, str(tmp_path / "metrics"))
    monkeypatch.delenv(serve.FREEZE_ENV_VAR, raising=False)
    serve.main(["app:make", "--factory"])
    monkeypatch.setenv(serve.FREEZE_ENV_VAR, "0")  # c.HubApps.service_environment = {"HUBAPPS_GC_FREEZE": "0"}
    serve.main(["app:make", "--factory"])
    assert seen == ["1", "0"]
