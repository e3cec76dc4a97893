"""One change at a time per app (:mod:`hubapps.service.app_guard`): a second hold, or a start or stop
checked meanwhile, is 409 ``busy`` naming what is under way, in this worker and in another one.

The races on a real Hub are ``tests/integration/test_races.py``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from hubapps.service.app_guard import AppGuard, held_until_done
from hubapps.service.errors import Busy

BUSY = "the app is restarting; send this again when that has finished"


def test_a_held_app_refuses_a_second_hold_and_a_check_until_released() -> None:
    async def scenario() -> None:
        guard = AppGuard("sqlite://")
        hold = await guard.hold("ann", "sales", "restarting")
        with pytest.raises(Busy) as second:
            await guard.hold("ann", "sales", "being deleted")
        assert (second.value.status_code, second.value.code, second.value.message) == (409, "busy", BUSY)
        with pytest.raises(Busy):
            await guard.check("ann", "sales")
        await guard.check("ann", "other")  # other apps are free
        await guard.check("bob", "sales")
        hold.release()
        hold.release()  # (idempotent)
        await guard.check("ann", "sales")
        (await guard.hold("ann", "sales", "being deleted")).release()

    asyncio.run(scenario())


def test_workers_sharing_a_sqlite_file_see_each_others_holds(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hubapps.sqlite'}"

    async def scenario() -> None:
        first, second = AppGuard(url), AppGuard(url)  # two workers' guards
        hold = await first.hold("ann", "sales", "restarting")
        with pytest.raises(Busy) as refused:
            await second.hold("ann", "sales", "being changed")
        assert refused.value.message == BUSY  # what the other worker does, read from its lock file
        with pytest.raises(Busy):
            await second.check("ann", "sales")
        hold.release()
        await second.check("ann", "sales")
        (await second.hold("ann", "sales", "being changed")).release()

    asyncio.run(scenario())
    folder = tmp_path / "hubapps.sqlite.app-locks"
    assert folder.stat().st_mode & 0o777 == 0o700
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in folder.iterdir())


def test_a_hold_ends_with_its_work_even_when_the_work_fails() -> None:
    async def scenario() -> None:
        guard = AppGuard("sqlite://")

        async def failing() -> None:
            raise RuntimeError("the Hub refused")

        hold = await guard.hold("ann", "sales", "restarting")
        with pytest.raises(RuntimeError):
            await held_until_done(failing(), hold)
        await guard.check("ann", "sales")

    asyncio.run(scenario())
