"""A framework whose runtime is missing is listed as unavailable with the reason, and the deploy form shows it
greyed out with that reason instead of offering it (the service's search pointed at a folder without R)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from hubapps.core.frameworks import FrameworkRegistry
from hubapps.core.runtimes import RuntimeSearch
from hubapps.service.app import create_app
from hubapps.service.settings import ServiceSettings
from tests.unit.service.conftest import FakeHub, Users
from tests.unit.service.headers import checked

NO_R = "needs the program Rscript, which is not installed here"


@pytest.fixture
def without_r(
    tmp_path: Path, fake_hub: FakeHub, settings: ServiceSettings, registry: FrameworkRegistry
) -> Iterator[TestClient]:
    """The service, looking for programs only in an empty folder (its Python finds the Python frameworks)."""
    (tmp_path / "bin").mkdir()
    app = create_app(
        settings,
        hub_transport=httpx.MockTransport(fake_hub.handler),
        registry=registry,
        runtime_search=RuntimeSearch(path=(str(tmp_path / "bin"),)),
    )
    with checked(TestClient(app, base_url="http://hub.test"), settings.prefix) as client:
        yield client


def test_the_api_lists_the_framework_as_unavailable_with_the_reason(without_r: TestClient, auth: Users) -> None:
    listed = {fw["name"]: fw for fw in without_r.get("/services/japps/api/frameworks", headers=auth("ann")).json()}
    assert listed["rshiny"]["available"] is False
    assert listed["rshiny"]["unavailable_reason"] == NO_R
    assert listed["shiny"]["available"] is True
    assert listed["shiny"]["unavailable_reason"] is None
    assert listed["shiny"]["help"].startswith("A .py file")
    assert listed["shiny"]["logo"] == "/services/japps/static/logos/shiny.svg"


def test_upstreams_framework_list_leaves_it_out(without_r: TestClient, auth: Users) -> None:
    names = {fw["name"] for fw in without_r.get("/services/japps/frameworks/", headers=auth("ann")).json()}
    assert "rshiny" not in names  # upstream's shape cannot say "unavailable": not offered at all
    assert {"shiny", "plotlydash", "custom"} <= names


def test_the_form_shows_it_disabled_with_the_reason(without_r: TestClient, auth: Users) -> None:
    page = without_r.get("/services/japps/create-app", headers=auth("ann")).text
    option = re.search(r'<option value="rshiny"[^>]*>[^<]*</option>', page)
    assert option is not None
    assert " disabled" in option.group(0)
    assert html.unescape(option.group(0)).endswith(f"R Shiny (not available: {NO_R})</option>")
    shiny = re.search(r'<option value="shiny"[^>]*>', page)
    assert shiny is not None
    assert "disabled" not in shiny.group(0)


def test_a_file_never_picks_an_unavailable_framework(without_r: TestClient, auth: Users) -> None:
    page = without_r.get("/services/japps/create-app", params={"filepath": "app.R"}, headers=auth("ann")).text
    assert not re.search(r'<option value="rshiny"[^>]* selected', page)


def test_every_framework_has_a_logo_served(client: TestClient, auth: Users) -> None:
    for fw in client.get("/services/japps/api/frameworks", headers=auth("ann")).json():
        logo = client.get(fw["logo"])
        assert logo.status_code == 200, fw["name"]
        assert logo.text.startswith("<svg"), fw["name"]


def test_the_form_shows_the_chosen_framework_help_and_logo(make_client: Callable[..., TestClient], auth: Users) -> None:
    page = make_client().get("/services/japps/create-app", params={"framework": "marimo"}, headers=auth("ann")).text
    help_block = re.search(r'<div class="form-text[^"]*" id="framework-help".*?</div>', page, re.S)
    assert help_block is not None
    assert "static/logos/marimo.svg" in help_block.group(0)
    assert "the code is neither shown nor editable" in help_block.group(0)
