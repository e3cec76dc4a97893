"""A callable ``conda_envs`` (upstream's ``c.JAppsConfig.conda_envs``) runs in the real Hub, for the user who
asks, with that user's ``auth_state``: each user is offered their own names and may save only those.

This module's Hub loads the shared configuration, then (after ``install(c)``, as Nebari's files do) logs
users in with an authenticator that keeps the conda-store namespaces they may use in ``auth_state``,
and sets ``c.JAppsConfig.conda_envs`` to a function of the user model that reads them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import Hub, own_hub

pytestmark = [pytest.mark.integration, pytest.mark.hub_facing]

CONFIG = """\
from jupyterhub.auth import DummyAuthenticator

c = get_config()  # noqa: F821
load_subconfig({main!r})  # noqa: F821


class NamespacesAuthenticator(DummyAuthenticator):
    async def authenticate(self, handler, data):
        name = await super().authenticate(handler, data)
        if name is None:
            return None
        return {{"name": name, "auth_state": {{"namespaces": [name, "shared"]}}}}


def conda_envs(user):
    state = user["auth_state"] or {{}}
    return [f"{{ns}}-env" for ns in state.get("namespaces", [])]


c.JupyterHub.authenticator_class = NamespacesAuthenticator
c.Authenticator.enable_auth_state = True
c.JAppsConfig.conda_envs = conda_envs
"""
SVC = "services/japps/"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    root: Path = tmp_path_factory.mktemp("conda-envs-hub")
    with own_hub(root, CONFIG) as running:
        yield running


def _environments(hub: Hub, user: str, route: str = "api/environments") -> list[str]:
    hub.login(user).close()  # the login stores the user's auth_state
    response = httpx.get(hub.url + SVC + route, headers={"Authorization": f"token {hub.token_for(user)}"}, timeout=30)
    assert response.status_code == 200, response.text
    names: list[str] = response.json()
    return names


def test_each_user_is_offered_the_names_their_auth_state_allows(hub: Hub) -> None:
    assert _environments(hub, "ann") == ["ann-env", "shared-env"]
    assert _environments(hub, "bob") == ["bob-env", "shared-env"]
    # Upstream's route answers the same per-user names (the JupyterLab extension and scripts use it).
    assert _environments(hub, "bob", "conda-environments/") == ["bob-env", "shared-env"]


def test_a_user_may_save_only_their_own_names(hub: Hub) -> None:
    token = hub.token_for("ann")
    hub.login("ann").close()
    app = {"display_name": "Other's env", "framework": "command", "command": ["{python}", "-V"]}
    refused = httpx.post(
        hub.url + SVC + "api/apps",
        json={**app, "python_env": "bob-env"},
        headers={"Authorization": f"token {token}"},
        timeout=30,
    )
    assert refused.status_code == 422, refused.text
    assert "bob-env" in refused.text
    assert "python_env" in refused.text


def test_the_hub_answers_users_only(hub: Hub) -> None:
    """The Hub's handler runs the admin's function for the token's own user; a service has none."""
    response = hub.api("GET", "hubapps/conda-environments")
    assert response.status_code == 403, response.text
