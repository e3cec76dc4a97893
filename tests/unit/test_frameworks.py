"""Framework registry (entry points, broken plugins) and the pure command builder."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from importlib.metadata import EntryPoint

import pytest

from hubapps.core.command import LaunchContext, build_command, proxy_options
from hubapps.core.errors import SpecError, UnknownFramework
from hubapps.core.frameworks import Framework, FrameworkRegistry, builtin_frameworks
from hubapps.core.spec import parse_user_options
from hubapps.examples import EXAMPLES, example_spec

BUILTINS = {"streamlit", "panel", "bokeh", "voila", "gradio", "dash", "fastapi", "flask", "command", "jupyterlab"}
CONTEXT = LaunchContext(prefix="/user/ann/sales/", server_name="sales")


def plugin_frameworks() -> list[Framework]:
    return [Framework(name="shiny", display_name="Shiny", description="", argv=("{python}", "-m", "shiny"))]


def broken_plugin() -> list[Framework]:
    raise RuntimeError("boom")


def not_frameworks() -> list[str]:
    return ["nope"]


def entry_points_of(*targets: str) -> Iterable[EntryPoint]:
    return [EntryPoint(name=t, value=f"{__name__}:{t}", group="hubapps.frameworks") for t in targets]


def test_builtins_are_all_there() -> None:
    assert {fw.name for fw in FrameworkRegistry.load(lambda: [])} == BUILTINS


def test_plugins_are_loaded_and_broken_ones_skipped(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        registry = FrameworkRegistry.load(
            lambda: entry_points_of("broken_plugin", "plugin_frameworks", "not_frameworks")
        )
    assert "shiny" in registry
    assert len(registry) == len(BUILTINS) + 1
    assert "broken_plugin" in caplog.text
    assert "boom" in caplog.text
    assert "not_frameworks" in caplog.text


def test_plugins_cannot_replace_builtins(caplog: pytest.LogCaptureFixture) -> None:
    def evil() -> Iterable[EntryPoint]:
        return entry_points_of("plugin_frameworks")

    registry = FrameworkRegistry.load(evil)
    assert registry.get("streamlit") == next(f for f in builtin_frameworks() if f.name == "streamlit")


def test_enabled_applies_allow_and_block_lists() -> None:
    registry = FrameworkRegistry.load(lambda: [])
    assert {f.name for f in registry.enabled(["panel", "streamlit"], ["streamlit"])} == {"panel"}
    assert "jupyterlab" not in registry.enabled(blocked=["jupyterlab"])
    with pytest.raises(UnknownFramework, match="available: panel"):
        registry.enabled(["panel"]).get("streamlit")


def test_framework_env_cannot_be_mutated() -> None:
    fw = builtin_frameworks()[0]
    with pytest.raises(TypeError):
        fw.env["X"] = "y"  # type: ignore[index]


@pytest.mark.parametrize("framework", sorted(EXAMPLES))
def test_every_example_builds_a_command(framework: str) -> None:
    registry = FrameworkRegistry.load(lambda: [])
    spec = parse_user_options(example_spec(framework, "examples"))
    argv, env = build_command(spec, registry.get(framework), CONTEXT)
    assert argv, "an argv is always produced"
    assert all(isinstance(a, str) for a in argv)
    text = " ".join(argv) + " ".join(env.values())
    # Build-time tokens are all filled; only the run-time ones remain.
    tokens = ("{file}", "{file_dir}", "{module}", "{prefix}", "{root_path}", "{decoded_root_path}")
    tokens += ("{args}", "{command}")
    for token in tokens:
        assert token not in text
    if registry.get(framework).needs_file:
        file = EXAMPLES[framework][0].split("/")[-1]
        assert file in argv or f"{file.removesuffix('.py')}:app" in argv


def test_streamlit_command_serves_under_the_prefix() -> None:
    registry = FrameworkRegistry.load(lambda: [])
    spec = parse_user_options(
        {"spec_version": 1, "framework": "streamlit", "display_name": "S", "filepath": "apps/s/app.py", "args": ["a"]}
    )
    argv, _ = build_command(spec, registry.get("streamlit"), CONTEXT)
    assert argv[:5] == ["{python}", "-m", "streamlit", "run", "app.py"]
    assert argv[argv.index("--server.baseUrlPath") + 1] == "/user/ann/sales"
    escaped = LaunchContext(prefix="/user/o%3C%27%26%22%3E/sales/", server_name="sales")
    argv, _ = build_command(spec, registry.get("streamlit"), escaped)
    assert argv[argv.index("--server.baseUrlPath") + 1] == "/user/o<'&\">/sales"
    assert argv[-2:] == ["--", "a"]
    options = proxy_options(spec, registry.get("streamlit"), CONTEXT).to_argv()
    assert "--cwd=apps/s" in options


def test_user_arguments_stay_literal() -> None:
    registry = FrameworkRegistry.load(lambda: [])
    weird = ["{0.__class__}", "{prefix}", "--flag=x", "{"]
    spec = parse_user_options(
        {"spec_version": 1, "framework": "bokeh", "display_name": "B", "filepath": "b.py", "args": weird}
    )
    argv, _ = build_command(spec, registry.get("bokeh"), CONTEXT)
    assert argv[-len(weird) :] == weird
    assert argv[argv.index("--args") + 1 :] == weird


def test_command_framework_passes_argv_as_given_and_port_in_env() -> None:
    registry = FrameworkRegistry.load(lambda: [])
    spec = parse_user_options(
        {"spec_version": 1, "framework": "command", "display_name": "C", "command": ["node", "s.js", "{port}"]}
    )
    argv, env = build_command(spec, registry.get("command"), CONTEXT)
    assert argv == ["node", "s.js", "{port}"]
    assert env["PORT"] == "{port}"


def test_user_env_is_added_after_framework_env() -> None:
    registry = FrameworkRegistry.load(lambda: [])
    spec = parse_user_options(
        {"spec_version": 1, "framework": "gradio", "display_name": "G", "filepath": "g.py", "env": {"TOKEN": "t"}}
    )
    _, env = build_command(spec, registry.get("gradio"), CONTEXT)
    assert env["GRADIO_ROOT_PATH"] == "/user/ann/sales"
    assert env["TOKEN"] == "t"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"framework": "streamlit"}, "filepath"),
        ({"framework": "voila", "filepath": "x.py"}, "filepath"),
        ({"framework": "fastapi", "filepath": "my-api.py"}, "filepath"),
        ({"framework": "command"}, "command"),
        ({"framework": "panel", "filepath": "p.py", "command": ["x"]}, "command"),
        ({"framework": "streamlit", "filepath": "apps/"}, "filepath"),
    ],
)
def test_specs_that_do_not_fit_the_framework_are_refused(fields: dict[str, object], field: str) -> None:
    registry = FrameworkRegistry.load(lambda: [])
    spec = parse_user_options({"spec_version": 1, "display_name": "x", **fields})
    with pytest.raises(SpecError) as info:
        build_command(spec, registry.get(spec.framework), CONTEXT)
    assert info.value.field == field


def test_git_apps_run_inside_their_checkout() -> None:
    registry = FrameworkRegistry.load(lambda: [])
    spec = parse_user_options(
        {
            "spec_version": 1,
            "framework": "panel",
            "display_name": "P",
            "filepath": "dash/app.py",
            "repository": {"url": "file:///srv/repo.git", "ref": "v1", "subdirectory": "apps"},
        }
    )
    options = proxy_options(spec, registry.get("panel"), CONTEXT).to_argv()
    assert "--cwd=.hubapps/checkouts/sales/apps/dash" in options
    assert "--repo=file:///srv/repo.git" in options
    assert "--repo-ref=v1" in options
    assert "--checkout=.hubapps/checkouts/sales" in options


def test_explicit_working_dir_keeps_the_file_path_relative_to_it() -> None:
    registry = FrameworkRegistry.load(lambda: [])
    spec = parse_user_options(
        {
            "spec_version": 1,
            "framework": "fastapi",
            "display_name": "F",
            "filepath": "api/main.py",
            "working_dir": "proj",
        }
    )
    argv, _ = build_command(spec, registry.get("fastapi"), CONTEXT)
    assert argv[argv.index("--app-dir") + 1] == "api"
    assert argv[-1] == "main:app"
    assert "--cwd=proj" in proxy_options(spec, registry.get("fastapi"), CONTEXT).to_argv()


def test_proxy_options_cannot_be_confused_with_flags() -> None:
    registry = FrameworkRegistry.load(lambda: [])
    spec = parse_user_options(
        {"spec_version": 1, "framework": "panel", "display_name": "--public", "filepath": "p.py"}
    )
    options = proxy_options(spec, registry.get("panel"), CONTEXT).to_argv()
    assert "--display-name=--public" in options
    assert "--public" not in options
