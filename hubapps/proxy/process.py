"""The app process: start it, watch it, restart it, stop it; where it listens and what it runs with.

State transitions (see :class:`AppState`)::

    starting ──ready check answers (< 500)──► ready
    starting ──ready timeout────────────────► failed   (the app is stopped)
    starting ──app exits, never ready yet───► failed   (after ``start_retries`` retries; 0 by default)
    ready ──app exits──► starting (restart after a back-off) ── too many restarts ──► failed
    starting ──clone fails / cwd missing────► failed

``failed`` is final: :attr:`AppProcess.finished` is set and the caller (``main``) keeps the failure page
(and ``_hubapps/status``, which the launcher reads) up for ``failure_linger`` seconds, then exits
non-zero so the Hub sees the server stop.

An app that exits before it was ever ready (a missing file, a syntax error, a bad option) would do the
same again: it is not restart-looped, it fails at once (``start_retries`` allows a few retries, for apps
that lose a race at start), with a reason that carries the app's own last words
(:func:`~hubapps.proxy.exitreason.app_message`). An app that crashes after having been ready is
restarted: up to ``max_restarts`` restarts within ``restart_window`` seconds, each one waiting
``restart_backoff * 2**n`` seconds (capped). :attr:`AppProcess.ready_after` is how long the app took to
become ready (the first time from the start of supervision, clone included; after a restart from that
restart).

Where the app listens (:class:`AppAddress`): with ``--app-socket`` on a unix socket in a folder that the
proxy makes for it and only this user can open (mode 0700, under ``$XDG_RUNTIME_DIR`` when that is
private, else the system's temporary folder), removed when the proxy stops; otherwise on a free port of
127.0.0.1, which every local user can reach (frameworks that cannot do better, docs/frameworks.md).

The app runs in its own session (process group) so that stopping it reaches its children too: SIGTERM
to the group, SIGKILL after ``stop_grace`` seconds. Some spawners stop a server by signalling all its
processes at once (Slurm's ``scancel``, systemd's stop of a unit): an app that exits as a stopped
program does (:data:`STOPPED_EXIT_CODES`) without the proxy asking is only called a crash if the proxy
is not itself stopped within :data:`EXTERNAL_STOP_WAIT` seconds. Its stdout and stderr are merged into an in-memory
ring buffer (:class:`~hubapps.proxy.output.OutputBuffer`) that is also echoed to the proxy's stderr
(the spawner's log; for local spawners the Hub's log), prefixed, escaped and rate-limited there
(:mod:`hubapps.proxy.applog`).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import os
import resource
import shutil
import signal
import socket
import stat
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TextIO, TypeVar
from urllib.parse import quote

from hubapps.core.proxy_env import APP_ENV_VAR
from hubapps.core.reports import REPORT_CA_ENV_VAR
from hubapps.core.statuskey import APP_KEY_ENV_VAR
from hubapps.proxy.applog import AppLogEcho, log_prefix
from hubapps.proxy.checkout import GIT_AUTH_ENV_VAR, CheckoutError, checkout_repository
from hubapps.proxy.conda import ActivationError, activate, is_conda_prefix, resolve_conda_env
from hubapps.proxy.config import ProxyConfig
from hubapps.proxy.exitreason import app_message, out_of_memory
from hubapps.proxy.output import OutputBuffer

__all__ = [
    "AppAddress",
    "AppProcess",
    "AppState",
    "app_argv",
    "app_environment",
    "free_port",
    "private_socket_dir",
]

#: Exit codes of a program that was stopped (killed by SIGTERM, SIGINT or SIGHUP, ``128 + signal`` as
#: shells report it, or 0 after a graceful shutdown). An app that exits so without the proxy asking was
#: most likely stopped with the whole server: ``scancel`` and systemd signal every process of the job
#: or unit, not just the proxy.
STOPPED_EXIT_CODES = frozenset(
    {0, *(-s for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)), *(128 + s for s in (15, 2, 1))}
)
#: Seconds the proxy waits, after such an exit, for its own stop signal before calling it a crash.
EXTERNAL_STOP_WAIT = 2.0
#: Seconds between two readiness probes (fixed: the first answer should be seen quickly).
READY_POLL_INTERVAL = 0.1
#: Timeout of one readiness probe.
READY_PROBE_TIMEOUT = 2.0
#: Seconds the ``--check-file`` compile may take (a file that takes longer is left to the app).
CHECK_FILE_TIMEOUT = 10.0
#: Compiles the file named by argv[1] without running any of it; prints the SyntaxError and exits 1.
#: A file that cannot be read is left to the app, which says so in its own words.
_COMPILE = (
    "import sys\n"
    "path = sys.argv[1]\n"
    "try:\n"
    "    source = open(path, 'rb').read()\n"
    "except OSError:\n"
    "    sys.exit(0)\n"
    "try:\n"
    "    compile(source, path, 'exec', dont_inherit=True)\n"
    "except SyntaxError as error:\n"
    "    print(f'{type(error).__name__}: {error}')\n"
    "    sys.exit(1)\n"
    "except (ValueError, RecursionError, MemoryError):\n"
    "    sys.exit(0)\n"
)
#: Seconds to wait for the output pipe to drain after the app exited (grandchildren may hold it open).
OUTPUT_DRAIN_TIMEOUT = 1.0
#: Environment variables never passed to the app (the Hub token unless ``--pass-hub-token``).
_TOKEN_VARS = ("JUPYTERHUB_API_TOKEN", "JPY_API_TOKEN")
#: Variables of the proxy's environment that only the proxy reads (never passed to the app).
_PROXY_ONLY_VARS = frozenset({APP_ENV_VAR, APP_KEY_ENV_VAR, GIT_AUTH_ENV_VAR, REPORT_CA_ENV_VAR})
#: File name of the app's socket in its private folder.
SOCKET_NAME = "app.sock"
#: Longest unix socket path the kernel takes (``sun_path`` is 108 bytes on Linux, with its NUL).
MAX_SOCKET_PATH = 107

_Protocol = TypeVar("_Protocol", bound=asyncio.BaseProtocol)


@dataclass(frozen=True)
class AppAddress:
    """Where the app listens: the unix socket ``path``, or else ``port`` on 127.0.0.1."""

    port: int = 0
    path: str = ""

    @property
    def host(self) -> str:
        """``Host`` header for a request that came without one."""
        return "localhost" if self.path else f"127.0.0.1:{self.port}"

    @property
    def origins(self) -> tuple[str, ...]:
        """The app's own origins, as it may spell them in redirects (none for a socket)."""
        return () if self.path else (f"http://127.0.0.1:{self.port}", f"http://localhost:{self.port}")

    def __str__(self) -> str:
        return f"unix:{self.path}" if self.path else f"127.0.0.1:{self.port}"

    async def connect(self, factory: Callable[[], _Protocol]) -> tuple[asyncio.BaseTransport, _Protocol]:
        loop = asyncio.get_running_loop()
        if self.path:
            return await loop.create_unix_connection(factory, self.path)
        return await loop.create_connection(factory, "127.0.0.1", self.port)

    async def open_stream(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.path:
            return await asyncio.open_unix_connection(self.path)
        return await asyncio.open_connection("127.0.0.1", self.port)


class AppState(enum.StrEnum):
    STARTING = "starting"
    READY = "ready"
    FAILED = "failed"


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (the app binds it right after; the race is accepted)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _private_to_us(path: str) -> bool:
    try:
        info = os.stat(path)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & 0o077


def private_socket_dir(env: Mapping[str, str]) -> str:
    """A new folder for the app's socket that only this user can open (mode 0700; the caller removes it).

    It is made under ``$XDG_RUNTIME_DIR`` when that is this user's own private folder (systemd's
    ``/run/user/<uid>``), else in the system's temporary folder (``tempfile.mkdtemp``, which makes it
    0700 and with a name nobody could have made beforehand).
    """
    runtime = env.get("XDG_RUNTIME_DIR", "")
    base = runtime if runtime and len(runtime) < MAX_SOCKET_PATH - 40 and _private_to_us(runtime) else None
    folder = tempfile.mkdtemp(prefix="hubapps-", dir=base)
    os.chmod(folder, 0o700)
    return folder


def _fill(item: str, port: int, socket_path: str) -> str:
    if port:
        item = item.replace("{port}", str(port))
    if socket_path:
        item = item.replace("{socket}", socket_path)
    return item


def app_argv(template: Sequence[str], port: int, python: str, socket_path: str = "") -> list[str]:
    """Fill the run-time tokens: ``{port}`` (when there is one) and ``{socket}`` (when there is one)
    anywhere (plain replace), ``{python}`` as a whole argument.

    Nothing else is interpreted: ``{0.__class__}`` stays exactly that.
    """
    return [python if item == "{python}" else _fill(item, port, socket_path) for item in template]


def app_environment(
    parent: Mapping[str, str],
    extra: Mapping[str, str],
    port: int,
    *,
    pass_hub_token: bool,
    env_prefix: str = "",
    conda: bool = False,
    socket_path: str = "",
    activation: Mapping[str, str | None] | None = None,
) -> dict[str, str]:
    """The app's environment: the proxy's, minus the Hub token and our own variables, plus ``extra``.

    With ``env_prefix`` the environment is activated the way ``activate`` does it: its ``bin`` first on
    ``PATH``, ``VIRTUAL_ENV`` (or ``CONDA_PREFIX`` for a conda environment) set, ``PYTHONHOME`` unset.
    ``activation`` (what :func:`hubapps.proxy.conda.activate` found: a value, or None to unset) is
    applied after that and before ``extra``, so the app's own variables win.
    """
    env = {key: value for key, value in parent.items() if key not in _PROXY_ONLY_VARS}
    if not pass_hub_token:
        for key in _TOKEN_VARS:
            env.pop(key, None)
    if env_prefix:
        bin_dir = os.path.join(env_prefix, "bin")
        env["PATH"] = bin_dir + os.pathsep + env["PATH"] if env.get("PATH") else bin_dir
        env.pop("PYTHONHOME", None)
        if conda:
            env.pop("VIRTUAL_ENV", None)
            env["CONDA_PREFIX"] = env_prefix
            env["CONDA_DEFAULT_ENV"] = os.path.basename(env_prefix.rstrip("/"))
        else:
            env["VIRTUAL_ENV"] = env_prefix
    for key, value in (activation or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    env.update({key: _fill(value, port, socket_path) for key, value in extra.items()})
    return env


class AppProcess:
    """Supervise one app process as described in the module docstring.

    ``parent_env`` is the proxy's environment (passed in, not read here); ``base_dir`` is the folder
    relative paths (``cwd``, ``checkout``, ``env_prefix``) are taken from.
    """

    def __init__(
        self,
        config: ProxyConfig,
        parent_env: Mapping[str, str],
        *,
        base_dir: str,
        echo: TextIO | None = None,
    ) -> None:
        self.config = config
        hub = config.hub
        self.log_echo = AppLogEcho(
            echo if echo is not None else sys.stderr,
            log_prefix(hub.user, hub.server_name),
            rate=config.log_echo_rate,
            burst=config.log_echo_burst,
            line_length=config.log_echo_line_length,
            note_interval=config.log_echo_note_interval,
        )
        self.output = OutputBuffer(config.log_lines, self.log_echo)
        self.state = AppState.STARTING
        self.reason = ""
        #: The app's private socket folder (``--app-socket``), or "" when it gets a port instead.
        self.socket_dir = private_socket_dir(parent_env) if config.app_socket else ""
        socket_path = os.path.join(self.socket_dir, SOCKET_NAME) if self.socket_dir else ""
        self.port = 0 if socket_path else free_port()
        self.address = AppAddress(port=self.port, path=socket_path)
        #: Set once the app has failed for good (the proxy should exit non-zero).
        self.finished = asyncio.Event()
        #: Set whenever the app becomes ready (cleared on restart).
        self.ready = asyncio.Event()
        #: Set once the first app process was started, or the start failed for good.
        self.spawned = asyncio.Event()
        self._parent_env = dict(parent_env)
        self._base_dir = base_dir
        self._process: asyncio.subprocess.Process | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._stopping = False
        self._started = self._attempt_started = time.monotonic()
        self._restarts: deque[float] = deque()
        #: Whether the app has answered its ready check at least once (then exits are restarted).
        self.ever_ready = False
        #: Seconds the app took to become ready (None until it is).
        self.ready_after: float | None = None
        #: Restarts after the app had been ready, since the proxy began (the restart budget's window aside).
        self.restarts_total = 0
        #: Told ``ready_after`` each time the app becomes ready (the proxy's metrics).
        self.on_ready: Callable[[float], None] | None = None
        self._start_failures = 0
        #: Number of the first output line of the current attempt (its own words are after it).
        self._attempt_first_line = 0
        #: The app's environment folder (found once it starts), whether it is conda's, and what
        #: activating it changes (see :mod:`hubapps.proxy.conda`).
        self._env_prefix = ""
        self._conda = False
        self._activation: dict[str, str | None] = {}

    # -- public surface -------------------------------------------------------------------------

    @property
    def elapsed(self) -> float:
        """Seconds since the current start attempt (clone included)."""
        return time.monotonic() - self._attempt_started

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def status(self) -> dict[str, object]:
        """``_hubapps/status`` for those who may read the output: state, seconds since the current
        attempt began, the reason of a failure or restart, and the time the app took to be ready."""
        ready_after = round(self.ready_after, 1) if self.ready_after is not None else None
        return {
            "state": str(self.state),
            "elapsed": round(self.elapsed, 1),
            "reason": self.reason,
            "ready_after": ready_after,
        }

    def start(self) -> None:
        """Start supervising (clone, start, watch); returns at once."""
        if self._supervisor is None:
            self._started = self._attempt_started = time.monotonic()
            self._supervisor = asyncio.create_task(self._supervise(), name="hubapps-app-supervisor")

    async def stop(self) -> None:
        """Stop the app (and its process group) and the supervisor; safe to call more than once."""
        await self._halt()
        if self.socket_dir:
            await asyncio.to_thread(shutil.rmtree, self.socket_dir, True)
        self.log_echo.close()

    async def give_up(self, reason: str) -> None:
        """Fail for good for a reason outside the app (the proxy cannot serve it): the app is stopped,
        and the state is ``failed`` with ``reason``, as if the app had failed (:attr:`finished` is set)."""
        await self._halt()
        self._fail(reason)

    async def _halt(self) -> None:
        """Stop the app's process group and the supervisor (no restart follows)."""
        self._stopping = True
        if self._process is not None:
            await self._terminate(self._process)
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor

    # -- supervision ----------------------------------------------------------------------------

    def _path(self, path: str) -> str:
        return os.path.normpath(os.path.join(self._base_dir, path))

    def _fail(self, reason: str) -> None:
        self.spawned.set()
        self.state = AppState.FAILED
        self.reason = reason
        self.ready.clear()
        self.output.append(f"hubapps: {reason}")  # also wakes the push streams
        self.finished.set()

    async def _supervise(self) -> None:
        config = self.config
        if config.repo_url:
            try:
                await checkout_repository(
                    config.repo_url,
                    config.repo_ref,
                    self._path(config.checkout),
                    env=self._parent_env_without_tokens(),
                    on_line=self.output.append,
                    time_limit=config.git_timeout,
                    token=self._parent_env.get(GIT_AUTH_ENV_VAR, ""),
                )
            except (CheckoutError, OSError) as error:
                self._fail(f"could not get the app's repository: {error}")
                return
        cwd = self._path(config.cwd)
        if not await asyncio.to_thread(os.path.isdir, cwd):
            self._fail(f"the app's working folder {config.cwd!r} does not exist")
            return
        if not await self._activate_environment(cwd):
            return
        while not self._stopping:
            code = await self._run_once(cwd)
            if self._stopping or self.state is AppState.FAILED:
                return
            if code in STOPPED_EXIT_CODES:
                # The same signal is usually on its way to the proxy: if it comes, stop() cancels this
                # wait and the run ends as stopped, not as a crash.
                await asyncio.sleep(EXTERNAL_STOP_WAIT)
            now = time.monotonic()
            while self._restarts and now - self._restarts[0] > config.restart_window:
                self._restarts.popleft()
            described = f"the app exited with code {code}" if code is not None else "the app exited"
            if code and config.memory_limit and out_of_memory(self.output.since(self._attempt_first_line)[1]):
                described = f"the app ran out of memory (its limit is {_mebibytes(config.memory_limit)})"
            if not self.ever_ready:
                # It never got as far as answering: the same start would fail the same way.
                if self._start_failures >= config.start_retries:
                    self._fail(self._exit_reason(described + " before it was ready"))
                    return
                self._start_failures += 1
                delay = min(config.restart_backoff * 2 ** (self._start_failures - 1), config.restart_backoff_max)
                self.reason = f"{described} before it was ready; retrying in {delay:g} s"
                self.output.append(f"hubapps: {self.reason}")
                await asyncio.sleep(delay)
                continue
            if len(self._restarts) >= config.max_restarts:
                suffix = f" ({len(self._restarts)} restarts in {config.restart_window:g} s)"
                self._fail(described + (suffix if self._restarts else ""))
                return
            delay = min(config.restart_backoff * 2 ** len(self._restarts), config.restart_backoff_max)
            self._restarts.append(now)
            self.restarts_total += 1
            self.state = AppState.STARTING
            self.ready.clear()
            self.reason = f"{described}; restarting in {delay:g} s"
            self.output.append(f"hubapps: {self.reason}")
            await asyncio.sleep(delay)

    def _exit_reason(self, described: str) -> str:
        """``described``, with the app's own last words from this attempt's output when it said any."""
        _, lines = self.output.since(self._attempt_first_line)
        message = app_message(lines)
        return f"{described}: {message}" if message else described

    def _parent_env_without_tokens(self) -> dict[str, str]:
        return app_environment(self._parent_env, {}, self.port, pass_hub_token=False)

    async def _activate_environment(self, cwd: str) -> bool:
        """Find the app's environment (``--env-prefix``, or ``--conda-env`` in ``--conda-env-dir``) and,
        for a conda environment, work out once what activating it changes; False when that failed."""
        config = self.config
        prefix = self._path(config.env_prefix) if config.env_prefix else ""
        name = os.path.basename(prefix.rstrip("/")) if prefix else config.conda_env
        if not prefix and config.conda_env:
            prefix = await asyncio.to_thread(resolve_conda_env, config.conda_env, config.conda_env_dirs)
            if not prefix:
                where = ", ".join(config.conda_env_dirs) or "no folder (conda_env_dirs is empty)"
                self._fail(f"the conda environment {config.conda_env!r} was not found in {where}")
                return False
        self._env_prefix = prefix
        self._conda = bool(prefix) and await asyncio.to_thread(is_conda_prefix, prefix)
        if not self._conda:
            return True
        self.output.append(f"hubapps: activating the conda environment {name!r} ({prefix})")
        try:
            self._activation = await activate(
                prefix,
                name,
                self._parent_env_without_tokens(),
                cwd=cwd,
                on_line=self.output.append,
                time_limit=config.activate_timeout,
            )
        except (ActivationError, OSError) as error:
            self._fail(f"could not activate the conda environment {name!r}: {error}")
            return False
        return True

    def _python(self) -> str:
        if self._env_prefix:
            return os.path.join(self._env_prefix, "bin", "python")
        return sys.executable

    async def _run_once(self, cwd: str) -> int | None:
        """Start the app, wait for it to be ready (in the background) and for it to exit."""
        config = self.config
        socket_path = self.address.path
        argv = app_argv(config.app_argv, self.port, self._python(), socket_path)
        env = app_environment(
            self._parent_env,
            config.app_env,
            self.port,
            pass_hub_token=config.pass_hub_token,
            env_prefix=self._env_prefix,
            conda=self._conda,
            socket_path=socket_path,
            activation=self._activation,
        )
        if socket_path:
            # A socket left by the last run would refuse the new bind (uvicorn) or answer nothing.
            with contextlib.suppress(FileNotFoundError):
                await asyncio.to_thread(os.unlink, socket_path)
        self._attempt_started = time.monotonic()
        self._attempt_first_line = self.output.total
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                cwd=cwd,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=resource_limits(config.memory_limit, config.process_limit),
            )
        except OSError as error:
            # Not restarted: a missing executable will not appear by itself.
            self._fail(f"could not start {argv[0]!r}: {error.strerror or error}")
            return None
        self._process = process
        reader = asyncio.create_task(self._read_output(process), name="hubapps-app-output")
        self.spawned.set()
        probe = asyncio.create_task(self._wait_ready(process), name="hubapps-ready-probe")
        # Beside the app's first start (never in its way): servers that run the file only when a viewer
        # comes (Streamlit, Panel, Bokeh) would otherwise look ready with a file that cannot run.
        checks = (
            [asyncio.create_task(self._check_file(process, cwd, env), name="hubapps-check-file")]
            if config.check_file and not self.ever_ready and not self._start_failures
            else []
        )
        try:
            code = await process.wait()
        finally:
            for task in (probe, *checks):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await self._terminate(process)  # whatever the app left behind in its group
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(reader, OUTPUT_DRAIN_TIMEOUT)
            self.output.flush()
        return code

    async def _check_file(self, process: asyncio.subprocess.Process, cwd: str, env: Mapping[str, str]) -> None:
        """Compile ``--check-file`` with the app's Python (``-I -S``: nothing of the file runs, and no
        token: the app's own environment) and fail the start at once on a syntax error, with its
        message. Anything else (no Python, a slow or odd answer) leaves the app to show what it does."""
        try:
            checker = await asyncio.create_subprocess_exec(
                self._python(),
                "-I",
                "-S",
                "-c",
                _COMPILE,
                self.config.check_file,
                cwd=cwd,
                env=dict(env),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError:
            return
        try:
            async with asyncio.timeout(CHECK_FILE_TIMEOUT):
                said, _ = await checker.communicate()
        except TimeoutError:
            _signal_group(checker.pid, signal.SIGKILL)
            await checker.wait()
            return
        finally:
            if checker.returncode is None:  # cancelled: the app ended first
                _signal_group(checker.pid, signal.SIGKILL)
        if checker.returncode != 1 or self._stopping:
            return
        message = app_message(said[-4096:].decode("utf-8", "replace").splitlines())
        self._fail(f"the app's file does not compile: {message}" if message else "the app's file does not compile")
        await self._terminate(process)

    async def _read_output(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        while chunk := await process.stdout.read(65536):
            self.output.feed(chunk.decode("utf-8", "replace"))

    async def _wait_ready(self, process: asyncio.subprocess.Process) -> None:
        config = self.config
        deadline = self._attempt_started + config.ready_timeout
        while time.monotonic() < deadline:
            status = await probe_status(self.address, config.app_ready_path)
            if status is not None and status < 500:
                began = self._attempt_started if self.ever_ready else self._started
                self.ready_after = time.monotonic() - began
                self.ever_ready = True
                self.state = AppState.READY
                self.reason = ""
                self.ready.set()
                self.output.notify()
                if self.on_ready is not None:
                    self.on_ready(self.ready_after)
                return
            await asyncio.sleep(READY_POLL_INTERVAL)
        self._fail(f"the app did not answer at its ready path within {config.ready_timeout:g} seconds")
        await self._terminate(process)

    async def _terminate(self, process: asyncio.subprocess.Process) -> None:
        """SIGTERM the app's process group, SIGKILL it after the grace period."""
        pgid = process.pid  # start_new_session: the app leads its own group
        if process.returncode is None:
            _signal_group(pgid, signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), self.config.stop_grace)
            except TimeoutError:
                self.output.append("hubapps: the app did not stop in time, killing it")
        # Also reaches children that outlived the leader or ignored SIGTERM.
        _signal_group(pgid, signal.SIGKILL)
        if process.returncode is None:
            await process.wait()


async def probe_status(address: AppAddress | int, path: str) -> int | None:
    """The status of ``GET path`` at the app's address (a port: on 127.0.0.1), or None (no answer within
    the probe timeout).

    Only the status line is read: a redirect or a login page also means the app is up.
    """
    if isinstance(address, int):
        address = AppAddress(port=address)
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(READY_PROBE_TIMEOUT):
            reader, writer = await address.open_stream()
            target = quote(path, safe="/?&=%:@!$'()*+,;~-._")  # (never a space or line break)
            writer.write(f"GET {target} HTTP/1.1\r\nHost: {address.host}\r\nConnection: close\r\n\r\n".encode())
            line = await reader.readline()
    except (OSError, TimeoutError, ValueError):
        return None
    finally:
        if writer is not None:
            writer.close()
    parts = line.split(None, 2)
    if len(parts) >= 2 and parts[0].startswith(b"HTTP/") and parts[1].isdigit() and len(parts[1]) == 3:
        return int(parts[1])
    return None


def resource_limits(memory: int, processes: int) -> Callable[[], None] | None:
    """What the app's child process runs before the app: its ``RLIMIT_AS`` and ``RLIMIT_NPROC`` (never
    above the limits the proxy itself has); None when there are none to set."""
    wanted = [(resource.RLIMIT_AS, memory), (resource.RLIMIT_NPROC, processes)]
    limits = []
    for which, value in wanted:
        if value <= 0:
            continue
        _, hard = resource.getrlimit(which)
        limit = value if hard == resource.RLIM_INFINITY else min(value, hard)
        limits.append((which, limit))
    if not limits:
        return None

    def apply() -> None:  # (in the child, between fork and exec: nothing but the system calls)
        for which, limit in limits:
            resource.setrlimit(which, (limit, limit))

    return apply


def _mebibytes(size: int) -> str:
    return f"{size / 2**20:g} MiB"


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)
