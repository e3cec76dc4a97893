"""Pure parts: option parsing, argv/env building, pages."""

from __future__ import annotations

import json

import pytest

from hubapps.core.command import ProxyOptions
from hubapps.proxy import pages
from hubapps.proxy.config import ConfigError, parse_config
from hubapps.proxy.forward import same_origin
from hubapps.proxy.output import OutputBuffer
from hubapps.proxy.process import app_argv, app_environment

ENV = {
    "JUPYTERHUB_SERVICE_PREFIX": "/user/alice/my-app/",
    "JUPYTERHUB_SERVICE_URL": "http://127.0.0.1:54321/user/alice/my-app/",
    "JUPYTERHUB_OAUTH_ACCESS_SCOPES": '["access:servers!server=alice/my-app"]',
    "JUPYTERHUB_API_TOKEN": "secret",
}


def test_options_from_core_round_trip() -> None:
    options = ProxyOptions(
        display_name="My --app",
        cwd="sub dir",
        ready_path="health",
        ready_timeout=12.5,
        strip_prefix=True,
        public=True,
        keep_alive=True,
        pass_hub_token=True,
        repo_url="https://example.org/r.git",
        repo_ref="main",
        checkout=".hubapps/checkouts/my-app",
        env_prefix="/opt/env",
        hub_version="5.2.1",
    )
    config = parse_config([*options.to_argv(), "--", "python", "--public", "--", "x"], ENV)
    assert config.hub_version == "5.2.1"
    assert config.app_argv == ("python", "--public", "--", "x")
    assert (config.display_name, config.cwd, config.ready_path) == ("My --app", "sub dir", "health")
    assert config.ready_timeout == 12.5
    assert config.strip_prefix
    assert config.public
    assert config.keep_alive
    assert config.pass_hub_token
    assert (config.repo_url, config.repo_ref, config.checkout) == (
        "https://example.org/r.git",
        "main",
        ".hubapps/checkouts/my-app",
    )
    assert config.env_prefix == "/opt/env"
    assert (config.ip, config.port) == ("127.0.0.1", 54321)
    assert config.app_ready_path == "/health"
    assert config.hub.access_scopes == frozenset({"access:servers!server=alice/my-app"})
    assert "secret" not in repr(config)


def test_ready_path_keeps_prefix_when_not_stripping() -> None:
    config = parse_config(["--no-strip-prefix", "--ready-path=api/health", "--", "app"], ENV)
    assert config.app_ready_path == "/user/alice/my-app/api/health"
    assert parse_config(["--", "app"], ENV).app_ready_path == "/user/alice/my-app/"


