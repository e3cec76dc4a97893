"""The admin's policy holds for servers started straight through the Hub REST API, and by default.

With ``blocked_frameworks = ["jupyterlab"]`` a named server without an app spec would be one more
JupyterLab by another door: the spawner mixin refuses it (HTTP 400, nothing runs), while the default
server and real apps still start.

This Hub also keeps ``install()``'s defaults for public apps and sharing (the shared test Hub turns
both on): it has no ``subdomain_host``, so both are off — at the launcher, at the Hub's start, and in
the Hub's roles (a user cannot share through the Hub API either).
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest

from hubapps.examples import example_spec
from tests.integration.conftest import EXAMPLES_FOLDER, Hub, own_hub

pytestmark = [pytest.mark.integration]

OWNER = "policy-owner"
CONFIG = """\
c = get_config()  # noqa: F821
import os  # noqa: E402
os.environ["HUBAPPS_TEST_ORIGIN_DEFAULTS"] = "1"  # install()'s defaults: a Hub without subdomain_host
load_subconfig({main!r})  # noqa: F821
c.HubApps.blocked_frameworks = ["jupyterlab"]
"""


@pytest.fixture(scope="module")
def policy_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    with own_hub(tmp_path_factory.mktemp("policy-hub"), CONFIG) as running:
        yield running


@pytest.fixture(scope="module")
def owner_token(policy_hub: Hub) -> str:
    return policy_hub.token_for(OWNER)


def _start(hub: Hub, server: str, body: dict[str, object] | None, token: str) -> tuple[int, str]:
    path = f"users/{OWNER}/servers/{quote(server, safe='')}" if server else f"users/{OWNER}/server"
    response = hub.api("POST", path, token=token, json=body, timeout=60.0)
    return response.status_code, response.text


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "body",
    [None, {}, {"user_options": {}}, {"user_options": {"profile": "anything"}}],
    ids=["no-body", "empty-body", "empty-options", "foreign-options"],
)
def test_plain_named_servers_are_refused(policy_hub: Hub, owner_token: str, body: dict[str, object] | None) -> None:
    status, text = _start(policy_hub, "plain-lab", body, owner_token)
    assert status == 400, text
    assert "jupyterlab" in text
    assert policy_hub.server_model(OWNER, "plain-lab") is None
    policy_hub.stop_app(OWNER, "plain-lab", remove=True)


@pytest.mark.timeout(120)
def test_jupyterlab_apps_are_refused(policy_hub: Hub, owner_token: str) -> None:
    status, text = _start(
        policy_hub, "lab-app", {"user_options": example_spec("jupyterlab", EXAMPLES_FOLDER)}, owner_token
    )
    assert status == 400, text
    assert "jupyterlab" in text
    policy_hub.stop_app(OWNER, "lab-app", remove=True)


@pytest.mark.timeout(180)
def test_default_server_and_apps_still_start(policy_hub: Hub, owner_token: str) -> None:
    status, text = _start(policy_hub, "", None, owner_token)
    assert status in (201, 202), text
    assert policy_hub.wait_ready(OWNER, "")["ready"]
    policy_hub.stop_app(OWNER, "")
    model = policy_hub.create_app(OWNER, "allowed-app", example_spec("command", EXAMPLES_FOLDER), token=owner_token)
    assert model["ready"]
    policy_hub.stop_app(OWNER, "allowed-app", remove=True)


@pytest.mark.timeout(120)
def test_public_apps_and_sharing_are_off_without_subdomains(policy_hub: Hub, owner_token: str) -> None:
    svc = f"{policy_hub.url}services/japps/api"
    auth = {"Authorization": f"token {owner_token}"}
    with httpx.Client(timeout=30) as client:
        options = {**example_spec("command", EXAMPLES_FOLDER), "display_name": "Pub"}
        spec = {k: v for k, v in options.items() if k not in ("spec_version", "jhub_app")}
        r = client.post(f"{svc}/apps", headers=auth, json={**spec, "public": True})
        assert r.status_code == 422, r.text
        assert r.json()["field"] == "public"
        r = client.post(f"{svc}/apps", headers=auth, json=spec)
        assert r.status_code == 201, r.text
        app = r.json()["name"]
        for path, body in (("shares", {"users": ["admin"]}), ("share-links", {"expires_in": 600})):
            r = client.post(f"{svc}/apps/{OWNER}/{app}/{path}", headers=auth, json=body)
            assert r.status_code == 403, r.text
            assert "allow_sharing" in r.json()["detail"]
        page = client.get(f"{policy_hub.url}services/japps/ui/apps/{OWNER}/{app}/edit", headers=auth)
    # Straight through the Hub: public=true is refused at start, and the user holds no sharing scope.
    status, text = _start(policy_hub, "pub-direct", {"user_options": {**options, "public": True}}, owner_token)
    assert status == 400, text
    assert "public" in text
    r = policy_hub.api("POST", f"shares/{OWNER}/{app}", token=owner_token, json={"user": "admin"})
    assert r.status_code == 403, r.text
    assert policy_hub.api("GET", f"shares/{OWNER}/{app}").json()["items"] == []
    assert page.status_code == 200, page.text
    assert "Sharing is turned off on this Hub" in page.text
    assert 'name="share_users"' not in page.text
    assert 'name="public"' not in page.text
    policy_hub.stop_app(OWNER, "pub-direct", remove=True)
    policy_hub.stop_app(OWNER, app, remove=True)
