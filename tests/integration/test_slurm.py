"""Apps as jobs of a real Slurm cluster, through batchspawner's SlurmSpawner wrapped by the hubapps mixin.

The module starts a one-node cluster on loopback (``munged``, ``slurmctld``, ``slurmd`` from Debian's
``slurm-wlm`` and ``munge``; :mod:`tests.integration.slurm_cluster`) and a Hub of its own configured as
``docs/hpc.md`` says (``tests/integration/slurm_jupyterhub_config.py``). Nothing is faked: ``sbatch``,
``squeue`` and ``scancel`` are Slurm's own, the job runs ``hubapps-proxy``, which tells the Hub its port
through batchspawner's API, and the Hub reaches the app on the node's address.

A user creates and starts an app through the launcher; the test sees its job in ``squeue``, opens the app
through the Hub (the Hub's proxy routes to the port the job's proxy reported), reads its output through
the launcher and live through the proxy's event stream, and stops it: ``scancel``, the job leaves the
queue, the app shows stopped. An app that crashes ends its job and the launcher says why; a job cancelled
behind the Hub's back is seen as stopped.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.integration.conftest import Hub, own_hub
from tests.integration.slurm_cluster import SlurmCluster

pytestmark = [pytest.mark.integration]

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
SLURM_CONFIG = Path(__file__).with_name("slurm_jupyterhub_config.py")
CONFIG = (
    "c = get_config()  # noqa: F821\n"
    "load_subconfig({main!r})  # noqa: F821\n"
    f"load_subconfig({str(SLURM_CONFIG)!r})  # noqa: F821\n"
)
#: Seconds within which a job starts, is reported, or leaves the queue.
WITHIN = 45.0


@pytest.fixture(scope="module")
def slurm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlurmCluster]:
    cluster = SlurmCluster(tmp_path_factory.mktemp("slurm"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def slurm_hub(slurm: SlurmCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in slurm.env().items():
            patch.setenv(name, value)  # the Hub's environment: batchspawner runs squeue and scancel in it
        with own_hub(tmp_path_factory.mktemp("slurm-hub"), CONFIG) as running:
            yield running


def _until(what: str, get: Callable[[], Any], done: Callable[[Any], bool], timeout: float = WITHIN) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = get()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout:g} s; last seen: {value}")
        time.sleep(0.3)


def _api(hub: Hub, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=f"{hub.url}services/japps/api/", headers={"Authorization": f"token {token}"}, timeout=30
    )


def _queue(slurm: SlurmCluster) -> dict[str, str]:
    """``squeue``: each job's id → ``"<state> <name> <batch host>"``."""
    result = slurm.run("squeue", "-h", "-o", "%i %T %j %B")
    assert result.returncode == 0, result.stderr
    return {line.split()[0]: line.split(" ", 1)[1] for line in result.stdout.splitlines() if line.strip()}


def _job_processes(job: str) -> list[psutil.Process]:
    """The processes Slurm started for a job (they have its id in their environment)."""
    found = []
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if process.environ().get("SLURM_JOB_ID") == job:
                found.append(process)
    return found


def _job_id(hub: Hub, owner: str, server: str) -> str:
    """The Slurm job of a running server, from the server's state in the Hub (batchspawner keeps it there)."""
    response = hub.api("GET", f"users/{owner}")
    response.raise_for_status()
    job_id = response.json()["servers"][server]["state"]["job_id"]
    assert isinstance(job_id, str)
    assert job_id.isdigit(), job_id
    return job_id


def _start(api: httpx.Client, name: str, *argv: str) -> None:
    body = {"framework": "command", "display_name": name, "command": ["{python}", *argv], "start": True}
    created = api.post("apps", json=body)
    assert created.status_code in (201, 202), created.text


