"""The service stops itself once its parent process is gone (``--exit-with-parent``)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import types
from pathlib import Path

import pytest

from hubapps.service import parent, serve


@pytest.fixture
def reparented(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """``os.getppid`` answers 100 twice, then 1 (re-parented: the parent died); ``os.kill`` is recorded."""
    answers = iter([100, 100, 1])
    kills: list[tuple[int, int]] = []
    monkeypatch.setattr(os, "getppid", lambda: next(answers, 1))
    monkeypatch.setattr(os, "kill", lambda pid, sig: kills.append((pid, sig)))
    return kills


async def test_a_worker_stops_itself_once_its_parent_is_gone(reparented: list[tuple[int, int]]) -> None:
    """SIGTERM first (a clean stop); SIGKILL once the grace is over (the fake kill stopped nothing)."""
    await asyncio.wait_for(parent.exit_with_parent(100, interval=0.01, grace=0.05), 5)
    assert reparented == [(os.getpid(), signal.SIGTERM)]
    for _ in range(100):
        if len(reparented) == 2:
            break
        await asyncio.sleep(0.05)
    assert reparented == [(os.getpid(), signal.SIGTERM), (os.getpid(), signal.SIGKILL)]


def test_the_master_watches_its_parent_from_a_thread(reparented: list[tuple[int, int]]) -> None:
    parent.watch_parent(interval=0.01, grace=60).join(5)
    assert reparented == [(os.getpid(), signal.SIGTERM)]  # (its SIGKILL comes 60 s later, in a daemon timer)


def test_the_flag_is_taken_out_before_uvicorn_and_passed_on_to_the_workers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: dict[str, object] = {}
    watched: list[bool] = []
    fake = types.ModuleType("uvicorn.main")
    fake.main = types.SimpleNamespace(  # type: ignore[attr-defined]
        main=lambda args, prog_name: seen.update(args=args, env=os.environ.get(parent.ENV_VAR))
    )
    monkeypatch.setitem(sys.modules, "uvicorn.main", fake)
    monkeypatch.setattr(parent, "watch_parent", lambda: watched.append(True))
    monkeypatch.delenv(parent.ENV_VAR, raising=False)
    monkeypatch.delenv(serve.FREEZE_ENV_VAR, raising=False)  # (main sets it: undone after the test)
    monkeypatch.setenv(serve.MULTIPROC_ENV, str(tmp_path / "metrics"))
    serve.main(["app:make", "--factory", parent.FLAG, "--workers", "2"])
    assert seen == {"args": ["app:make", "--factory", "--workers", "2"], "env": str(os.getpid())}
    assert watched == [True]


def test_a_worker_watches_the_master_named_in_its_environment() -> None:
    """Not its parent at start: a worker that starts after its master died would watch init forever."""
    assert parent.master_to_watch({parent.ENV_VAR: "4242"}) == 4242
    assert parent.master_to_watch({parent.ENV_VAR: str(os.getpid())}) is None  # the master itself
    assert parent.master_to_watch({}) is None
    assert parent.master_to_watch({parent.ENV_VAR: "x"}) is None
