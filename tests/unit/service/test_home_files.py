"""The owner's files, through their own running JupyterLab server: a missing file refused at deploy
(on ``filepath``), the form's suggestions, and whose token goes where.

The Hub is the fake of ``conftest.py``; the owner's Jupyter server is faked behind the service's app
transport (``create_app(app_transport=...)``), which records every request it received.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from hubapps.core.frameworks import FrameworkRegistry
from hubapps.service.app import create_app
from hubapps.service.settings import ServiceSettings
from tests.unit.service.conftest import FakeHub, Users, app_options
from tests.unit.service.headers import checked

API = "/services/japps/api"
PROXY = "http://proxy.test"
SPEC = {"framework": "streamlit", "display_name": "Sales", "filepath": "examples/streamlit_app.py"}
HOME: dict[str, list[dict[str, str]]] = {
    "": [
        {"name": "examples", "type": "directory"},
        {"name": "notes.txt", "type": "file"},
        {"name": "top.py", "type": "file"},
    ],
    "examples": [
        {"name": "streamlit_app.py", "type": "file"},
        {"name": "analysis.ipynb", "type": "notebook"},
        {"name": "data.csv", "type": "file"},
    ],
}


@dataclass
class FakeLab:
    """The owner's Jupyter server: the contents API of :data:`HOME`; every request is kept."""

    requests: list[httpx.Request] = field(default_factory=list)
    jupyter: bool = True

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.jupyter:
            return httpx.Response(404, html="<p>not here</p>")
        prefix = "/user/ann/api/contents/"
        path = request.url.path
        if not path.startswith(prefix):
            return httpx.Response(404, json={"message": "Not Found", "reason": None})
        folder = path[len(prefix) :].strip("/")
        if folder not in HOME:
            return httpx.Response(404, json={"message": f"No such file or directory: {folder}", "reason": None})
        return httpx.Response(200, json={"type": "directory", "name": folder, "content": HOME[folder]})


@pytest.fixture
def lab() -> FakeLab:
    return FakeLab()


@pytest.fixture
def client(
    fake_hub: FakeHub, settings: ServiceSettings, registry: FrameworkRegistry, lab: FakeLab, auth: Users
) -> Iterator[TestClient]:
    app = create_app(
        ServiceSettings.model_validate({**settings.model_dump(), "proxy_url": PROXY}),
        hub_transport=httpx.MockTransport(fake_hub.handler),
        app_transport=httpx.MockTransport(lab.handler),
        registry=registry,
    )
    with checked(TestClient(app, base_url="http://hub.test")) as c:
        yield c


@pytest.fixture
def running_lab(fake_hub: FakeHub, auth: Users) -> None:
    fake_hub.add_server("ann", "", None, running=True)  # ann's default server


def _post(client: TestClient, auth: Users, **changes: Any) -> httpx.Response:
    return client.post(f"{API}/apps", headers=auth("ann"), json={**SPEC, **changes})  # type: ignore[return-value]


def test_a_missing_file_is_refused_at_deploy_naming_the_field(
    client: TestClient, auth: Users, lab: FakeLab, running_lab: None
) -> None:
    r = _post(client, auth, filepath="examples/missing_app.py")
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "filepath"
    assert r.json()["detail"] == (
        "there is no file 'examples/missing_app.py' in your home (your JupyterLab server says so)"
    )
    r = _post(client, auth, filepath="nowhere/app.py")
    assert r.status_code == 422
    assert "no folder 'nowhere'" in r.json()["detail"]
    assert _post(client, auth).status_code == 201
    # Only ever ann's own server, with ann's own token.
    assert {(req.url.host, req.url.path.split("/api/")[0]) for req in lab.requests} == {("proxy.test", "/user/ann")}
    assert {req.headers["authorization"] for req in lab.requests} == {f"token {auth.tokens['ann']}"}


def test_an_edit_that_changes_the_file_is_checked_too(
    client: TestClient, fake_hub: FakeHub, auth: Users, lab: FakeLab, running_lab: None
) -> None:
    fake_hub.add_server("ann", "sales", app_options("Sales"))
    r = client.patch(f"{API}/apps/ann/sales", headers=auth("ann"), json={"filepath": "examples/gone.py"})
    assert r.status_code == 422
    assert r.json()["field"] == "filepath"
    r = client.patch(f"{API}/apps/ann/sales", headers=auth("ann"), json={"description": "no file change"})
    assert r.status_code == 200
    # An admin editing ann's app: the admin's token never goes to ann's server, nothing is checked.
    lab.requests.clear()
    r = client.patch(f"{API}/apps/ann/sales", headers=auth("root"), json={"filepath": "examples/gone.py"})
    assert r.status_code == 200, r.text
    assert lab.requests == []


@pytest.mark.parametrize("situation", ["not-running", "shared", "not-jupyter"])
def test_nothing_is_said_when_the_server_cannot_tell(
    client: TestClient, fake_hub: FakeHub, auth: Users, lab: FakeLab, situation: str
) -> None:
    fake_hub.add_server("ann", "", None, running=situation != "not-running")
    if situation == "shared":
        fake_hub.share("ann", "", user="bob")  # bob can run code there: ann's token must not go
    lab.jupyter = situation != "not-jupyter"
    assert _post(client, auth, filepath="examples/missing_app.py").status_code == 201
    if situation != "not-jupyter":
        assert lab.requests == []


def test_the_form_offers_the_owners_files_of_app_types(
    client: TestClient, fake_hub: FakeHub, auth: Users, lab: FakeLab, running_lab: None
) -> None:
    page = client.get("/services/japps/create-app", headers={**auth("ann"), "Sec-Fetch-Mode": "navigate"})
    assert page.status_code == 200, page.text
    assert 'list="hubapps-files"' in page.text
    for offered in ("top.py", "examples/streamlit_app.py", "examples/analysis.ipynb"):
        assert f'<option value="{offered}">' in page.text
    for not_offered in ("notes.txt", "examples/data.csv"):
        assert not_offered not in page.text
    fake_hub.share("ann", "", user="bob")
    page = client.get("/services/japps/create-app", headers={**auth("ann"), "Sec-Fetch-Mode": "navigate"})
    assert "hubapps-files" not in page.text