@pytest.mark.timeout(150)
def test_an_app_runs_as_a_slurm_job_and_stops_with_scancel(slurm_hub: Hub, slurm: SlurmCluster) -> None:
    hub = slurm_hub
    owner = f"hpc-{secrets.token_hex(3)}"
    token = hub.token_for(owner)
    # Arguments the job script's shell would split or expand if the command were not quoted for it.
    awkward = ["two words", "it's $HOME *", '"quoted" \\ # end']
    with _api(hub, token) as api:
        _start(api, "On Slurm", str(RESOURCES / "env_dump_app.py"), "{port}", *awkward)
        _until("the app to run", lambda: api.get(f"apps/{owner}/on-slurm").json()["state"], lambda s: s == "running")

        job = _job_id(hub, owner, "on-slurm")
        assert _queue(slurm)[job] == f"RUNNING spawner-jupyterhub {slurm.node}"

        # Through the Hub's proxy to the job: the app runs inside the job, with its arguments intact,
        # and without the server's Hub token.
        seen = httpx.get(hub.app_url(owner, "on-slurm"), headers={"Authorization": f"token {token}"}, timeout=30)
        assert seen.status_code == 200, seen.text[:300]
        inside = seen.json()
        assert inside["env"]["SLURM_JOB_ID"] == job
        assert inside["argv"][2:] == awkward
        assert "JUPYTERHUB_API_TOKEN" not in inside["env"]
        # The job script exec'd the proxy: no shell or srun of the owner's keeps the token in its
        # environment (which the app could read); the proxy itself is undumpable (test_proxy_hardening).
        holders = [p for p in _job_processes(job) if "JUPYTERHUB_API_TOKEN" in p.environ()]
        assert [p.cmdline()[1:4] for p in holders] == [["-I", "-m", "hubapps.proxy"]]
        parent = holders[0].parent()
        assert parent is not None
        assert parent.name().startswith("slurmstepd")

        # The Hub routes to the port the job's proxy listens on and told it (batchspawner started it on
        # port 0: a free one).
        routes = hub.api("GET", "proxy").json()
        target = routes[f"/user/{owner}/on-slurm/"]["target"]
        host, _, port = target.removeprefix("http://").partition(":")
        assert host == slurm.node
        assert int(port) > 0
        job_output = hub.home(owner) / f"jupyterhub_slurmspawner_{job}.log"
        assert f"told the Hub the port {port}" in job_output.read_text()

        # The app's output: through the launcher, and live from the proxy's event stream via the Hub.
        logs = api.get(f"apps/{owner}/on-slurm/logs")
        assert logs.status_code == 200, logs.text
        assert any("env dump app listening on" in line for line in logs.json()["lines"])
        with httpx.stream(
            "GET",
            hub.app_url(owner, "on-slurm") + "_hubapps/events",
            headers={"Authorization": f"token {token}"},
            timeout=30,
        ) as events:
            assert events.status_code == 200
            assert events.headers["content-type"].startswith("text/event-stream")
            for line in events.iter_lines():
                if "env dump app listening on" in line:
                    break

        stopped = api.post(f"apps/{owner}/on-slurm/stop")
        assert stopped.status_code in (200, 202), stopped.text
        _until("the job to leave the queue", lambda: _queue(slurm), lambda queue: job not in queue)
        app = _until(
            "the app to stop", lambda: api.get(f"apps/{owner}/on-slurm").json(), lambda a: a["state"] == "stopped"
        )
        assert (app["last_run"]["state"], app["last_run"]["reason"]) == ("stopped", None), app["last_run"]


@pytest.mark.timeout(150)
def test_a_job_whose_app_dies_is_reported(slurm_hub: Hub, slurm: SlurmCluster) -> None:
    hub = slurm_hub
    owner = f"hpc-{secrets.token_hex(3)}"
    token = hub.token_for(owner)
    with _api(hub, token) as api:
        _start(api, "Crasher", str(RESOURCES / "crash_later.py"), "{port}", "3")
        _until(
            "the app to be ready",
            lambda: api.get(f"apps/{owner}/crasher").json().get("last_run") or {},
            lambda run: run.get("ready_after") is not None,
        )
        job = _job_id(hub, owner, "crasher")
        assert job in _queue(slurm)

        # The app exits with 7; its proxy gives up and exits, which ends the job; the Hub's poll (squeue)
        # drops the server; the launcher still says why.
        _until("the job to leave the queue", lambda: _queue(slurm), lambda queue: job not in queue)
        _until("the Hub to drop the server", lambda: hub.server_model(owner, "crasher"), lambda m: m is None)
        app = api.get(f"apps/{owner}/crasher").json()
        assert app["state"] == "stopped"
        assert app["last_run"]["state"] == "failed"
        assert app["last_run"]["reason"].startswith("the app exited with code 7")
        assert "crash later: crashing now" in app["last_run"]["log_tail"]


@pytest.mark.timeout(150)
def test_a_job_cancelled_behind_the_hubs_back_shows_stopped(slurm_hub: Hub, slurm: SlurmCluster) -> None:
    hub = slurm_hub
    owner = f"hpc-{secrets.token_hex(3)}"
    token = hub.token_for(owner)
    with _api(hub, token) as api:
        _start(api, "Cancelled", str(RESOURCES / "echo_app.py"), "{port}")
        _until("the app to run", lambda: api.get(f"apps/{owner}/cancelled").json()["state"], lambda s: s == "running")
        job = _job_id(hub, owner, "cancelled")

        # As a cluster admin (or the job's time limit) would: Slurm signals the job, its proxy stops the app.
        cancelled = slurm.run("scancel", job)
        assert cancelled.returncode == 0, cancelled.stderr
        _until("the Hub to drop the server", lambda: hub.server_model(owner, "cancelled"), lambda m: m is None)
        app = _until(
            "the app to show stopped",
            lambda: api.get(f"apps/{owner}/cancelled").json(),
            lambda a: a["state"] == "stopped",
        )
        assert app["last_run"]["state"] == "stopped"
        assert job not in _queue(slurm)
        # Started again, it is a new job.
        again = api.post(f"apps/{owner}/cancelled/start")
        assert again.status_code in (200, 202), again.text
        _until(
            "the app to run again", lambda: api.get(f"apps/{owner}/cancelled").json()["state"], lambda s: s == "running"
        )
        assert _job_id(hub, owner, "cancelled") != job
