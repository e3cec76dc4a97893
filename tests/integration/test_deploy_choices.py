"""Deploying and editing as people do it, against the real Hub: a name that exists is asked about
(API, form, CLI), an edit saved with a new share shows its new description to the viewer at once, and
an anonymous visitor of a stopped public app is told what it is instead of being sent to log in.

Apps here are created stopped (JupyterHub 6 ``PUT``): no app process is started.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from tests.integration.conftest import Hub, login_to_service

pytestmark = [pytest.mark.integration]

SPEC = {"framework": "streamlit", "display_name": "Sales explorer", "filepath": "examples/streamlit_app.py"}


@pytest.fixture(scope="module")
def svc(hub: Hub) -> str:
    return hub.url + "services/japps/"


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as c:
        yield c


def h(token: str) -> dict[str, str]:
    return {"Authorization": f"token {token}"}


def _servers(hub: Hub, user: str) -> set[str]:
    model = hub.api("GET", f"users/{user}", params={"include_stopped_servers": "1"}).json()
    return {name for name in model.get("servers") or {} if name}


def test_a_name_that_exists_is_asked_about_in_the_api(hub: Hub, svc: str, client: httpx.Client) -> None:
    owner = f"dup-{secrets.token_hex(3)}"
    token = hub.token_for(owner)
    r = client.post(svc + "api/apps", headers=h(token), json=SPEC)
    assert r.status_code == 201, r.text
    server = r.json()["name"]
    assert server == "sales-explorer"

    r = client.post(svc + "api/apps", headers=h(token), json={**SPEC, "description": "v2"})
    assert r.status_code == 409, r.text
    assert r.json() == {
        "detail": r.json()["detail"],
        "field": "display_name",
        "code": "app_exists",
        "existing": f"{owner}/sales-explorer",
    }
    assert "Sales explorer" in r.json()["detail"]
    assert _servers(hub, owner) == {"sales-explorer"}  # no silent sales-explorer-<hex>

    r = client.post(svc + "api/apps", headers=h(token), json={**SPEC, "description": "v2", "on_conflict": "update"})
    assert r.status_code == 200, r.text
    assert r.json()["id"] == f"{owner}/sales-explorer"
    assert client.get(svc + f"api/apps/{owner}/sales-explorer", headers=h(token)).json()["description"] == "v2"
    assert _servers(hub, owner) == {"sales-explorer"}

    r = client.post(svc + "api/apps", headers=h(token), json={**SPEC, "on_conflict": "new"})
    assert r.status_code == 201, r.text
    other = r.json()["name"]
    assert other.startswith("sales-explorer-")
    assert _servers(hub, owner) == {"sales-explorer", other}


def test_cli_deploy_asks_or_takes_update_and_new(hub: Hub, hub_url: str) -> None:
    owner = f"dupcli-{secrets.token_hex(3)}"
    token = hub.token_for(owner)
    env = {**os.environ, "JUPYTERHUB_URL": hub_url, "JUPYTERHUB_API_TOKEN": token}

    def hubapps(*argv: str) -> subprocess.CompletedProcess[str]:
        base = ["deploy", "--name", "CLI twice", "--framework", "streamlit", "--file", "examples/streamlit_app.py"]
        return subprocess.run(
            [sys.executable, "-m", "hubapps.cli", *base, "--no-start", *argv],
            env=env,
            stdin=subprocess.DEVNULL,  # not a terminal: nothing to ask
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    first = hubapps("--description", "one")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith(f"created {owner}/cli-twice (stopped): ")

    again = hubapps("--description", "two")
    assert again.returncode == 1
    assert again.stderr == (
        f"hubapps deploy: error: --name: you already have an app called 'CLI twice' ({owner}/cli-twice):"
        " pass --update to deploy over it, or --new to create another one with a distinct name (HTTP 409)\n"
    )
    assert _servers(hub, owner) == {"cli-twice"}

    updated = hubapps("--description", "three", "--update")
    assert updated.returncode == 0, updated.stderr
    assert updated.stdout.startswith(f"updated {owner}/cli-twice (stopped): ")
    model = hub.api("GET", f"users/{owner}", params={"include_stopped_servers": "1"}).json()["servers"]
    assert model["cli-twice"]["user_options"]["description"] == "three"

    new = hubapps("--new", "--json")
    assert new.returncode == 0, new.stderr
    made = json.loads(new.stdout)["name"]
    assert made.startswith("cli-twice-")
    assert _servers(hub, owner) == {"cli-twice", made}
    assert hubapps("--update", "--new").returncode == 2  # one or the other


def test_the_form_asks_and_an_edit_with_a_new_share_shows_its_description(
    hub: Hub, svc: str, client: httpx.Client, login: Callable[..., httpx.Client]
) -> None:
    suffix = secrets.token_hex(3)
    owner, viewer = f"form-{suffix}", f"formview-{suffix}"
    viewer_token = hub.token_for(viewer)
    browser = login(owner)
    xsrf = login_to_service(browser, svc)
    form = {
        "_xsrf": xsrf,
        "display_name": "Form twice",
        "description": "first words",
        "framework": "streamlit",
        "source": "file",
        "filepath": "examples/streamlit_app.py",
        "env_rows": "0",
    }
    r = browser.post(svc + "create-app", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    server = "form-twice"
    # The same name again: the form comes back asking, with what was typed.
    r = browser.post(svc + "create-app", data={**form, "description": "typed again"}, follow_redirects=False)
    assert r.status_code == 422
    assert 'id="on-conflict"' in r.text
    assert "typed again" in r.text
    assert _servers(hub, owner) == {server}

    # The edit form: a new description saved together with a new share.
    r = browser.post(
        svc + f"ui/apps/{owner}/{server}/edit",
        data={**form, "description": "second words", "share_users": viewer},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:500]
    assert "notice=share-failed" not in r.headers["location"]
    shared = client.get(svc + "api/apps", params={"access": "shared"}, headers=h(viewer_token)).json()["data"]
    assert [(a["id"], a["description"]) for a in shared] == [(f"{owner}/{server}", "second words")]


def test_an_anonymous_visitor_of_a_stopped_public_app_is_told_what_it_is(
    hub: Hub, hub_url: str, svc: str, client: httpx.Client
) -> None:
    owner = f"pub-{secrets.token_hex(3)}"
    token = hub.token_for(owner)
    for body in (
        {**SPEC, "display_name": "Open <data> & co", "public": True},
        {**SPEC, "display_name": "Closed data"},
    ):
        assert client.post(svc + "api/apps", headers=h(token), json=body).status_code == 201
    with httpx.Client(timeout=30, follow_redirects=True) as anonymous:
        r = anonymous.get(hub_url + f"user/{owner}/open-data-co/", headers={"Accept": "text/html"})
        assert r.status_code == 503, (r.url, r.text[:300])
        assert "/login" not in urlsplit(str(r.url)).path
        assert "“Open &lt;data&gt; &amp; co” is not running" in r.text
        assert "This is a public app" in r.text
        assert f"only its owner, <strong>{owner}</strong>, can start it" in r.text
        assert 'id="start"' not in r.text  # nothing to press for a visitor
        # A private app and one that does not exist look the same: the Hub's login.
        answers = []
        for path in (f"user/{owner}/closed-data/", f"user/{owner}/no-such-app/", "user/nobody-here/app/"):
            r = anonymous.get(hub_url + path, headers={"Accept": "text/html"})
            answers.append((r.status_code, urlsplit(str(r.url)).path))
        assert answers == [(200, "/hub/login")] * 3


@pytest.mark.timeout(180)  # starts the owner's own JupyterLab server
def test_a_missing_file_is_refused_at_deploy_when_the_owners_server_can_tell(
    hub: Hub, svc: str, client: httpx.Client, login: Callable[..., httpx.Client]
) -> None:
    owner = f"files-{secrets.token_hex(3)}"
    token = hub.token_for(owner)
    missing = {**SPEC, "display_name": "Missing file", "filepath": "examples/no_such_app.py"}
    # No server of the owner's running: the launcher cannot tell, so it says nothing (the start will).
    r = client.post(svc + "api/apps", headers=h(token), json=missing)
    assert r.status_code == 201, r.text
    response = hub.api("POST", f"users/{owner}/server", timeout=60.0)
    assert response.status_code in (201, 202), response.text
    try:
        hub.wait_ready(owner, "")
        r = client.post(svc + "api/apps", headers=h(token), json={**missing, "display_name": "Missing again"})
        assert r.status_code == 422, r.text
        assert r.json()["field"] == "filepath"
        assert "no file 'examples/no_such_app.py' in your home" in r.json()["detail"]
        assert client.post(svc + "api/apps", headers=h(token), json=SPEC).status_code == 201
        # The form (a logged-in browser, the launcher's OAuth token) offers the owner's files.
        browser = login(owner)
        login_to_service(browser, svc)
        page = browser.get(svc + "create-app", headers={"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"})
        assert page.status_code == 200
        assert '<option value="examples/streamlit_app.py">' in page.text
        r = browser.post(
            svc + "create-app",
            data={
                "_xsrf": browser.cookies.get("_xsrf", path="/services/japps/") or "",
                "display_name": "Form missing",
                "framework": "streamlit",
                "source": "file",
                "filepath": "examples/typo_app.py",
            },
        )
        assert r.status_code == 422
        assert "no file &#39;examples/typo_app.py&#39; in your home" in r.text
    finally:
        hub.stop_app(owner, "")
