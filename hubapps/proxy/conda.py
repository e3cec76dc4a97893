"""Activate a conda environment as ``conda activate`` does, on a machine that may have no conda.

``conda activate <name>`` does four things that an app notices (conda's ``activate.py``):

1. ``<prefix>/bin`` first on ``PATH``; ``CONDA_PREFIX``, ``CONDA_DEFAULT_ENV`` (the name),
   ``CONDA_SHLVL`` and ``CONDA_PROMPT_MODIFIER`` set;
2. the variables packages declare in ``<prefix>/etc/conda/env_vars.d/*.json`` (sorted), then those of
   ``conda env config vars set`` (``env_vars`` of ``<prefix>/conda-meta/state``, which win), exported; the
   value ``***unset***`` unsets a name;
3. the shell scripts ``<prefix>/etc/conda/activate.d/*.sh``, sourced in sorted order (packages such as
   GDAL, PROJ or CUDA toolkits set their variables there).

Steps 1 and 2 are plain data and are applied here. Step 3 runs the environment's own scripts, as conda
would, with one fixed command: ``sh -c 'for s do . "$s" >&2; done; env -0' sh <script>...``. No user text
is ever part of a shell command: the scripts are files of the admin's environment (a script whose real
path leaves the prefix, through a symlink, is skipped), the script names are positional arguments, and
the environment they run in has no Hub token and none of the app's own (user-set, maybe secret)
variables. The variables the scripts set, change or unset are read back from ``env -0`` and applied to
the app's environment, before the app's own variables (which win). The scripts run once per proxy,
bounded by a time limit; their output goes to the app's log.

The proxy runs as the server's user, so the scripts run with no more rights than the app itself has.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from collections.abc import Callable, Iterable, Mapping

__all__ = [
    "UNSET_MARKER",
    "ActivationError",
    "activate",
    "activation_scripts",
    "declared_env_vars",
    "is_conda_prefix",
    "resolve_conda_env",
]

#: conda's value for "unset this variable" (``CONDA_ENV_VARS_UNSET_VAR``).
UNSET_MARKER = "***unset***"
#: Variables a shell sets for itself: never taken from the scripts' environment.
_SHELL_OWN = frozenset({"_", "PWD", "OLDPWD", "SHLVL"})
#: The one command that sources the scripts (``$@``) and prints the resulting environment.
_SOURCE_SCRIPTS = 'for script do . "$script" >&2; done; env -0'
#: Bytes of a JSON declaration file read at most.
_MAX_DECLARATION_BYTES = 1 << 20
#: Bytes of the scripts' resulting environment read at most.
_MAX_ENV_BYTES = 4 << 20


class ActivationError(Exception):
    """The environment could not be activated; the message is safe to show."""


def is_conda_prefix(prefix: str) -> bool:
    """Whether ``prefix`` is a conda environment (it has ``conda-meta/``)."""
    return os.path.isdir(os.path.join(prefix, "conda-meta"))


def resolve_conda_env(name: str, env_dirs: Iterable[str]) -> str:
    """The prefix of the conda environment ``name``: the first ``<dir>/<name>`` of ``env_dirs`` that is a
    conda environment (as ``conda activate <name>`` searches ``envs_dirs``); "" if none is."""
    if not name or name in (".", "..") or "/" in name or name.startswith("-"):
        return ""
    for folder in env_dirs:
        prefix = os.path.join(os.path.expanduser(folder), name)
        if is_conda_prefix(prefix):
            return prefix
    return ""


def _read_json_object(path: str) -> dict[str, object]:
    try:
        with open(path, "rb") as file:
            data = json.loads(file.read(_MAX_DECLARATION_BYTES))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def declared_env_vars(prefix: str) -> dict[str, str | None]:
    """The variables the environment declares (``None``: unset it), in conda's order: packages'
    ``etc/conda/env_vars.d/*.json`` first, then ``conda-meta/state``'s ``env_vars``."""
    out: dict[str, str | None] = {}
    package_dir = os.path.join(prefix, "etc", "conda", "env_vars.d")
    files = sorted(os.path.join(package_dir, n) for n in os.listdir(package_dir)) if os.path.isdir(package_dir) else []
    state = _read_json_object(os.path.join(prefix, "conda-meta", "state")).get("env_vars")
    for declared in [_read_json_object(f) for f in files if f.endswith(".json")] + [
        state if isinstance(state, dict) else {}
    ]:
        for name, value in declared.items():
            if isinstance(name, str) and name and "=" not in name and "\0" not in name and isinstance(value, str):
                out[name] = None if value == UNSET_MARKER else value.replace("\0", "")
    return out


def activation_scripts(prefix: str) -> list[str]:
    """``etc/conda/activate.d/*.sh`` of the environment, sorted, each a regular file whose real path is
    inside the environment's real folder (a symlink that leaves it is skipped)."""
    folder = os.path.join(prefix, "etc", "conda", "activate.d")
    if not os.path.isdir(folder):
        return []
    root = os.path.realpath(prefix)
    scripts = []
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        real = os.path.realpath(path)
        if name.endswith(".sh") and os.path.commonpath([root, real]) == root and os.path.isfile(real):
            scripts.append(real)
    return scripts


def _base_activation(prefix: str, name: str, env: Mapping[str, str]) -> dict[str, str | None]:
    bin_dir = os.path.join(prefix, "bin")
    path = env.get("PATH", "")
    return {
        "PATH": bin_dir + os.pathsep + path if path else bin_dir,
        "CONDA_PREFIX": prefix,
        "CONDA_DEFAULT_ENV": name,
        "CONDA_SHLVL": "1",
        "CONDA_PROMPT_MODIFIER": f"({name}) ",
        "VIRTUAL_ENV": None,
        "PYTHONHOME": None,
    }


def _apply(env: Mapping[str, str], changes: Mapping[str, str | None]) -> dict[str, str]:
    out = dict(env)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def _parse_env0(raw: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for entry in raw.split(b"\0"):
        key, sep, value = entry.decode("utf-8", "surrogateescape").partition("=")
        if sep and key:
            out[key] = value
    return out


async def _run_scripts(
    scripts: list[str], env: Mapping[str, str], cwd: str, on_line: Callable[[str], None], time_limit: float
) -> dict[str, str]:
    process = await asyncio.create_subprocess_exec(
        "/bin/sh",
        "-c",
        _SOURCE_SCRIPTS,
        "sh",
        *scripts,
        cwd=cwd,
        env=dict(env),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    stdout, stderr = process.stdout, process.stderr

    async def log_lines() -> None:
        while line := await stderr.readline():
            on_line("conda activate: " + line.decode("utf-8", "replace").rstrip("\r\n"))

    logger = asyncio.create_task(log_lines())
    try:
        async with asyncio.timeout(time_limit):
            raw = await stdout.read(_MAX_ENV_BYTES)
            await logger
            code = await process.wait()
    except TimeoutError:
        raise ActivationError(f"the environment's activate.d scripts did not finish within {time_limit:g} s") from None
    finally:
        logger.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await logger
        # The scripts' session, whatever they left running in it: then the pipes close and are read to
        # their end (their transports close with them).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.communicate()
    if code != 0:
        raise ActivationError(f"the environment's activate.d scripts failed (exit code {code}; see the log)")
    return _parse_env0(raw)


async def activate(
    prefix: str,
    name: str,
    env: Mapping[str, str],
    *,
    cwd: str,
    on_line: Callable[[str], None],
    time_limit: float,
) -> dict[str, str | None]:
    """What ``conda activate`` changes in ``env`` for the environment at ``prefix`` called ``name``:
    variable → new value, or ``None`` to unset it. ``env`` must be free of tokens and of the app's own
    variables: the activation scripts see it."""
    changes = _base_activation(prefix, name, env)
    changes.update(await asyncio.to_thread(declared_env_vars, prefix))
    scripts = await asyncio.to_thread(activation_scripts, prefix)
    if not scripts:
        return changes
    before = _apply(env, changes)
    after = await _run_scripts(scripts, before, cwd, on_line, time_limit)
    for key in (set(before) | set(after)) - _SHELL_OWN:
        if before.get(key) != after.get(key):
            changes[key] = after.get(key)
    return changes
