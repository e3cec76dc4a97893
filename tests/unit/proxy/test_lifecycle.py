"""The app process: substitution, environment, startup page, failures, restarts, signals."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import psutil
import pytest

from hubapps.core.statuskey import APP_KEY_ENV_VAR
from hubapps.proxy.main import _run_loop
from tests.unit.proxy.conftest import ECHO_APP, PREFIX, PYTHON, FakeHub, StartProxy, resource, url

ALICE = {"Authorization": "token alice-token"}


async def test_argv_tokens_env_and_cwd(start_proxy: StartProxy, http: aiohttp.ClientSession, tmp_path: Path) -> None:
    (tmp_path / "work").mkdir()
    app_env = {"APP_URL": "http://127.0.0.1:{port}/", "LITERAL": "{0.__class__}"}
    proxy = await start_proxy(
        ["{python}", resource("env_dump_app.py"), "{port}", "--at={port}", "{0.__class__}", "x{python}"],
        "--cwd=work",
        env={"HUBAPPS_APP_ENV": json.dumps(app_env), "JPY_API_TOKEN": "old-token"},
    )
    async with http.get(url(proxy), headers=ALICE) as response:
        seen = await response.json()
    port = proxy.process.port
    assert seen["argv"][1:] == [str(port), f"--at={port}", "{0.__class__}", "x{python}"]
    env = seen["env"]
    assert env["APP_URL"] == f"http://127.0.0.1:{port}/"
    assert env["LITERAL"] == "{0.__class__}"
    assert "JUPYTERHUB_API_TOKEN" not in env
    assert "JPY_API_TOKEN" not in env
    assert "HUBAPPS_APP_ENV" not in env
    assert env["JUPYTERHUB_USER"] == "alice"
    assert os.path.realpath(seen["cwd"]) == os.path.realpath(tmp_path / "work")


async def test_pass_hub_token(start_proxy: StartProxy, http: aiohttp.ClientSession) -> None:
    proxy = await start_proxy(["{python}", resource("env_dump_app.py"), "{port}"], "--pass-hub-token")
    async with http.get(url(proxy), headers=ALICE) as response:
        assert (await response.json())["env"]["JUPYTERHUB_API_TOKEN"] == "server-token"


@pytest.mark.parametrize("pass_token", [[], ["--pass-hub-token"]])
async def test_the_status_key_never_reaches_the_app(
    start_proxy: StartProxy, http: aiohttp.ClientSession, pass_token: list[str]
) -> None:
    key = "ab" * 32
    proxy = await start_proxy(
        ["{python}", resource("env_dump_app.py"), "{port}"], *pass_token, env={APP_KEY_ENV_VAR: key}
    )
    assert proxy.config.status_key == bytes.fromhex(key)
    async with http.get(url(proxy), headers=ALICE) as response:
        env = (await response.json())["env"]
    assert APP_KEY_ENV_VAR not in env
    assert key not in json.dumps(env)


async def test_crash_on_start_fails_with_escaped_output(start_proxy: StartProxy, http: aiohttp.ClientSession) -> None:
    proxy = await start_proxy(["{python}", resource("crash_on_start.py")], "--max-restarts=0", wait_ready=False)
    await asyncio.wait_for(proxy.process.finished.wait(), 10)
    async with http.get(url(proxy), headers={**ALICE, "Accept": "text/html"}) as response:
        assert response.status == 500
        page = await response.text()
    assert "code 3" in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; goodbye" in page
    assert "<script>" not in page
    assert "My &lt;App&gt;" in page
    async with http.get(url(proxy, "_hubapps/status"), headers=ALICE) as response:
        status = await response.json()
    assert status["state"] == "failed"
    assert "code 3" in status["reason"]


async def test_restarts_are_for_apps_that_were_ready(start_proxy: StartProxy) -> None:
    """--max-restarts is for crashes after the app was ready; one that never was fails at once
    (restarts of it: tests/unit/proxy/test_start_failures.py)."""
    proxy = await start_proxy(
        ["{python}", resource("crash_on_start.py")],
        "--max-restarts=2",
        "--restart-backoff=0.05",
        wait_ready=False,
    )
    await asyncio.wait_for(proxy.process.finished.wait(), 10)
    lines = proxy.process.output.lines()
    assert sum(line.startswith("starting...") for line in lines) == 1
    assert "before it was ready" in proxy.process.reason


async def test_startup_page_while_slow_app_starts(start_proxy: StartProxy, http: aiohttp.ClientSession) -> None:
    proxy = await start_proxy(["{python}", resource("slow_ready.py"), "{port}", "1.5"], wait_ready=False)
    async with http.get(url(proxy), headers={**ALICE, "Accept": "text/html"}) as response:
        assert response.status == 200
        assert response.content_type == "text/html"
        page = await response.text()
    assert "Starting My &lt;App&gt;" in page
    assert 'http-equiv="refresh"' in page
    async with http.post(url(proxy), headers=ALICE) as response:
        assert response.status == 503
        assert response.headers["Retry-After"]
    async with http.get(url(proxy, "_hubapps/status"), headers=ALICE) as response:
        assert (await response.json())["state"] == "starting"
    # Anonymous viewers of a starting app (even a public one) are not shown the log.
    async with http.get(url(proxy)) as response:
        assert response.status == 401
    await asyncio.wait_for(proxy.process.ready.wait(), 10)
    async with http.get(url(proxy), headers=ALICE) as response:
        assert await response.text() == "ok slow app"


async def test_public_starting_app_needs_auth_for_the_startup_page(
    start_proxy: StartProxy, http: aiohttp.ClientSession
) -> None:
    proxy = await start_proxy(["{python}", resource("slow_ready.py"), "{port}", "1"], "--public", wait_ready=False)
    async with http.get(url(proxy), headers={"Accept": "text/html"}, allow_redirects=False) as response:
        assert response.status == 302
    await asyncio.wait_for(proxy.process.ready.wait(), 10)
    async with http.get(url(proxy)) as response:
        assert await response.text() == "ok slow app"


async def test_never_ready_times_out(start_proxy: StartProxy) -> None:
    proxy = await start_proxy(["{python}", resource("never_ready.py")], "--ready-timeout=1", wait_ready=False)
    await asyncio.wait_for(proxy.process.finished.wait(), 10)
    assert "did not answer" in proxy.process.reason
    assert any("never ready" in line for line in proxy.process.output.lines())


async def test_missing_cwd_is_a_clear_failure(start_proxy: StartProxy) -> None:
    proxy = await start_proxy(
        ["{python}", resource("env_dump_app.py"), "{port}"], "--cwd=does/not/exist", wait_ready=False
    )
    await asyncio.wait_for(proxy.process.finished.wait(), 5)
    assert "does/not/exist" in proxy.process.reason


async def test_git_checkout_before_start(start_proxy: StartProxy, http: aiohttp.ClientSession, tmp_path: Path) -> None:
    origin = tmp_path / "origin"
    origin.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-C", str(origin)]
    subprocess.run(["git", "init", "-q", "-b", "main", str(origin)], check=True)
    (origin / "marker.txt").write_text("v1")
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "one"], check=True)
    proxy = await start_proxy(
        ["{python}", resource("env_dump_app.py"), "{port}"],
        f"--repo=file://{origin}",
        "--repo-ref=main",
        "--checkout=.hubapps/checkouts/my-app",
        "--cwd=.hubapps/checkouts/my-app",
    )
    async with http.get(url(proxy), headers=ALICE) as response:
        cwd = (await response.json())["cwd"]
    assert (Path(cwd) / "marker.txt").read_text() == "v1"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_sigterm_stops_app_group_without_orphans(tmp_path: Path, loop: str) -> None:
    pid_file = tmp_path / "pids"
    env = {
        **os.environ,
        "HUBAPPS_PROXY_LOOP": loop,
        "JUPYTERHUB_SERVICE_PREFIX": PREFIX,
        "JUPYTERHUB_API_TOKEN": "t",
        "JUPYTERHUB_CLIENT_ID": "c",
        "JUPYTERHUB_API_URL": "http://127.0.0.1:9/hub/api",
    }
    proxy = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hubapps.proxy.main",
            "--ip=127.0.0.1",
            "--port=0",
            "--stop-grace=1",
            "--",
            "{python}",
            resource("ignores_sigterm.py"),
            "{port}",
            str(pid_file),
        ],
        env=env,
        cwd=str(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 15
        while not (pid_file.exists() and pid_file.read_text().strip()):
            assert time.monotonic() < deadline, "app did not start"
            assert proxy.poll() is None
            time.sleep(0.05)
        app_pid, child_pid = (int(p) for p in pid_file.read_text().split())
        assert _alive(app_pid)
        assert _alive(child_pid)
        time.sleep(0.3)
        proxy.send_signal(signal.SIGTERM)
        assert proxy.wait(timeout=10) == 0
        deadline = time.monotonic() + 5
        while _alive(app_pid) or _alive(child_pid):
            assert time.monotonic() < deadline, "the app or its child survived the proxy"
            time.sleep(0.05)
    finally:
        if proxy.poll() is None:
            proxy.kill()
            proxy.wait()
        assert proxy.stderr is not None
        proxy.stderr.close()


@pytest.mark.parametrize("bad", [["--no-such-option", "--"], ["--display-name=x"]])
def test_bad_options_exit_2(bad: list[str], tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hubapps.proxy.main", "--port=0", *bad, PYTHON],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=str(tmp_path),
        env={**os.environ, "JUPYTERHUB_API_TOKEN": "secret-value"},
    )
    assert result.returncode == 2
    assert "secret-value" not in result.stderr


async def test_app_runs_with_the_named_environment(
    start_proxy: StartProxy, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    env_dir = tmp_path / "envs" / "analysis"
    # --system-site-packages keeps the env small and fast to make; the app is stdlib-only anyway.
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(env_dir)], check=True)
    proxy = await start_proxy(
        ["{python}", resource("env_dump_app.py"), "{port}"],
        "--env-prefix=envs/analysis",
        env={"PATH": "/usr/bin:/bin", "VIRTUAL_ENV": "/somewhere/else"},
    )
    async with http.get(url(proxy), headers=ALICE) as response:
        seen = await response.json()
    env = seen["env"]
    assert env["VIRTUAL_ENV"] == str(env_dir)
    assert env["PATH"].split(os.pathsep)[0] == str(env_dir / "bin")
    app = psutil.Process(proxy.process.pid or 0)
    # The interpreter that runs the app is the environment's (a venv's python links to the base one).
    assert app.cmdline()[0] == str(env_dir / "bin" / "python")
    assert os.path.realpath(seen["argv"][0]) == os.path.realpath(resource("env_dump_app.py"))
    prefix = subprocess.run(
        [app.cmdline()[0], "-c", "import sys; print(sys.prefix)"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert prefix == str(env_dir)


async def test_missing_environment_is_a_clear_failure(start_proxy: StartProxy, http: aiohttp.ClientSession) -> None:
    proxy = await start_proxy(
        ["{python}", resource("env_dump_app.py"), "{port}"], "--env-prefix=envs/missing", wait_ready=False
    )
    await asyncio.wait_for(proxy.process.finished.wait(), 10)
    assert "envs/missing/bin/python" in proxy.process.reason
    async with http.get(url(proxy), headers={**ALICE, "Accept": "text/html"}) as response:
        assert "could not start" in await response.text()


async def test_activity_report_is_retried_with_backoff(start_proxy: StartProxy, fake_hub: FakeHub) -> None:
    fake_hub.activity_failures = 2
    started = time.monotonic()
    await start_proxy(ECHO_APP, "--activity-interval=5", "--activity-retry=0.1", "--keep-alive")
    # The keep-alive report at 5 s fails twice; retries come after about 0.1 s and 0.2 s, not 5 s each.
    deadline = time.monotonic() + 10
    while not fake_hub.activity and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert fake_hub.activity_attempts == 3
    assert time.monotonic() - started < 7
    stamp = datetime.fromisoformat(fake_hub.activity[0]["last_activity"].replace("Z", "+00:00"))
    assert abs((datetime.now(UTC) - stamp).total_seconds()) < 2  # keep-alive: "now", not the start


async def test_public_app_reports_use_and_idle_app_reports_nothing(
    start_proxy: StartProxy, fake_hub: FakeHub, http: aiohttp.ClientSession
) -> None:
    proxy = await start_proxy(ECHO_APP, "--public", "--activity-interval=0.2")
    await asyncio.sleep(0.6)
    assert fake_hub.activity == []  # nobody came: nothing to report, so the culler may stop it
    async with http.get(url(proxy, "anonymous")) as response:
        assert response.status == 200
    deadline = time.monotonic() + 5
    while not fake_hub.activity and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert len(fake_hub.activity) == 1


@pytest.mark.parametrize(("choice", "expected"), [("asyncio", "asyncio"), ("auto", "uvloop"), ("uvloop", "uvloop")])
def test_event_loop_choice(choice: str, expected: str) -> None:
    async def which() -> int:
        return 1 if type(asyncio.get_running_loop()).__module__.startswith("uvloop") else 0

    assert _run_loop(which(), choice) == (expected == "uvloop")
