"""Framework registry (entry points, broken plugins) and the pure command builder."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from hubapps.core.command import LaunchContext, build_command, proxy_options
from hubapps.core.errors import SpecError, UnknownFramework
from hubapps.core.frameworks import Framework, FrameworkRegistry, builtin_frameworks
from hubapps.core.policy import SpecPolicy
from hubapps.core.spec import ENV_DENY_PREFIXES, ENV_DENYLIST, parse_user_options
from hubapps.examples import EXAMPLES, example_spec

BUILTINS = {"streamlit", "panel", "bokeh", "voila", "gradio", "dash", "fastapi", "flask", "command", "jupyterlab"}
BUILTINS |= {"shiny", "marimo", "solara", "nicegui", "rshiny", "chainlit"}
CONTEXT = LaunchContext(prefix="/user/ann/sales/", server_name="sales")


def plugin_frameworks() -> list[Framework]:
    return [Framework(name="mesop", display_name="Mesop", description="", argv=("{python}", "-m", "mesop"))]


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
    assert "mesop" in registry
    assert len(registry) == len(BUILTINS) + 1
    assert "broken_plugin" in caplog.text
    assert "boom" in caplog.text
    assert "not_frameworks" in caplog.text
    assert "'mesop' listens on a loopback port that every local user can reach" in caplog.text


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
    tokens: tuple[str, ...] = ("{file}", "{file_dir}", "{module}", "{prefix}", "{root_path}", "{decoded_root_path}")
    tokens += ("{args}", "{command}")
    for token in tokens:
        assert token not in text
    if registry.get(framework).needs_file:
        file = EXAMPLES[framework][0].split("/")[-1]
        # (Solara's app is named in its environment: SOLARA_APP)
        assert file in argv or f"{file.removesuffix('.py')}:app" in argv or file in env.values()


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
    assert "--check-file=app.py" in options  # compiled by the proxy as the app starts


def test_only_python_files_are_compiled_before_they_run() -> None:
    registry = FrameworkRegistry.load(lambda: [])
    notebook = parse_user_options(
        {"spec_version": 1, "framework": "voila", "display_name": "V", "filepath": "n/report.ipynb"}
    )
    assert not any(
        o.startswith("--check-file") for o in proxy_options(notebook, registry.get("voila"), CONTEXT).to_argv()
    )
    api = parse_user_options(
        {
            "spec_version": 1,
            "framework": "fastapi",
            "display_name": "F",
            "filepath": "api/main.py",
            "working_dir": "proj",
        }
    )
    assert "--check-file=api/main.py" in proxy_options(api, registry.get("fastapi"), CONTEXT).to_argv()


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
    spec = parse_user_options({"spec_version": 1, "framework": "panel", "display_name": "--public", "filepath": "p.py"})
    options = proxy_options(spec, registry.get("panel"), CONTEXT).to_argv()
    assert "--display-name=--public" in options
    assert "--public" not in options


# -- where apps listen: a unix socket unless the framework cannot ----------------------------------


def _spec_for(framework: Framework, **fields: object) -> dict[str, object]:
    base: dict[str, object] = {"spec_version": 1, "framework": framework.name, "display_name": "X"}
    if framework.needs_file:
        base["filepath"] = "app" + framework.file_suffixes[0]
    if "{command}" in framework.argv:
        base["command"] = ["{python}", "serve.py", "{socket}"]
    return {**base, **fields}


PROXIED = [fw for fw in builtin_frameworks() if not fw.singleuser]


@pytest.mark.parametrize("framework", PROXIED, ids=lambda fw: fw.name)
def test_apps_listen_on_a_socket_unless_the_framework_is_tcp_only(framework: Framework) -> None:
    spec = parse_user_options(_spec_for(framework))
    argv, env = build_command(spec, framework, CONTEXT)
    text = " ".join([*argv, *env.values()])
    options = proxy_options(spec, framework, CONTEXT).to_argv()
    if framework.tcp_only:
        assert "{port}" in text
        assert "{socket}" not in text
        assert "--no-app-socket" in options
    else:
        assert "{socket}" in text
        assert "{port}" not in text, "a socket app must not get a port as well"
        assert "--app-socket" in options


def test_socket_frameworks_put_the_socket_where_the_server_reads_it() -> None:
    registry = FrameworkRegistry.load(lambda: [])

    def command(name: str) -> tuple[list[str], dict[str, str]]:
        return build_command(parse_user_options(_spec_for(registry.get(name))), registry.get(name), CONTEXT)

    assert command("fastapi")[0][command("fastapi")[0].index("--uds") + 1] == "{socket}"
    assert "--host" not in command("fastapi")[0]
    assert command("flask")[0][command("flask")[0].index("--bind") + 1] == "unix:{socket}"
    for name in ("bokeh", "panel"):
        argv = command(name)[0]
        assert argv[argv.index("--unix-socket") + 1] == "{socket}"
        assert "--address" not in argv  # bokeh refuses it (and --port) with a socket
        assert "--port" not in argv
    assert command("dash")[1]["HOST"] == "unix://{socket}"
    assert "PORT" not in command("dash")[1]


def test_a_command_listens_on_the_socket_unless_it_names_the_port() -> None:
    registry = FrameworkRegistry.load(lambda: [])
    fw = registry.get("command")
    on_socket = parse_user_options(_spec_for(fw, command=["node", "serve.js"]))
    _, env = build_command(on_socket, fw, CONTEXT)
    assert env["HUBAPPS_SOCKET"] == "{socket}"
    assert "PORT" not in env
    assert "--app-socket" in proxy_options(on_socket, fw, CONTEXT).to_argv()
    on_port = parse_user_options(_spec_for(fw, command=["node", "serve.js", "--port={port}"]))
    _, env = build_command(on_port, fw, CONTEXT)
    assert env["PORT"] == "{port}"
    assert "HUBAPPS_SOCKET" not in env
    assert "--no-app-socket" in proxy_options(on_port, fw, CONTEXT).to_argv()
    both = parse_user_options(_spec_for(fw, command=["node", "{socket}", "{port}"]))
    with pytest.raises(SpecError) as info:
        build_command(both, fw, CONTEXT)
    assert info.value.field == "command"


def test_jupyterlab_is_reached_by_the_hub_itself() -> None:
    fw = FrameworkRegistry.load(lambda: []).get("jupyterlab")
    assert fw.singleuser
    assert not fw.tcp_only


# -- what a spec may not change: the framework's bind address, port, base path, origins ------------


#: Names the issue and the frameworks' sources name, per framework (the data must cover at least these).
KNOWN_PROTECTED_ENV = {
    "streamlit": {
        "STREAMLIT_SERVER_ADDRESS",
        "STREAMLIT_SERVER_PORT",
        "STREAMLIT_SERVER_BASE_URL_PATH",
        "STREAMLIT_SERVER_ENABLE_CORS",
        "STREAMLIT_SERVER_ENABLE_XSRF_PROTECTION",
        "STREAMLIT_SERVER_ALLOWED_HOSTS",
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS",
    },
    "panel": {"BOKEH_ALLOW_WS_ORIGIN", "BOKEH_XSRF_COOKIES"},
    "bokeh": {"BOKEH_ALLOW_WS_ORIGIN", "BOKEH_XSRF_COOKIES", "BOKEH_SSL_CERTFILE"},
    "voila": {"VOILA_APP_IP", "VOILA_APP_PORT", "VOILA_SERVER_URL"},
    "gradio": {"GRADIO_SERVER_NAME", "GRADIO_SERVER_PORT", "GRADIO_ROOT_PATH", "GRADIO_SHARE", "GRADIO_SSR_MODE"},
    "dash": {"HOST", "PORT", "DASH_URL_BASE_PATHNAME", "DASH_PROXY", "FLASK_RUN_HOST", "WERKZEUG_SERVER_FD"},
    "fastapi": {"UVICORN_HOST", "UVICORN_PORT", "UVICORN_UDS", "UVICORN_FD", "UVICORN_ROOT_PATH"}
    | {"FORWARDED_ALLOW_IPS"},
    "flask": {"SCRIPT_NAME", "GUNICORN_CMD_ARGS", "FORWARDED_ALLOW_IPS"},
    "shiny": {"SHINY_DEV_MODE", "SHINY_AUTORELOAD_PORT", "UVICORN_HOST", "UVICORN_UDS", "FORWARDED_ALLOW_IPS"},
    "marimo": {"MARIMO_TOKEN", "MARIMO_SERVER_TRANSPORT", "MARIMO_SKIP_UPDATE_CHECK", "UVICORN_HOST"},
    "solara": {"SOLARA_APP", "SOLARA_ROOT_PATH", "SOLARA_HOST", "SOLARA_TELEMETRY_MIXPANEL_ENABLE", "UVICORN_UDS"}
    | {"HOST", "PORT"},
    "nicegui": {"NICEGUI_HOST", "NICEGUI_PORT", "NICEGUI_PROTOCOL", "UVICORN_HOST"},
    "rshiny": {"R_PROFILE_USER", "R_ENVIRON_USER", "SHINY_PORT"},
    "chainlit": {"CHAINLIT_HOST", "CHAINLIT_PORT", "CHAINLIT_ROOT_PATH", "CHAINLIT_URL", "CHAINLIT_RUN_HOST"}
    | {"CHAINLIT_SSL_CERT", "TRACELOOP_TELEMETRY"},
    "command": {"HUBAPPS_SOCKET", "PORT", "HUBAPPS_PREFIX"},
    "jupyterlab": set(),
}


def _protected_names(framework: Framework) -> set[str]:
    names = set(framework.env) | set(framework.protected_env) | KNOWN_PROTECTED_ENV[framework.name]
    names |= {prefix + "ANYTHING" for prefix in framework.protected_env_prefixes}
    return names


def test_every_builtin_framework_has_known_protected_names() -> None:
    assert set(KNOWN_PROTECTED_ENV) == BUILTINS


@pytest.mark.parametrize(
    ("framework", "name"),
    [(fw, name) for fw in builtin_frameworks() for name in sorted(_protected_names(fw))],
    ids=lambda value: value.name if isinstance(value, Framework) else value,
)
def test_protected_env_names_are_refused_naming_the_field(framework: Framework, name: str) -> None:
    policy = SpecPolicy(FrameworkRegistry.load(lambda: []))
    with pytest.raises(SpecError) as info:
        policy.check(parse_user_options(_spec_for(framework, env={name: "0.0.0.0"})))
    if name in ENV_DENYLIST or name.startswith(ENV_DENY_PREFIXES):
        assert info.value.field == "env"  # (PORT, HUBAPPS_*: refused for every framework by the spec's rules)
    else:
        assert info.value.field == f"env.{name}"
        assert "listens" in info.value.message
    assert name in str(info.value)


@pytest.mark.parametrize("framework", builtin_frameworks(), ids=lambda fw: fw.name)
def test_ordinary_env_and_args_are_accepted(framework: Framework) -> None:
    policy = SpecPolicy(FrameworkRegistry.load(lambda: []))
    fields: dict[str, object] = {"env": {"MY_SETTING": "0.0.0.0", "SERVER_NAME_OF_MINE": "x"}}
    if framework.allowed_options is not None:  # args reach an admin-configured server: its allow-list
        options = framework.allowed_options.items()
        fields["args"] = [f"--{name}={'/lab' if kind == 'url_path' else 'data'}" for name, kind in options]
    elif "{args}" in framework.argv:
        fields["args"] = ["--verbose", "--portfolio=a", "data.csv"]
    spec = parse_user_options(_spec_for(framework, **fields))
    assert policy.check(spec).name == framework.name
    _, env = build_command(spec, framework, CONTEXT)
    assert env["MY_SETTING"] == "0.0.0.0"


@pytest.mark.parametrize(
    ("framework", "arg"),
    [
        ("streamlit", "--server.address=0.0.0.0"),
        ("streamlit", "--server.port"),
        ("streamlit", "--server.enableXsrfProtection=false"),
        ("streamlit", "--global.developmentMode=true"),
        ("panel", "--address"),
        ("panel", "--allow-websocket-origin=evil.example"),
        ("panel", "--port=80"),
        ("panel", "--unix-socket=/tmp/x"),
        ("bokeh", "--address=0.0.0.0"),
        ("bokeh", "--prefix"),
    ],
)
def test_server_options_in_args_are_refused(framework: str, arg: str) -> None:
    registry = FrameworkRegistry.load(lambda: [])
    fw = registry.get(framework)
    spec = parse_user_options(_spec_for(fw, args=["ok", arg]))
    with pytest.raises(SpecError) as info:
        SpecPolicy(registry).check(spec)
    assert info.value.field == "args.1"
    assert arg.split("=")[0] in info.value.message


@pytest.mark.parametrize(
    ("framework", "name"),
    [("gradio", "GRADIO_SERVER_NAME"), ("streamlit", "STREAMLIT_SERVER_ADDRESS"), ("fastapi", "UVICORN_HOST")],
)
def test_protected_names_are_refused_as_secrets_too(framework: str, name: str) -> None:
    """A secret variable reaches the app's environment like a plain one: it may not move the app either,
    and the refusal comes when the spec is saved (the policy check), not only at start."""
    from cryptography.fernet import Fernet

    fw = builtin_frameworks_by_name()[framework]
    sealed = Fernet(Fernet.generate_key()).encrypt(b'"0.0.0.0"').decode()
    spec = parse_user_options(_spec_for(fw, spec_version=2, secret_env={name: sealed}))
    with pytest.raises(SpecError) as info:
        SpecPolicy(FrameworkRegistry.load(lambda: [])).check(spec)
    assert info.value.field == f"secret_env.{name}"
    assert "listens" in info.value.message


def builtin_frameworks_by_name() -> dict[str, Framework]:
    return {fw.name: fw for fw in builtin_frameworks()}


def test_a_framework_that_writes_the_prefix_into_html_refuses_a_hostile_address() -> None:
    """Chainlit puts its root path into its page unescaped (an attribute): a user name that decodes to
    markup is refused at start, with the reason, instead of served as HTML."""
    registry = FrameworkRegistry.load(lambda: [])
    chainlit = registry.get("chainlit")
    assert chainlit.prefix_in_html
    spec = parse_user_options(example_spec("chainlit", "examples"))
    hostile = LaunchContext(prefix="/user/o%22%3E%3Cscript%3E/chat/", server_name="chat")
    with pytest.raises(SpecError) as info:
        build_command(spec, chainlit, hostile)
    assert info.value.field == "framework"
    assert "unescaped" in info.value.message
    # An address with %-escapes that are not markup (an e-mail address as user name) is served.
    argv, _ = build_command(spec, chainlit, LaunchContext(prefix="/user/ann%40x.org/chat/", server_name="chat"))
    assert argv[argv.index("--root-path") + 1] == "/user/ann@x.org/chat"


def test_the_docs_table_lists_every_framework_as_the_data_says() -> None:
    """docs/frameworks.md "At a glance": one row per built-in, its websocket and socket/TCP columns true."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "frameworks.md").read_text()
    table = text[text.index("| name | websocket | listens on |") :].split("\n\n", 1)[0]
    rows = {
        cells[0].strip("`"): cells
        for line in table.splitlines()[2:]
        if (cells := [cell.strip() for cell in line.strip("|").split("|")])
    }
    assert set(rows) == BUILTINS
    for fw in builtin_frameworks():
        websocket, listens = rows[fw.name][1], rows[fw.name][2]
        if fw.websocket:
            assert websocket.startswith("yes"), fw.name
        assert ("**TCP-only**" in listens) == bool(fw.tcp_only), fw.name
