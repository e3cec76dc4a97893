"""An app that fails before it was ever ready fails at once, in its own words; one that crashes after
having been ready is restarted; the status says how long the app took to be ready; the failure page
links back to the launcher."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from hubapps.proxy.config import ConfigError, parse_config
from hubapps.proxy.exitreason import MAX_MESSAGE, app_message, out_of_memory
from tests.unit.proxy.conftest import PREFIX, StartProxy, resource, url

ALICE = {"Authorization": "token alice-token"}
BOB_SHARED = {"Authorization": "token svc-token"}

SYNTAX_ERROR_APP = "print('about to fail')\ndef broken(:\n    pass\n"


async def test_a_syntax_error_fails_at_once_with_the_apps_own_message(
    start_proxy: StartProxy, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    script = tmp_path / "broken_app.py"
    script.write_text(SYNTAX_ERROR_APP)
    proxy = await start_proxy(["{python}", str(script), "{port}"], wait_ready=False)
    await asyncio.wait_for(proxy.process.finished.wait(), 10)
    reason = proxy.process.reason
    assert reason.startswith("the app exited with code 1 before it was ready: SyntaxError")
    assert "(broken_app.py, line 2)" in reason
    # Not restart-looped: one start, no "restarting" note.
    assert not any("restarting" in line or "retrying" in line for line in proxy.process.output.lines())
    async with http.get(url(proxy, "_hubapps/status"), headers=ALICE) as response:
        status = await response.json()
    assert status == {"state": "failed", "elapsed": status["elapsed"], "reason": reason, "ready_after": None}


async def test_a_missing_file_says_so(start_proxy: StartProxy, tmp_path: Path) -> None:
    proxy = await start_proxy(["{python}", str(tmp_path / "no_such_app.py")], wait_ready=False)
    await asyncio.wait_for(proxy.process.finished.wait(), 10)
    assert "can't open file" in proxy.process.reason
    assert "No such file or directory" in proxy.process.reason


async def test_start_retries_start_a_failing_app_again_before_giving_up(start_proxy: StartProxy) -> None:
    proxy = await start_proxy(
        ["{python}", resource("crash_on_start.py")], "--start-retries=2", "--restart-backoff=0.05", wait_ready=False
    )
    await asyncio.wait_for(proxy.process.finished.wait(), 10)
    assert sum(line.startswith("starting...") for line in proxy.process.output.lines()) == 3
    assert proxy.process.reason == (
        "the app exited with code 3 before it was ready: starting... <script>alert('x')</script> & goodbye"
    )


async def test_an_app_that_crashes_after_being_ready_is_restarted(start_proxy: StartProxy, tmp_path: Path) -> None:
    starts = tmp_path / "starts"
    proxy = await start_proxy(
        ["{python}", resource("crash_later.py"), "{port}", "0.5", str(starts)],
        "--max-restarts=1",
        "--restart-backoff=0.05",
    )
    ready_after = proxy.process.status()["ready_after"]
    assert isinstance(ready_after, float)
    assert ready_after >= 0
    await asyncio.wait_for(proxy.process.finished.wait(), 15)
    assert len(starts.read_text().split()) == 2  # the first run and one restart
    assert proxy.process.reason.startswith("the app exited with code 7 (1 restarts in 60 s)")


async def test_the_failure_page_links_back_to_the_launcher(
    start_proxy: StartProxy, http: aiohttp.ClientSession
) -> None:
    proxy = await start_proxy(
        ["{python}", resource("crash_on_start.py")], "--launcher-url=/services/japps", wait_ready=False
    )
    await asyncio.wait_for(proxy.process.finished.wait(), 10)
    async with http.get(url(proxy), headers={**ALICE, "Accept": "text/html"}) as response:
        page = await response.text()
    assert '<a href="/services/japps/ui/apps/alice/my-app/watch">Start it again</a>' in page
    assert '<a href="/services/japps/ui/apps/alice/my-app/edit">Edit it</a>' in page
    # Someone it is shared with sees neither the reason nor the owner's links.
    async with http.get(url(proxy), headers={**BOB_SHARED, "Accept": "text/html"}) as response:
        shared_page = await response.text()
    assert "could not start" in shared_page
    assert "ui/apps" not in shared_page
    assert "goodbye" not in shared_page


@pytest.mark.parametrize(
    "bad", ["//evil.example/", "javascript:alert(1)", "relative/path/", "/a b/", '/x"onmouseover=1', "ftp://h/"]
)
def test_launcher_url_must_be_a_path_or_http_url(bad: str) -> None:
    env = {"JUPYTERHUB_SERVICE_URL": "http://127.0.0.1:0" + PREFIX, "JUPYTERHUB_SERVICE_PREFIX": PREFIX}
    with pytest.raises(ConfigError, match="--launcher-url"):
        parse_config([f"--launcher-url={bad}", "--", "app"], env)
    good = parse_config(["--launcher-url=https://apps.example.org/services/japps", "--", "app"], env)
    assert good.launcher_url == "https://apps.example.org/services/japps/"


TRACEBACK = """\
Traceback (most recent call last):
  File "/home/ann/app.py", line 4, in <module>
    import pandas
