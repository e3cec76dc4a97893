"""``python -m hubapps.service.serve <uvicorn options>``: how the Hub starts the launcher service.

It is uvicorn's own command line, run after one step that must come before anything imports
``prometheus_client``: ``PROMETHEUS_MULTIPROC_DIR`` names a directory of this run, where every uvicorn
worker (``--workers N``, each a process of its own that inherits the environment) keeps its counts, so
that ``<prefix>metrics`` adds up all of them (:mod:`hubapps.service.metrics`). The directory is new and
private (0700) for each run, and removed when the service stops, so no count of an earlier run is ever
added in. An admin who sets ``PROMETHEUS_MULTIPROC_DIR`` in the service's environment chooses the
directory instead: it is emptied of metric files at start.

With ``--exit-with-parent`` (taken out before uvicorn reads the rest), the service stops when the Hub
that started it is gone, and each worker when the master is (:mod:`hubapps.service.parent`).

This module imports nothing of the service (nor ``prometheus_client``) before setting the variable,
but :mod:`hubapps.service.parent`, which imports neither.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from hubapps.service import parent

__all__ = ["main", "metrics_directory"]

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def metrics_directory(environ: dict[str, str] | os._Environ[str]) -> tuple[str, bool]:
    """The directory of this run's metric files, set in ``environ``; and whether it is ours to remove."""
    chosen = environ.get(MULTIPROC_ENV, "")
    if chosen:
        path = Path(chosen)
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        for stale in path.glob("*.db"):  # an earlier run's counts (or gauges of its dead workers)
            stale.unlink(missing_ok=True)
        return str(path), False
    made = tempfile.mkdtemp(prefix="hubapps-metrics-")
    environ[MULTIPROC_ENV] = made
    return made, True


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if parent.FLAG in args:  # ours, not uvicorn's: exit when the Hub (and, for workers, the master) is gone
        args.remove(parent.FLAG)
        os.environ[parent.ENV_VAR] = str(os.getpid())  # the master, for its workers
        parent.watch_parent()
    path, ours = metrics_directory(os.environ)
    try:
        from uvicorn.main import main as uvicorn_main  # (after the variable is set)

        uvicorn_main.main(args=args, prog_name="uvicorn")
    finally:
        if ours:
            shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    main()
