"""Group shares reach tokens (hubapps.hub.group_shares), checked on JupyterHub's own ORM and scope code.

The oracle is JupyterHub itself: what ``get_scopes_for`` gives the *user* (which counts group shares) is
what the user's tokens may now get, and never more than a token asks for.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from jupyterhub import orm, roles, scopes
from traitlets.config import Config

import hubapps
from hubapps.hub.group_shares import group_share_scopes, include_group_shares

ACCESS = "access:servers!server=ann/dash"
IDENTIFY = ["read:users:name!user", "read:users:groups!user"]


def _jupyterhubs_own() -> Any:
    """JupyterHub's ``get_scopes_for`` itself (other tests' ``install()`` may have wrapped it already)."""
    function = scopes.get_scopes_for
    while hasattr(function, "__wrapped__"):
        function = function.__wrapped__
    return function


@pytest.fixture
def unwrapped(monkeypatch: pytest.MonkeyPatch) -> Any:
    """JupyterHub's own function, put back in place for this test."""
    original = _jupyterhubs_own()
    monkeypatch.setattr(scopes, "get_scopes_for", original)
    return original


@pytest.fixture
def hub_scopes(unwrapped: Any) -> Any:
    """``jupyterhub.scopes`` with the wrapper applied for this test only."""
    include_group_shares()
    return scopes


@pytest.fixture
def db() -> Iterator[Any]:
    session = orm.new_session_factory("sqlite://")()
    for role in roles.get_default_roles():
        roles.create_role(session, role)
    session.add(orm.OAuthClient(identifier="jupyterhub"))
    session.commit()
    yield session
    session.close()


def _user(db: Any, name: str) -> Any:
    user = orm.User(name=name)
    db.add(user)
    db.commit()
    roles.assign_default_roles(db, user)
    return user


def _server(db: Any, owner: Any, name: str) -> Any:
    spawner = orm.Spawner(name=name, user=owner)
    client = orm.OAuthClient(identifier=f"jupyterhub-user-{owner.name}-{name}")
    db.add_all([spawner, client])
    spawner.oauth_client = client
    db.commit()
    return spawner


@pytest.fixture
def hub(db: Any) -> dict[str, Any]:
    """ann owns "dash" (shared with the group "team") and "other" (shared with nobody)."""
    ann, bo, cy = (_user(db, n) for n in ("ann", "bo", "cy"))
    team = orm.Group(name="team")
    team.users.append(bo)
    db.add(team)
    dash, other = _server(db, ann, "dash"), _server(db, ann, "other")
    orm.Share.grant(db, dash, team)
    return {"db": db, "ann": ann, "bo": bo, "cy": cy, "team": team, "dash": dash, "other": other}


def _token(user: Any, **options: Any) -> Any:
    """A token of ``user`` as the Hub stores it (``APIToken.new`` returns only its text)."""
    return orm.APIToken.find(sa.inspect(user).session, orm.APIToken.new(user=user, **options))


def _oauth_token(user: Any, server: Any, wanted: list[str] | None = None) -> Any:
    """The token a server's OAuth login gives the browser (its client's access scope and identify)."""
    return _token(user, oauth_client=server.oauth_client, scopes=wanted if wanted is not None else IDENTIFY)


def test_jupyterhub_alone_leaves_a_group_share_out_of_the_members_token(hub: dict[str, Any], unwrapped: Any) -> None:
    """The gap this module closes: the user has the access, the user's token for that very server does not."""
    token = _oauth_token(hub["bo"], hub["dash"])
    assert ACCESS in scopes.get_scopes_for(hub["bo"])
    assert ACCESS not in scopes.get_scopes_for(token)


def test_a_members_token_for_the_shared_server_gets_its_access_scope(hub: dict[str, Any], hub_scopes: Any) -> None:
    bo = hub["bo"]
    for token in (
        _oauth_token(bo, hub["dash"]),  # the client's own access scope
        _oauth_token(bo, hub["dash"], [ACCESS]),  # asked for by name
        _token(bo, scopes=["inherit"]),  # an API token with all of bo's permissions
    ):
        got = hub_scopes.get_scopes_for(token)
        assert ACCESS in got
        assert ACCESS in hub_scopes.get_scopes_for(bo)  # the same as JupyterHub gives the user
        assert "access:servers!server=ann/other" not in got


def test_a_token_gets_only_what_it_asks_for(hub: dict[str, Any], hub_scopes: Any) -> None:
    bo = hub["bo"]
    # A login to ann's other server, or a token for reading one's own name, is no way into "dash".
    assert ACCESS not in hub_scopes.get_scopes_for(_oauth_token(bo, hub["other"]))
    assert ACCESS not in hub_scopes.get_scopes_for(_token(bo, scopes=["read:users:name!user"]))
    assert group_share_scopes(_token(bo, scopes=["read:users:name!user"])) == frozenset()


def test_outsiders_services_and_the_jupyterhub_answer_otherwise_are_unchanged(
    hub: dict[str, Any], hub_scopes: Any
) -> None:
    db = hub["db"]
    assert ACCESS not in hub_scopes.get_scopes_for(_oauth_token(hub["cy"], hub["dash"]))
    service = orm.Service(name="japps")
    db.add(service)
    db.commit()
    service_token = orm.APIToken.find(db, orm.APIToken.new(service=service, scopes=["inherit"]))
    assert hub_scopes.get_scopes_for(service_token) == _jupyterhubs_own()(service_token)
    assert hub_scopes.get_scopes_for(hub["bo"]) == _jupyterhubs_own()(hub["bo"])


def test_leaving_the_group_or_revoking_the_share_takes_effect_at_the_next_request(
    hub: dict[str, Any], hub_scopes: Any
) -> None:
    db, bo, team = hub["db"], hub["bo"], hub["team"]
    token = _oauth_token(bo, hub["dash"])
    assert ACCESS in hub_scopes.get_scopes_for(token)
    team.users.remove(bo)
    db.commit()
    assert ACCESS not in hub_scopes.get_scopes_for(token)
    team.users.append(bo)
    db.commit()
    assert ACCESS in hub_scopes.get_scopes_for(token)
    orm.Share.revoke(db, hub["dash"], team)
    assert ACCESS not in hub_scopes.get_scopes_for(token)


def test_install_applies_it_once_and_the_setting_turns_it_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, unwrapped: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    original = unwrapped
    hubapps.install(Config(), group_share_tokens=False)
    assert scopes.get_scopes_for is original
    hubapps.install(Config())
    wrapped = scopes.get_scopes_for
    assert wrapped is not original
    assert wrapped.__wrapped__ is original
    hubapps.install(Config())
    assert scopes.get_scopes_for is wrapped
