"""Conda activation's data parts: names → prefixes, declared variables, which scripts may run.

(Running the activate.d scripts is a subprocess: tests/integration/test_git_and_conda.py.)"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import aiohttp
import pytest

from hubapps.core.command import LaunchContext, proxy_options
from hubapps.core.frameworks import FrameworkRegistry
from hubapps.core.spec import parse_user_options
from hubapps.proxy.conda import activate, activation_scripts, declared_env_vars, resolve_conda_env
from hubapps.proxy.config import parse_config
from hubapps.proxy.process import app_environment
from tests.unit.proxy.conftest import StartProxy, resource, url


def _conda_env(prefix: Path, state: dict[str, str] | None = None) -> Path:
    (prefix / "conda-meta").mkdir(parents=True)
    (prefix / "conda-meta" / "history").write_text("==> 2026-01-01 00:00:00 <==\n")
    if state is not None:
        (prefix / "conda-meta" / "state").write_text(json.dumps({"env_vars": state}))
    return prefix


def test_a_name_is_found_in_the_first_folder_that_has_it(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    (first / "geo").mkdir(parents=True)  # not a conda environment (no conda-meta)
    _conda_env(second / "geo")
    assert resolve_conda_env("geo", [str(first), str(second)]) == str(second / "geo")
    assert resolve_conda_env("missing", [str(first), str(second)]) == ""
    for bad in ("..", ".", "../b/geo", "-x", ""):
        assert resolve_conda_env(bad, [str(first), str(second)]) == ""


def test_declared_variables_in_condas_order(tmp_path: Path) -> None:
    prefix = _conda_env(tmp_path / "env", {"LEVEL": "state", "GONE": "***unset***", "BAD=NAME": "x"})
    packages = prefix / "etc" / "conda" / "env_vars.d"
    packages.mkdir(parents=True)
    (packages / "b.json").write_text(json.dumps({"LEVEL": "package-b", "PKG_B": "1"}))
    (packages / "a.json").write_text(json.dumps({"PKG_A": "1", "LEVEL": "package-a"}))
    (packages / "broken.json").write_text("{not json")
    assert declared_env_vars(str(prefix)) == {"PKG_A": "1", "LEVEL": "state", "PKG_B": "1", "GONE": None}


def test_only_scripts_inside_the_environment_run(tmp_path: Path) -> None:
    prefix = _conda_env(tmp_path / "env")
    folder = prefix / "etc" / "conda" / "activate.d"
    folder.mkdir(parents=True)
    (folder / "b.sh").write_text("export B=1\n")
    (folder / "a.sh").write_text("export A=1\n")
    (folder / "notes.txt").write_text("not a script")
    (tmp_path / "outside.sh").write_text("export EVIL=1\n")
    (folder / "c.sh").symlink_to(tmp_path / "outside.sh")
    (prefix / "share").mkdir()
    (prefix / "share" / "inside.sh").write_text("export D=1\n")
    (folder / "d.sh").symlink_to(prefix / "share" / "inside.sh")
    assert activation_scripts(str(prefix)) == [
        str(folder / "a.sh"),
        str(folder / "b.sh"),
        str((prefix / "share" / "inside.sh").resolve()),
    ]


def test_activation_without_scripts_is_data_only(tmp_path: Path) -> None:
    prefix = _conda_env(tmp_path / "sci", {"SCI": "1", "HOME_HINT": "***unset***"})
    parent = {"PATH": "/usr/bin", "VIRTUAL_ENV": "/old", "HOME_HINT": "x", "JUPYTERHUB_API_TOKEN": "secret"}
    changes = asyncio.run(
        activate(str(prefix), "sci", parent, cwd=str(tmp_path), on_line=lambda line: None, time_limit=5)
    )
    env = app_environment(
        parent, {"SCI": "mine"}, 8000, pass_hub_token=False, env_prefix=str(prefix), conda=True, activation=changes
    )
    assert env["PATH"] == f"{prefix}/bin{os.pathsep}/usr/bin"
    assert (env["CONDA_PREFIX"], env["CONDA_DEFAULT_ENV"], env["CONDA_SHLVL"]) == (str(prefix), "sci", "1")
    assert "VIRTUAL_ENV" not in env
    assert "HOME_HINT" not in env
    assert "JUPYTERHUB_API_TOKEN" not in env
    assert env["SCI"] == "mine"  # the app's own variables win over the environment's


def test_a_name_without_a_folder_goes_to_the_proxy_with_the_admins_folders() -> None:
    registry = FrameworkRegistry.load()
    spec = parse_user_options(
        {"spec_version": 2, "framework": "streamlit", "display_name": "A", "filepath": "a.py", "python_env": "geo"}
    )
    options = proxy_options(
        spec, registry.get("streamlit"), LaunchContext(prefix="/user/a/b/"), conda_env_dirs=("/opt/envs", "~/envs")
    )
    argv = options.to_argv()
    assert "--conda-env=geo" in argv
    assert argv[argv.index("--conda-env=geo") + 1 :][:2] == ["--conda-env-dir=/opt/envs", "--conda-env-dir=~/envs"]
    config = parse_config([*argv, "--", "app"], {"JUPYTERHUB_SERVICE_URL": "http://127.0.0.1:9/"})
    assert (config.conda_env, config.conda_env_dirs) == ("geo", ("/opt/envs", "~/envs"))
    # A folder the admin mapped the name to wins: no search.
    mapped = proxy_options(spec, registry.get("streamlit"), LaunchContext(prefix="/user/a/b/"), env_prefix="/srv/geo")
    assert "--env-prefix=/srv/geo" in mapped.to_argv()
    assert not any(a.startswith("--conda-env") for a in mapped.to_argv())


def test_the_git_token_never_reaches_the_app() -> None:
    env = app_environment({"PATH": "/bin", "HUBAPPS_GIT_AUTH": "tok"}, {}, 8000, pass_hub_token=True)
    assert "HUBAPPS_GIT_AUTH" not in env


# -- the proxy activating an environment as it starts the app -----------------------------------------

ALICE = {"Authorization": "token alice-token"}


def _with_python(prefix: Path) -> Path:
    (prefix / "bin").mkdir(parents=True, exist_ok=True)
    (prefix / "bin" / "python").symlink_to(sys.executable)
    return prefix


async def test_a_conda_env_found_by_name_runs_the_app_activated(
    start_proxy: StartProxy, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    envs = tmp_path / "envs"
    prefix = _with_python(_conda_env(envs / "geo", {"GEO_LEVEL": "state"}))
    scripts = prefix / "etc" / "conda" / "activate.d"
    scripts.mkdir(parents=True)
    (scripts / "proj.sh").write_text('export PROJ_DATA="$CONDA_PREFIX/share/proj"\nunset DROP_ME\necho proj ready\n')
    proxy = await start_proxy(
        ["{python}", resource("env_dump_app.py"), "{port}"],
        f"--conda-env-dir={tmp_path / 'nowhere'}",
        f"--conda-env-dir={envs}",
        "--conda-env=geo",
        env={"DROP_ME": "1", "HUBAPPS_APP_ENV": '{"GEO_LEVEL": "mine"}'},
    )
    async with http.get(url(proxy), headers=ALICE) as response:
        seen = await response.json()
    env = seen["env"]
    assert env["PATH"].split(os.pathsep)[0] == str(prefix / "bin")
    assert (env["CONDA_PREFIX"], env["CONDA_DEFAULT_ENV"]) == (str(prefix), "geo")
    assert env["PROJ_DATA"] == f"{prefix}/share/proj"
    assert "DROP_ME" not in env
    assert env["GEO_LEVEL"] == "mine"
    assert "conda activate: proj ready" in proxy.process.output.lines()


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        (None, "the conda environment 'geo' was not found in "),
        (
            "echo broken >&2\nexit 3\n",
            "could not activate the conda environment 'geo': the environment's activate.d "
            "scripts failed (exit code 3; see the log)",
        ),
        (
            "sleep 30\n",
            "could not activate the conda environment 'geo': the environment's activate.d scripts did "
            "not finish within 0.5 s",
        ),
    ],
    ids=["not-found", "script-fails", "script-hangs"],
)
async def test_an_environment_that_cannot_be_activated_fails_the_start_saying_why(
    start_proxy: StartProxy, tmp_path: Path, script: str | None, reason: str
) -> None:
    envs = tmp_path / "envs"
    if script is not None:
        scripts = _with_python(_conda_env(envs / "geo")) / "etc" / "conda" / "activate.d"
        scripts.mkdir(parents=True)
        (scripts / "a.sh").write_text(script)
    proxy = await start_proxy(
        ["{python}", resource("echo_app.py"), "{port}"],
        f"--conda-env-dir={envs}",
        "--conda-env=geo",
        "--activate-timeout=0.5",
        wait_ready=False,
    )
    await asyncio.wait_for(proxy.process.finished.wait(), 10)
    assert proxy.process.reason.startswith(reason)
    assert proxy.process.pid is None  # the app never started
