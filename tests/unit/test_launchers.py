"""The launchers, with the framework replaced by a recorder: what the user's script asks for is kept, except
where and how the app listens, which the launcher decides (the integration suite runs the real frameworks)."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import pytest

from hubapps.launchers import run_nicegui, run_shiny

SCRIPT = """\
import sys
import nicegui
from nicegui import ui

nicegui.seen_argv = list(sys.argv)
nicegui.seen_name = __name__
ui.run(host="0.0.0.0", port=8080, reload=True, show=True, on_air=True, native=True, title="Mine",
       ssl_keyfile="key.pem", ssl_certfile="cert.pem", fd=3, root_path="/elsewhere")
"""


@pytest.fixture
def isolated_sys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["launcher"])
    monkeypatch.setattr(sys, "path", list(sys.path))


@pytest.mark.usefixtures("isolated_sys")
def test_nicegui_script_keeps_its_options_but_listens_only_on_the_socket(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[dict[str, Any]] = []
    fake = types.ModuleType("nicegui")
    fake.ui = types.SimpleNamespace(run=lambda *args, **kwargs: calls.append(kwargs))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "nicegui", fake)
    script = tmp_path / "app.py"
    script.write_text(SCRIPT)

    run_nicegui.main(["/run/app.sock", str(script), "--data", "x.csv"])

    assert len(calls) == 1
    options = calls[0]
    assert options["uds"] == "/run/app.sock"
    assert options["host"] == "127.0.0.1"
    assert options["reload"] is False
    assert options["show"] is False
    assert options["native"] is False
    assert options["on_air"] is None
    for gone in ("port", "ssl_keyfile", "ssl_certfile", "fd", "root_path"):
        assert gone not in options, gone
    assert options["title"] == "Mine"  # the script's own choice
    assert fake.seen_argv == [str(script), "--data", "x.csv"]
    assert fake.seen_name == "__main__"
    assert sys.path[0] == str(tmp_path)  # imports beside the script work, as with `python app.py`


@pytest.mark.usefixtures("isolated_sys")
def test_shiny_runs_on_the_socket_without_development_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, dict[str, Any]]] = []
    fake = types.ModuleType("shiny")
    fake.run_app = lambda app, **kwargs: calls.append((app, kwargs))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "shiny", fake)

    run_shiny.main(["/run/app.sock", "/user/ann/sales", "app.py", "extra"])

    assert calls == [
        (
            "app.py",
            {
                "uds": "/run/app.sock",
                "root_path": "/user/ann/sales",
                "reload": False,
                "launch_browser": False,
                "dev_mode": False,
            },
        )
    ]
    assert sys.argv == ["app.py", "extra"]


@pytest.mark.parametrize("launcher", [run_nicegui, run_shiny])
def test_missing_arguments_say_how_to_call(launcher: Any) -> None:
    with pytest.raises(SystemExit, match=r"usage: python -m hubapps\.launchers"):
        launcher.main(["only-one"])