ModuleNotFoundError: No module named 'pandas'
"""


@pytest.mark.parametrize(
    ("output", "message"),
    [
        (TRACEBACK, "ModuleNotFoundError: No module named 'pandas' (app.py, line 4)"),
        (
            "  Usage: streamlit run [OPTIONS] TARGET [ARGS]...\n\nError: Invalid value: File does not exist: app.py\n",
            "Error: Invalid value: File does not exist: app.py",
        ),
        ("python: can't open file '/x/app.py': [Errno 2] No such file or directory\n", "python: can't open file"),
        ("serving\nbye now\nhubapps: the app exited\n", "bye now"),
        ("", ""),
        ("\x1b[31mValueError: bad\x07 value\x1b[0m\n", "ValueError: bad  value"),
    ],
)
def test_app_message_picks_the_telling_line(output: str, message: str) -> None:
    assert app_message(output.splitlines()).startswith(message)


def test_app_message_is_one_bounded_line() -> None:
    message = app_message(["RuntimeError: " + "x" * 5000])
    assert len(message) == MAX_MESSAGE
    assert message.endswith("\u2026")
    assert "\n" not in app_message(["ValueError: a\rb\nc"])


async def test_a_file_that_does_not_compile_fails_a_server_that_runs_it_only_per_viewer(
    start_proxy: StartProxy, tmp_path: Path
) -> None:
    """Streamlit, Panel and Bokeh start their server whatever the file holds; the compile beside the start
    (no code of the file runs) fails it at once, with the file's own message."""
    script = tmp_path / "dashboard.py"
    script.write_text("import os\nprint('ran!')\nif True\n    pass\n")
    proxy = await start_proxy(
        ["{python}", resource("echo_app.py"), "{port}"], f"--check-file={script}", wait_ready=False
    )
    await asyncio.wait_for(proxy.process.finished.wait(), 10)
    reason = proxy.process.reason
    assert reason.startswith("the app's file does not compile: SyntaxError: expected ':'"), reason
    assert "dashboard.py, line 3" in reason
    assert proxy.process.status()["state"] == "failed"
    assert not any("ran!" in line for line in proxy.process.output.lines())  # compiled, never run


async def test_a_file_that_compiles_changes_nothing(start_proxy: StartProxy, tmp_path: Path) -> None:
    script = tmp_path / "dashboard.py"
    script.write_text("import os\nprint('fine')\n")
    proxy = await start_proxy(["{python}", resource("echo_app.py"), "{port}"], f"--check-file={script}")
    await asyncio.sleep(0.5)  # the compile has long finished
    assert proxy.process.status()["state"] == "ready"
    assert proxy.process.reason == ""


@pytest.mark.parametrize(
    ("output", "says"),
    [
        ('Traceback (most recent call last):\n  File "app.py", line 3\nMemoryError', True),
        ("terminate called after throwing an instance of 'std::bad_alloc'", True),
        ("memory allocation of 1073741824 bytes failed", True),
        ("FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory", True),
        ("OSError: [Errno 12] Cannot allocate memory", True),
        ("ValueError: bad input", False),
        ("hubapps: the app exited with code 1; out of memory in the proxy's own words", False),
    ],
)
def test_out_of_memory_is_read_from_the_apps_last_words(output: str, says: bool) -> None:
    assert out_of_memory(output.splitlines()) is says
