"""``hubapps deploy|list|stop|delete`` as a script runs them: a subprocess, a user token, the real Hub."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Callable

import pytest

from tests.integration.conftest import Hub

pytestmark = [pytest.mark.integration]


@pytest.mark.timeout(120)  # deploys, waits for and stops a real app through the CLI
def test_deploy_list_stop_delete(hub: Hub, hub_url: str, token_for: Callable[..., str]) -> None:
    user = f"cli-{secrets.token_hex(3)}"
    token = token_for(user)
    # The token comes from the environment, as a script would pass it (never on the command line).
    env = {**os.environ, "JUPYTERHUB_URL": hub_url, "JUPYTERHUB_API_TOKEN": token}

    def hubapps(*argv: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "hubapps.cli", *argv],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert token not in result.stdout + result.stderr
        assert result.returncode == 0, f"hubapps {argv[0]}: {result.stderr}"
        return result

    deployed = hubapps(
        "deploy", "--name", "CLI files", "--framework", "command", "--wait", "--json",
        "--", "{python}", "-m", "http.server", "--bind", "127.0.0.1", "{port}",
    )  # fmt: skip
    app = json.loads(deployed.stdout)
    server = app["name"]
    try:
        assert (app["owner"], app["state"]) == (user, "running")
        assert hub.server_model(user, server) is not None

        listed = json.loads(hubapps("list", "--json", "--mine").stdout)
        assert [(a["id"], a["framework"], a["state"]) for a in listed["data"]] == [
            (f"{user}/{server}", "command", "running")
        ]

        assert hubapps("stop", server, "--wait").stdout == f"{user}/{server}: stopped\n"
        assert hub.server_model(user, server) is None

        deleted = hubapps("delete", f"{user}/{server}", "--yes").stdout
        assert deleted in (f"deleted {user}/{server}\n", f"{user}/{server}: deleting (stopping)\n")
        assert json.loads(hubapps("list", "--json").stdout)["data"] == []
    finally:
        hub.stop_app(user, server, remove=True)

    missing = subprocess.run(
        [sys.executable, "-m", "hubapps.cli", "status", server],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert missing.returncode == 1
    assert missing.stderr.startswith("hubapps status: error: ")
    assert "(HTTP 404)" in missing.stderr
    assert token not in missing.stdout + missing.stderr
