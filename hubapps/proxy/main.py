"""``hubapps-proxy`` entry point: parse, start, wait for a signal or a failure, stop, exit.

The proxy holds the server's Hub API token (``JUPYTERHUB_API_TOKEN``), which the app, running under the
same uid, must not get. So the first thing :func:`main` does is to make the process not dumpable
(:func:`make_undumpable`): other processes of the uid can then neither ``ptrace`` it nor read its
``/proc/<pid>/environ`` or ``/proc/<pid>/mem``. The spawner starts it as ``python -I -m hubapps.proxy``
so that nothing of the owner's runs inside it first (user site-packages, their ``.pth`` files,
``usercustomize``, ``PYTHON*`` variables); see ``docs/security.md``.

Exit codes: 0 after SIGTERM/SIGINT (the Hub stopped the server), 1 when the app failed for good (after
the failure page has been up ``--failure-linger`` seconds, so the viewer can read why), 2 for bad
options or environment.

Before it exits, the proxy tells the launcher service how the run ended (:mod:`hubapps.proxy.reports`):
``failed`` as soon as it gives up on the app (before the failure page lingers), ``stopped`` on SIGTERM
(while the app is being stopped); both bounded in time, neither ever keeps it from exiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import importlib
import logging
import os
import signal
import sys
from collections.abc import Coroutine, Mapping, Sequence
from typing import Any

from hubapps.proxy.config import ConfigError, ProxyConfig, parse_config
from hubapps.proxy.process import AppProcess

__all__ = ["main", "make_undumpable", "run"]

log = logging.getLogger("hubapps.proxy")

EXIT_STOPPED = 0
EXIT_APP_FAILED = 1
EXIT_BAD_CONFIG = 2
#: ``auto`` (uvloop when installed), ``uvloop`` or ``asyncio``.
LOOP_ENV_VAR = "HUBAPPS_PROXY_LOOP"
#: ``prctl`` option (linux/prctl.h).
PR_SET_DUMPABLE = 4


def make_undumpable() -> bool:
    """``prctl(PR_SET_DUMPABLE, 0)`` on Linux: no ptrace, ``/proc/<pid>/environ`` or core dump for
    processes of the same uid (the app's children get the flag back at their ``exec``). Returns whether
    it took effect."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


async def run(config: ProxyConfig, env: Mapping[str, str], *, base_dir: str) -> int:
    """Run the proxy until SIGTERM/SIGINT or until the app has failed for good; return the exit code."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    # The app starts first, before the server side is even imported: every millisecond before the
    # app's process exists is added to its start.
    process = AppProcess(config, env, base_dir=base_dir)
    process.start()
    try:
        await process.spawned.wait()
        server = importlib.import_module("hubapps.proxy.server")
        runtime = server.ProxyRuntime(config, env, base_dir=base_dir, process=process)
    except BaseException:
        await process.stop()  # never leave the app running without its proxy
        raise
    code = EXIT_STOPPED
    try:
        await runtime.start()
        stopped = asyncio.create_task(stop.wait())
        failed = asyncio.create_task(runtime.process.finished.wait())
        await asyncio.wait({stopped, failed}, return_when=asyncio.FIRST_COMPLETED)
        failed.cancel()
        if not stop.is_set():
            code = EXIT_APP_FAILED
            log.error("hubapps-proxy: %s; exiting in %g s", runtime.process.reason, config.failure_linger)
            # Told now, while the failure page lingers: a kill during the linger loses nothing.
            await runtime.report_exit()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopped, config.failure_linger)
        stopped.cancel()
    finally:
        try:
            # A normal stop is reported as the app stops (made first, so it sees the state before the stop).
            await asyncio.gather(runtime.report_exit(), runtime.shutdown())
        finally:
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(signum)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Console script ``hubapps-proxy``; reads ``sys.argv`` and ``os.environ`` here, nowhere else."""
    undumpable = make_undumpable()  # first: the token is in this process's environment
    logging.basicConfig(level=logging.INFO, format="[%(levelname).1s %(asctime)s %(name)s] %(message)s")
    if not undumpable and sys.platform.startswith("linux"):
        log.warning("hubapps-proxy: could not make the process undumpable; the app's uid may read its memory")
    env = dict(os.environ)
    try:
        config = parse_config(sys.argv[1:] if argv is None else argv, env)
    except ConfigError as error:
        print(f"hubapps-proxy: {error}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    return _run_loop(run(config, env, base_dir=os.getcwd()), env.get(LOOP_ENV_VAR, "auto"))


def _run_loop(main: Coroutine[Any, Any, int], choice: str) -> int:
    """Run ``main`` on uvloop when it is installed (``auto``), unless ``HUBAPPS_PROXY_LOOP=asyncio``.

    uvloop's event loop and transports are written in C: about 10% less CPU per forwarded request and a
    quarter off the time a websocket message spends in the proxy (docs/benchmarks.md).
    """
    if choice != "asyncio":
        try:
            import uvloop
        except ImportError:
            if choice == "uvloop":
                log.warning("hubapps-proxy: %s=uvloop, but uvloop is not installed; using asyncio", LOOP_ENV_VAR)
        else:
            return int(uvloop.run(main))
    return asyncio.run(main)


if __name__ == "__main__":
    sys.exit(main())
