"""Bad launch specs sent straight to the Hub REST API (no launcher service in between) are refused by
the spawner mixin: HTTP 400 naming the offending field, and no process is started."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psutil
import pytest

from hubapps.examples import example_spec
from tests.integration.conftest import EXAMPLES_FOLDER, Hub

pytestmark = pytest.mark.integration

OWNER = "refused-owner"


def _spec(**changes: Any) -> dict[str, Any]:
    spec = example_spec("command", EXAMPLES_FOLDER)
    spec.update(changes)
    return spec


REFUSED: dict[str, tuple[dict[str, Any], list[str]]] = {
    # case id: (user_options, words the error message must contain)
    "env-ld-preload": (_spec(env={"LD_PRELOAD": "/tmp/evil.so"}), ["env", "LD_PRELOAD"]),
    "env-hub-token": (_spec(env={"JUPYTERHUB_API_TOKEN": "stolen"}), ["env", "JUPYTERHUB_API_TOKEN"]),
    "env-path": (_spec(env={"PATH": "/tmp"}), ["env", "PATH"]),
    "unknown-framework": (_spec(framework="no-such-framework"), ["framework", "no-such-framework"]),
    "command-shell-syntax": (_spec(command=["python", "-c", "x; rm -rf ~"]), ["command", "';'"]),
    "args-command-substitution": (
        {**example_spec("streamlit", EXAMPLES_FOLDER), "args": ["$(id)"]},
        ["args", "'$('"],
    ),
    "filepath-parent": (
        {**example_spec("streamlit", EXAMPLES_FOLDER), "filepath": "../other-user/app.py"},
        ["filepath", ".."],
    ),
    "unknown-field": ({**_spec(), "shell": True}, ["shell"]),
    # JupyterLab apps run the admin's jupyterhub-singleuser: its security settings are not the spec's.
    "jupyterlab-xsrf-off": (
        {**example_spec("jupyterlab", EXAMPLES_FOLDER), "args": ["--ServerApp.disable_check_xsrf=True"]},
        ["args.0", "--ServerApp.default_url"],
    ),
    "jupyterlab-open-origin": (
        {**example_spec("jupyterlab", EXAMPLES_FOLDER), "args": ["--ServerApp.allow_origin=*"]},
        ["args.0"],
    ),
    # The variables and options a framework listens by are the launcher's, not the spec's.
    "env-gradio-server-name": (
        {**example_spec("gradio", EXAMPLES_FOLDER), "env": {"GRADIO_SERVER_NAME": "0.0.0.0"}},
        ["env.GRADIO_SERVER_NAME", "listens"],
    ),
    "env-streamlit-address": (
        {**example_spec("streamlit", EXAMPLES_FOLDER), "env": {"STREAMLIT_SERVER_ADDRESS": "0.0.0.0"}},
        ["env.STREAMLIT_SERVER_ADDRESS"],
    ),
    "args-panel-websocket-origin": (
        {**example_spec("panel", EXAMPLES_FOLDER), "args": ["--allow-websocket-origin=evil.example"]},
        ["args.0", "--allow-websocket-origin"],
    ),
}


@pytest.fixture
def owner_token(hub: Hub) -> str:
    return hub.token_for(OWNER)


@pytest.fixture
def server_name(hub: Hub, request: pytest.FixtureRequest) -> Iterator[str]:
    name = f"refused-{list(REFUSED).index(request.node.callspec.params['case'])}"
    yield name
    hub.stop_app(OWNER, name, remove=True)


def _hub_processes(hub: Hub) -> set[int]:
    assert hub.process is not None
    return {p.pid for p in psutil.Process(hub.process.pid).children(recursive=True)}


@pytest.mark.parametrize("case", list(REFUSED))
def test_refused_at_spawn(hub: Hub, owner_token: str, server_name: str, case: str) -> None:
    user_options, words = REFUSED[case]
    before = _hub_processes(hub)

    response = hub.start_app(OWNER, server_name, user_options, token=owner_token)

    assert response.status_code == 400, response.text
    message = response.json()["message"]
    for word in words:
        assert word in message, f"{word!r} not in the refusal {message!r}"
    assert "stolen" not in message  # values are not echoed back
    # Nothing runs: not in the Hub's view, not in the proxy's routes, no new process.
    assert hub.server_model(OWNER, server_name) is None
    routes = hub.api("GET", "proxy").json()
    assert not any(route.rstrip("/").endswith(f"/{OWNER}/{server_name}") for route in routes), routes
    assert _hub_processes(hub) <= before


def test_valid_spec_is_not_refused(hub: Hub, owner_token: str, create_app: Any) -> None:
    """The refusals above are about the spec, not the harness: the same spec without the fault starts."""
    model = create_app(OWNER, "refused-control", _spec(), token=owner_token)
    assert model["ready"]
