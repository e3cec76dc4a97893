"""App revisions on the real Hub: create and edit record revisions, which the API and ``hubapps
revisions`` list and compare (secrets never shown); a rollback, through the API or ``hubapps rollback``,
really sets the Hub's ``user_options`` back — sealed secrets included, which the spawner still opens."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.conftest import Hub, run_cli

pytestmark = [pytest.mark.integration]

RESOURCES = Path(__file__).resolve().parents[1] / "resources"


def h(token: str) -> dict[str, str]:
    return {"Authorization": f"token {token}"}


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as c:
        yield c


def _options(hub: Hub, owner: str, server: str) -> dict[str, Any]:
    servers = hub.api("GET", f"users/{owner}", params={"include_stopped_servers": "1"}).json()["servers"]
    options: dict[str, Any] = servers[server]["user_options"]
    return options


def test_list_compare_and_roll_back_through_the_api_and_the_cli(hub: Hub, client: httpx.Client) -> None:
    svc = hub.url + "services/japps/"
    owner = f"rev-{secrets.token_hex(3)}"
    token, stranger = hub.token_for(owner), hub.token_for(f"rev-other-{secrets.token_hex(3)}")
    plain = "sk-rev-" + secrets.token_hex(12)
    spec = {
        "framework": "streamlit",
        "display_name": "Revised",
        "filepath": "examples/streamlit_app.py",
        "description": "one",
        "secret_env": {"API_KEY": plain},
    }
    created = client.post(svc + "api/apps", headers=h(token), json=spec)
    assert created.status_code == 201, created.text
    server = created.json()["name"]
    path = f"{svc}api/apps/{owner}/{server}"
    try:
        sealed = _options(hub, owner, server)["secret_env"]["API_KEY"]
        edit = {"description": "two", "env": {"COLOR": "red"}, "secret_env": {"API_KEY": "sk-second"}}
        assert client.patch(path, headers=h(token), json=edit).status_code == 200
        deployed = run_cli(hub, token, "deploy", "--name", "Revised", "--framework", "streamlit", "--file",
                           "examples/streamlit_app.py", "--description", "three", "--update", "--no-start")  # fmt: skip
        assert deployed.returncode == 0, deployed.stderr

        listed = run_cli(hub, token, "revisions", server, "--json")
        assert listed.returncode == 0, listed.stderr
        revisions = json.loads(listed.stdout)["data"]
        assert [(r["number"], r["note"], r["actor"]) for r in revisions] == [
            (3, "edited", owner),
            (2, "edited", owner),
            (1, "created", owner),
        ]
        hub_options = _options(hub, owner, server)
        assert revisions[0]["spec"] == {**hub_options, "secret_env": dict.fromkeys(hub_options["secret_env"])}

        compared = run_cli(hub, token, "revisions", server, "--compare", "1", "2", "--json")
        assert compared.returncode == 0, compared.stderr
        assert [(c["field"], c["change"], c["before"], c["after"]) for c in json.loads(compared.stdout)["changes"]] == [
            ("description", "changed", "one", "two"),
            ("env.COLOR", "added", None, "red"),
            ("secret_env.API_KEY", "changed", None, None),
        ]
        table = run_cli(hub, token, "revisions", server, "--compare", "1", "2")
        for output in (listed.stdout, compared.stdout, table.stdout):
            for secret in (plain, "sk-second", sealed, hub_options["secret_env"]["API_KEY"]):
                assert secret not in output

        # Nobody else sees the history or rolls it back; an admin does.
        assert client.get(path + "/revisions", headers=h(stranger)).status_code == 404
        refused = run_cli(hub, stranger, "rollback", f"{owner}/{server}", "1")
        assert (refused.returncode, "(HTTP 404)" in refused.stderr) == (1, True)
        admin = run_cli(hub, hub.token_for("admin"), "revisions", f"{owner}/{server}", "--json")
        assert [r["number"] for r in json.loads(admin.stdout)["data"]] == [3, 2, 1]

        # Rollback through the API: the Hub's spec is revision 1's again, its sealed secret included.
        rolled = client.post(path + "/revisions/1/rollback", headers=h(token), json={"restart": False})
        assert rolled.status_code == 200, rolled.text
        options = _options(hub, owner, server)
        assert (options["description"], options["env"], options["secret_env"]) == ("one", {}, {"API_KEY": sealed})

        # And through the CLI.
        cli = run_cli(hub, token, "rollback", server, "2")
        assert cli.returncode == 0, cli.stderr
        assert cli.stdout == f"{owner}/{server}: rolled back to revision 2 (stopped)\n"
        options = _options(hub, owner, server)
        assert (options["description"], options["env"]) == ("two", {"COLOR": "red"})
        notes = [r["note"] for r in client.get(path + "/revisions", headers=h(token)).json()["data"]]
        assert notes == ["rolled back to 2", "rolled back to 1", "edited", "edited", "created"]

        # Deleted, then made again under the same name: a new app, with a history of its own.
        assert run_cli(hub, token, "delete", server, "--yes").returncode == 0
        again = client.post(svc + "api/apps", headers=h(token), json={**spec, "secret_env": {}})
        assert (again.status_code, again.json()["name"]) == (201, server)
        fresh = client.get(path + "/revisions", headers=h(token)).json()["data"]
        assert [(r["number"], r["note"], r["spec"]["description"]) for r in fresh] == [(1, "created", "one")]
    finally:
        hub.stop_app(owner, server, remove=True)


def _env_when(client: httpx.Client, hub: Hub, owner: str, server: str, token: str, color: str) -> dict[str, str]:
    """The running app's environment, once it is the run whose COLOR is ``color`` (a restart is on)."""
    deadline = time.monotonic() + 45
    seen: object = None
    while time.monotonic() < deadline:
        response = client.get(hub.app_url(owner, server), headers=h(token))
        if response.status_code == 200 and response.headers.get("content-type", "").startswith("application/json"):
            env: dict[str, str] = response.json()["env"]
            if env.get("COLOR") == color:
                return env
            seen = env.get("COLOR")
        time.sleep(0.5)
    raise AssertionError(f"{owner}/{server} never ran with COLOR={color} (last seen: {seen!r})\n{hub.log_tail()}")


