"""Bad launch specs sent straight to the Hub REST API (no launcher service in between) are refused by
the spawner mixin: HTTP 400 naming the offending field, and no process is started."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psutil
import pytest
from cryptography.fernet import Fernet

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
    "secret-in-plain-text": (
        _spec(spec_version=2, secret_env={"API_KEY": "stolen"}),
        ["secret_env", "'API_KEY'", "not encrypted", "launcher"],
    ),
    "secret-not-made-by-this-hub": (
        _spec(spec_version=2, secret_env={"API_KEY": Fernet(Fernet.generate_key()).encrypt(b'"stolen"').decode()}),
        ["secret_env", "'API_KEY'", "not encrypted with this Hub's key"],
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


@pytest.mark.hub_facing
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
    if case.startswith("secret-in-plain"):  # nor kept in the Hub's copy of the options
        assert "stolen" not in str(_stored_options(hub, server_name))
    # Nothing runs: not in the Hub's view, not in the proxy's routes, no new process.
    assert hub.server_model(OWNER, server_name) is None
    routes = hub.api("GET", "proxy").json()
    assert not any(route.rstrip("/").endswith(f"/{OWNER}/{server_name}") for route in routes), routes
    assert _hub_processes(hub) <= before


@pytest.mark.hub_facing
def test_valid_spec_is_not_refused(hub: Hub, owner_token: str, create_app: Any) -> None:
    """The refusals above are about the spec, not the harness: the same spec without the fault starts."""
    model = create_app(OWNER, "refused-control", _spec(), token=owner_token)
    assert model["ready"]


def _stored_options(hub: Hub, server: str) -> Any:
    response = hub.api("GET", f"users/{OWNER}?include_stopped_servers=1")
    response.raise_for_status()
    return (response.json().get("servers") or {}).get(server, {}).get("user_options")


def test_plain_text_secret_is_refused_when_stored_for_later(hub: Hub, owner_token: str) -> None:
    """JupyterHub 6 PUT (create stopped) and PATCH (edit stopped) store options without starting
    anything; a secret in plain text is refused there too, and the Hub keeps no trace of it. (Not run
    on JupyterHub 5, which has neither: it stores options only at a start, refused as above.)"""
    plain = "stolen-" + Fernet.generate_key().decode()[:12]
    bad = _spec(spec_version=2, secret_env={"API_KEY": plain})
    path = f"users/{OWNER}/servers/refused-stored"
    try:
        response = hub.api("PUT", path, token=owner_token, json={"user_options": bad})
        assert response.status_code == 400, response.text
        message = response.json()["message"]
        assert "secret_env" in message
        assert "'API_KEY'" in message
        assert plain not in message
        assert plain not in str(_stored_options(hub, "refused-stored"))

        good = _spec(env={"COLOR": "red"})
        created = hub.api("PUT", path, token=owner_token, json={"user_options": good})
        if created.status_code == 409:  # the refused PUT left the (empty) server behind
            created = hub.api("PATCH", path, token=owner_token, json={"user_options": good})
        assert created.status_code in (200, 201), created.text
        assert _stored_options(hub, "refused-stored") == good
        response = hub.api("PATCH", path, token=owner_token, json={"user_options": bad})
        assert response.status_code == 400, response.text
        assert "secret_env" in response.json()["message"]
        assert _stored_options(hub, "refused-stored") == good
    finally:
        hub.stop_app(OWNER, "refused-stored", remove=True)
