"""Per-user limits on the Hub side: the spawner mixin refuses the start of one running app (or public
app) too many at every start, and a public spec stored for later, whatever door it came through."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from tornado import web
from traitlets.config import Config

import hubapps
from hubapps.hub.spawner import install_user_options_checks
from tests.unit.test_hub import RecordingSpawner, make, spec


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """install() keeps its status key file in the folder the Hub runs in."""
    monkeypatch.chdir(tmp_path)


def _owner(servers: Mapping[str, tuple[Any, str | None, bool]], *, admin: bool = False) -> SimpleNamespace:
    """A Hub user whose servers are ``name -> (user_options, pending, ready)``."""
    orm_spawners = {
        name: SimpleNamespace(user_options=o, server=object() if r else None) for name, (o, _, r) in servers.items()
    }
    live = {name: SimpleNamespace(pending=p, ready=r) for name, (_, p, r) in servers.items()}
    return SimpleNamespace(name="ann", admin=admin, orm_spawners=orm_spawners, spawners=live)


async def _refused(spawner: Any) -> str:
    with pytest.raises(web.HTTPError) as info:
        await spawner.start()
    assert info.value.status_code == 409
    assert spawner.started is None
    assert info.value.log_message is not None
    return str(info.value.log_message % info.value.args)


async def test_one_running_app_too_many_is_refused_at_start() -> None:
    spawner = make(spec(), max_running_apps_per_user=2)
    spawner.user = _owner(
        {
            "": (None, None, True),  # the default server
            "lab": ({}, None, True),  # a plain JupyterLab
            "a": (spec(), None, True),
            "b": (spec(), "spawn", False),  # starting counts
            "c": (spec(), "stop", False),  # stopping does not
            "sales": (spec(), "spawn", False),  # this very start
        }
    )
    message = await _refused(spawner)
    assert "2 running apps of 2 allowed per user (max_running_apps_per_user)" in message
    spawner.user.spawners["b"] = SimpleNamespace(pending=None, ready=False)  # its start failed
    await spawner.start()
    assert spawner.started is not None


async def test_one_public_app_too_many_is_refused_at_start() -> None:
    spawner = make(spec(public=True), allow_public_apps=True, max_public_apps_per_user=1)
    spawner.user = _owner({"open": (spec(public=True), None, False), "sales": (spec(public=True), None, False)})
    assert "max_public_apps_per_user" in await _refused(spawner)
    spawner.user_options = spec()  # the same app, private
    await spawner.start()


async def test_admins_and_zero_limits_are_not_held() -> None:
    servers = {"a": (spec(), None, True), "sales": (spec(), None, False)}
    spawner = make(spec(), max_running_apps_per_user=1)
    spawner.user = _owner(servers, admin=True)
    await spawner.start()
    spawner = make(spec(), max_running_apps_per_user=0)
    spawner.user = _owner(servers)
    await spawner.start()


def test_a_public_spec_stored_for_later_is_refused_beyond_the_limit() -> None:
    """JupyterHub 6 ``PUT``/``PATCH`` store options without starting: the gallery would list them."""
    from jupyterhub import orm
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    install_user_options_checks()
    engine = create_engine("sqlite://")
    orm.Base.metadata.create_all(engine)
    db = Session(engine)
    user = orm.User(name="ann")
    db.add(user)
    db.add(orm.Spawner(name="open", user=user, user_options=spec(public=True)))
    row = orm.Spawner(name="sales", user=user)
    db.add(row)
    db.commit()
    c = Config()
    hubapps.install(c, spawner_class=RecordingSpawner, allow_public_apps=True, max_public_apps_per_user=1)
    wrapper = c.JupyterHub.spawner_class(config=c, orm_spawner=row)
    with pytest.raises(web.HTTPError) as info:
        row.user_options = spec(public=True)
    assert info.value.status_code == 409
    assert info.value.log_message is not None
    assert "1 public app of 1 allowed per user (max_public_apps_per_user)" in info.value.log_message % info.value.args
    assert row.user_options is None
    row.user_options = private = spec()
    assert row.user_options == private
    del wrapper