@pytest.mark.parametrize(
    ("argv", "env"),
    [
        (["--disp=x", "--", "app"], ENV),  # no abbreviations
        (["--cwd=x"], ENV),  # no app argv
        (["--", "app"], {**ENV, "HUBAPPS_APP_ENV": "[1]"}),
        (["--", "app"], {**ENV, "HUBAPPS_APP_ENV": "{"}),
        (["--repo=https://x", "--", "app"], ENV),  # no checkout
        (["--repo=https://x", "--checkout=c", "--repo-ref=-oops", "--", "app"], ENV),
        (["--ready-timeout=-1", "--", "app"], ENV),
        (["--", "app"], {"JUPYTERHUB_SERVICE_PREFIX": "/x/"}),  # nowhere to listen
    ],
)
def test_bad_input_is_a_config_error(argv: list[str], env: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        parse_config(argv, env)


def test_port_and_ip_overrides() -> None:
    config = parse_config(["--ip=0.0.0.0", "--port=8000", "--", "app"], ENV)
    assert (config.ip, config.port) == ("0.0.0.0", 8000)


def test_argv_substitution_is_plain_replacement() -> None:
    argv = app_argv(["{python}", "-m", "app", "--port={port}", "{0.__class__}", "{python}x", "{PORT}"], 8123, "/py")
    assert argv == ["/py", "-m", "app", "--port=8123", "{0.__class__}", "{python}x", "{PORT}"]


def test_app_environment() -> None:
    parent = {
        "PATH": "/usr/bin",
        "JUPYTERHUB_API_TOKEN": "t",
        "JPY_API_TOKEN": "t",
        "HUBAPPS_APP_ENV": "{}",
        "PYTHONHOME": "/x",
        "KEEP": "1",
    }
    env = app_environment(parent, {"URL": "http://h:{port}/{0}"}, 9000, pass_hub_token=False)
    assert env == {"PATH": "/usr/bin", "PYTHONHOME": "/x", "KEEP": "1", "URL": "http://h:9000/{0}"}
    env = app_environment(parent, {}, 9000, pass_hub_token=True, env_prefix="/opt/env")
    assert env["JUPYTERHUB_API_TOKEN"] == "t"
    assert env["PATH"] == "/opt/env/bin:/usr/bin"
    assert env["VIRTUAL_ENV"] == "/opt/env"
    assert "PYTHONHOME" not in env


def test_output_buffer_keeps_the_tail_and_splits_lines() -> None:
    buffer = OutputBuffer(3)
    buffer.feed("a\nb\r\nc")
    assert buffer.lines() == ["a", "b"]
    buffer.feed("d\ne\nf\n")
    assert buffer.lines() == ["cd", "e", "f"]
    buffer.append("x" * 10_000)
    assert len(buffer.lines()[-1]) < 5000


def test_pages_escape_everything() -> None:
    evil = "<img src=x onerror=alert(1)>"
    for page in (
        pages.startup_page(evil, 1.0, [evil], note=evil, events_url=evil, nonce=evil),
        pages.failure_page(evil, evil, [evil]),
        pages.forbidden_page(evil),
        pages.message_page(evil),
    ):
        assert "<img" not in page
        assert "&lt;img" in page


def test_output_buffer_numbers_lines_and_answers_since() -> None:
    buffer = OutputBuffer(3)
    for line in "abcde":
        buffer.append(line)
    assert (buffer.first, buffer.total) == (2, 5)
    assert buffer.since(0) == (2, ["c", "d", "e"])  # dropped lines are skipped, and said so
    assert buffer.since(4) == (4, ["e"])
    assert buffer.since(5) == (5, [])
    assert buffer.since(99) == (5, [])


async def test_output_buffer_wakes_waiters_on_new_lines_and_notify() -> None:
    buffer = OutputBuffer(3)
    changed = buffer.changed()
    assert not changed.is_set()
    buffer.append("x")
    assert changed.is_set()
    again = buffer.changed()
    assert again is not changed
    assert not again.is_set()
    buffer.notify()
    assert again.is_set()


def test_activity_interval_comes_from_the_hub_environment() -> None:
    assert parse_config(["--", "app"], ENV).activity_interval == 60
    assert parse_config(["--", "app"], {**ENV, "JUPYTERHUB_ACTIVITY_INTERVAL": "7"}).activity_interval == 7
    options = ["--activity-interval=2", "--", "app"]
    assert parse_config(options, {**ENV, "JUPYTERHUB_ACTIVITY_INTERVAL": "7"}).activity_interval == 2
    with pytest.raises(ConfigError):
        parse_config(["--", "app"], {**ENV, "JUPYTERHUB_ACTIVITY_INTERVAL": "soon"})


@pytest.mark.parametrize(
    ("origin", "host", "same"),
    [
        ("https://hub.example.org", "hub.example.org", True),
        ("https://hub.example.org:443", "hub.example.org", True),
        ("http://127.0.0.1:8000", "127.0.0.1:8000", True),
        ("https://evil.example", "hub.example.org", False),
        ("https://hub.example.org:8443", "hub.example.org", False),
        ("null", "hub.example.org", False),
    ],
)
def test_same_origin(origin: str, host: str, same: bool) -> None:
    assert same_origin(origin, host) is same


def test_app_env_json_is_read() -> None:
    env = {**ENV, "HUBAPPS_APP_ENV": json.dumps({"A": "1"})}
    assert dict(parse_config(["--", "app"], env).app_env) == {"A": "1"}


@pytest.mark.parametrize("option", ["--status-max-skew", "--websocket-max-age", "--websocket-start-wait"])
@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
def test_time_limits_must_be_finite(option: str, value: str) -> None:
    """A limit of NaN would never be reached (a signed status request would never expire)."""
    with pytest.raises(ConfigError):
        parse_config([f"{option}={value}", "--", "app"], ENV)


def test_resource_limits_are_whole_numbers_and_off_by_default() -> None:
    config = parse_config(["--", "app"], ENV)
    assert (config.memory_limit, config.process_limit) == (0, 0)
    config = parse_config(["--memory-limit=536870912", "--process-limit=64", "--", "app"], ENV)
    assert (config.memory_limit, config.process_limit) == (512 * 2**20, 64)
    for bad in ("--memory-limit=-1", "--memory-limit=1.5", "--process-limit=x"):
        with pytest.raises(ConfigError):
            parse_config([bad, "--", "app"], ENV)
