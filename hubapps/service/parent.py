"""The launcher service exits when the process that started it is gone (``--exit-with-parent``).

The Hub starts its managed service as a child process; when the Hub stops cleanly it stops the service
too, and it starts a new one when it starts. A Hub killed outright (SIGKILL, the OOM killer) stops
nothing: the old service would live on as an orphan, holding the service's port, and the new Hub's
service could not listen there. The same goes one level down with ``service_workers`` > 1: uvicorn's
worker processes outlive a master killed outright, go on answering on the port, and the service the
Hub starts again cannot bind it.

So, with ``--exit-with-parent`` (which ``hubapps.install`` puts on the managed service's command line),
every process of the service checks every :data:`CHECK_INTERVAL` seconds whether its parent changed
(it was re-parented: the parent died) and then stops itself with SIGTERM, the way uvicorn stops
cleanly, and with SIGKILL if it is still there :data:`STOP_GRACE` seconds later. The uvicorn master
(or the single process) watches the Hub from a thread (:func:`watch_parent`); each worker watches the
master from its event loop (:func:`exit_with_parent`), whose pid it reads from :data:`ENV_VAR` in the
environment the workers inherit (not its own parent at start: a master killed while a worker starts
would leave that worker an orphan from the beginning).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from collections.abc import Mapping

__all__ = ["CHECK_INTERVAL", "ENV_VAR", "FLAG", "STOP_GRACE", "exit_with_parent", "master_to_watch", "watch_parent"]

log = logging.getLogger("hubapps.service")

#: The command-line flag of ``python -m hubapps.service.serve`` (taken out before uvicorn reads the rest).
FLAG = "--exit-with-parent"
#: The pid of the uvicorn master, in the environment of the workers that must exit with it.
ENV_VAR = "HUBAPPS_SERVICE_EXIT_WITH_PARENT"
#: Seconds between two looks at the parent process.
CHECK_INTERVAL = 1.0
#: Seconds an orphaned process is given to stop cleanly (requests in flight, shutdown) before it
#: kills itself: an orphan must go, whatever holds its shutdown up.
STOP_GRACE = 10.0


def _orphaned(parent: int) -> bool:
    return os.getppid() != parent


def master_to_watch(environ: Mapping[str, str]) -> int | None:
    """The master a worker must exit with (:data:`ENV_VAR`); None in the master (or single process)
    itself, which watches from a thread, and when the service was not started with the flag."""
    value = environ.get(ENV_VAR, "")
    if not value.isdigit() or int(value) == os.getpid():
        return None
    return int(value)


def _stop_self(parent: int, grace: float) -> None:
    """SIGTERM now (uvicorn stops cleanly), SIGKILL after ``grace`` seconds if still here."""
    log.error("hubapps service: its parent process (pid %d) is gone; stopping", parent)
    me = os.getpid()
    os.kill(me, signal.SIGTERM)
    timer = threading.Timer(grace, os.kill, (me, signal.SIGKILL))
    timer.daemon = True
    timer.start()


def watch_parent(interval: float = CHECK_INTERVAL, grace: float = STOP_GRACE) -> threading.Thread:
    """Start a daemon thread that stops this process (:func:`_stop_self`) once its parent is gone."""
    parent = os.getppid()
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(interval):
            if _orphaned(parent):
                _stop_self(parent, grace)
                return

    thread = threading.Thread(target=run, name="hubapps-exit-with-parent", daemon=True)
    thread.start()
    return thread


async def exit_with_parent(parent: int, interval: float = CHECK_INTERVAL, grace: float = STOP_GRACE) -> None:
    """Until cancelled: stop this process (:func:`_stop_self`) once ``parent`` is no longer its parent."""
    while True:
        await asyncio.sleep(interval)
        if _orphaned(parent):
            _stop_self(parent, grace)
            return