@pytest.mark.timeout(150)  # starts a real app, restarts it twice
def test_rolling_back_a_running_app_restarts_it_with_the_old_spec_and_secret(hub: Hub, client: httpx.Client) -> None:
    svc = hub.url + "services/japps/"
    owner = f"rev-run-{secrets.token_hex(3)}"
    token = hub.token_for(owner)
    plain = "sk-first-" + secrets.token_hex(8)
    spec = {
        "framework": "command",
        "display_name": "Env revisions",
        "command": ["{python}", str(RESOURCES / "env_dump_app.py"), "{port}"],
        "env": {"COLOR": "red"},
        "secret_env": {"DUMP_API_KEY": plain},
        "start": True,
    }
    created = client.post(svc + "api/apps", headers=h(token), json=spec)
    assert created.status_code == 201, created.text
    server = created.json()["name"]
    path = f"{svc}api/apps/{owner}/{server}"
    try:
        assert _env_when(client, hub, owner, server, token, "red")["DUMP_API_KEY"] == plain
        edit = {"env": {"COLOR": "blue"}, "secret_env": {"DUMP_API_KEY": "sk-second"}, "restart": True}
        assert client.patch(path, headers=h(token), json=edit).status_code == 202
        assert _env_when(client, hub, owner, server, token, "blue")["DUMP_API_KEY"] == "sk-second"

        refused = client.post(path + "/revisions/1/rollback", headers=h(token), json={"restart": False})
        assert refused.status_code == 409
        assert "restart=true" in refused.json()["detail"]
        accepted = client.post(path + "/revisions/1/rollback", headers=h(token), json={"restart": True})
        assert accepted.status_code == 202, accepted.text
        # The old run's spec and its sealed secret, opened by the spawner as at the first start.
        assert _env_when(client, hub, owner, server, token, "red")["DUMP_API_KEY"] == plain
        latest = client.get(path + "/revisions", headers=h(token)).json()["data"][0]
        assert (latest["number"], latest["note"], latest["changed"]) == (3, "rolled back to 1", ["env", "secret_env"])
    finally:
        hub.stop_app(owner, server, remove=True)
