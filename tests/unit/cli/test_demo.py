"""``hubapps demo --port``: every port of the demo moves with it, so two demos run side by side."""

from __future__ import annotations

import ast
import socket
from pathlib import Path

import pytest

from hubapps.cli import main
from hubapps.cli.demo import DemoSettings, write_config
from hubapps.core.startup import parse_startup_apps
from hubapps.examples import EXAMPLES


def test_every_port_moves_with_the_public_one(tmp_path: Path) -> None:
    first = DemoSettings(tmp_path / "a", chp="chp")
    second = DemoSettings(tmp_path / "b", chp="chp", port=9000)
    assert first.ports == {"port": 8000, "proxy_api_port": 8001, "hub_port": 8081, "service_port": 10202}
    assert set(first.ports.values()).isdisjoint(second.ports.values())
    config = write_config(second)
    text = config.read_text()
    for port in second.ports.values():
        assert str(port) in text
    for port in first.ports.values():
        assert str(port) not in text


def test_a_port_out_of_range_is_refused_with_the_range(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--port", "65000", "--chp", "/bin/true"]) == 2
    assert "--port must be between 1024 and" in capsys.readouterr().err


def test_a_busy_port_is_named_before_anything_starts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # Linux's ephemeral range (32768-60999) fits the demo's port range
        sock.listen()
        busy = sock.getsockname()[1]
        state = tmp_path / "state"
        assert main(["demo", "--port", str(busy), "--chp", "/bin/true", "--state", str(state)]) == 1
    err = capsys.readouterr().err
    assert f"port {busy} on 127.0.0.1 is in use" in err
    assert not state.exists()


def test_the_examples_are_startup_apps_of_the_demo_user(tmp_path: Path) -> None:
    config = write_config(DemoSettings(tmp_path / "state", chp="chp")).read_text()
    _, _, literal = config.partition("c.HubApps.startup_apps = ")
    entries = parse_startup_apps(ast.literal_eval(literal.strip()))
    assert {e.owner for e in entries} == {"demo"}
    assert {e.server for e in entries} == {f"{framework}-demo" for framework in EXAMPLES}
    assert {e.server for e in entries if e.start} == {"streamlit-demo", "panel-demo"}
    assert "c.Authenticator.allowed_users = {'demo'}" in config  # the owner exists from the Hub's start
    assert (tmp_path / "state" / "home" / "demo" / "examples" / "streamlit_app.py").exists()
