"""``python -m hubapps.service.serve <uvicorn options>``: how the Hub starts the launcher service.

It is uvicorn's own command line, run after one step that must come before anything imports
``prometheus_client``: ``PROMETHEUS_MULTIPROC_DIR`` names a directory of this run, where every uvicorn
worker (``--workers N``, each a process of its own that inherits the environment) keeps its counts, so
that ``<prefix>metrics`` adds up all of them (:mod:`hubapps.service.metrics`). The directory is new and
private (0700) for each run, and removed when the service stops, so no count of an earlier run is ever
added in. An admin who sets ``PROMETHEUS_MULTIPROC_DIR`` in the service's environment chooses the
directory instead: it is emptied of metric files at start.

Under JupyterHub's ``internal_ssl`` (the Hub passes ``JUPYTERHUB_SSL_CERTFILE``, ``_KEYFILE`` and
``_CLIENT_CA``, and ``install()`` makes the service's URL ``https``), the service serves TLS with the
certificate the Hub made for it and asks every client for a certificate (:func:`tls_arguments`): the Hub's
and its proxy's (the CAs of ``JUPYTERHUB_SSL_CLIENT_CA``), and the apps' proxies', which send their reports
here directly (the CA that signs servers, from JupyterHub's certificate store).

With ``--exit-with-parent`` (taken out before uvicorn reads the rest), the service stops when the Hub
that started it is gone, and each worker when the master is (:mod:`hubapps.service.parent`).

Each worker also moves what it loaded to start out of the garbage collector's reach once it is up
(``gc.freeze()``, :data:`FREEZE_ENV_VAR`): a full collection otherwise walks those ~100,000 objects (the
imports) again each time, about 50 ms here, with the event loop stopped. An admin may set the variable to
``0`` in ``c.HubApps.service_environment`` to turn it off.

This module imports nothing of the service (nor ``prometheus_client``) before setting the variable,
but :mod:`hubapps.service.parent`, which imports neither.
"""

from __future__ import annotations

import os
import shutil
import ssl
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from hubapps.service import parent

__all__ = ["main", "metrics_directory", "tls_arguments"]

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: ``hubapps.core.reports.SERVICE_CERTS_ENV_VAR`` and ``SERVERS_CA`` (not imported: see above).
SERVICE_CERTS_ENV = "HUBAPPS_INTERNAL_CERTS"
SERVERS_CA = "notebooks-ca"


#: ``1``: a worker freezes its start-up heap (see the module's docstring); set here for every worker.
FREEZE_ENV_VAR = "HUBAPPS_GC_FREEZE"


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


def tls_arguments(environ: Mapping[str, str], directory: str) -> list[str]:
    """uvicorn's TLS options under ``internal_ssl``, or none; the bundle of client CAs is written in
    ``directory`` (private to this run).

    Raises ``SystemExit`` with the reason when the Hub's files cannot be used: a service that the Hub
    reaches over https must not fall back to plain HTTP.
    """
    certfile = environ.get("JUPYTERHUB_SSL_CERTFILE", "")
    keyfile = environ.get("JUPYTERHUB_SSL_KEYFILE", "")
    if not (certfile and keyfile):
        return []
    client_ca = environ.get("JUPYTERHUB_SSL_CLIENT_CA", "")
    try:
        bundle = [Path(client_ca).read_text()] if client_ca else []
        store = environ.get(SERVICE_CERTS_ENV, "")
        if store:
            from certipy import CertNotFoundError, CertStore  # JupyterHub's own certificate store

            try:
                record = CertStore(containing_dir=store).get_record(SERVERS_CA)
            except CertNotFoundError as error:
                raise ValueError(f"no {SERVERS_CA} in {store}") from error
            bundle.append(Path(record["files"]["cert"]).read_text())
    except (OSError, KeyError, ValueError, ImportError) as error:
        raise SystemExit(f"hubapps service: cannot read the Hub's internal SSL files: {error}") from None
    options = ["--ssl-certfile", certfile, "--ssl-keyfile", keyfile]
    if bundle:
        cafile = Path(directory) / "client-cas.pem"
        cafile.write_text("\n".join(pem.strip() + "\n" for pem in bundle))
        options += ["--ssl-ca-certs", str(cafile), "--ssl-cert-reqs", str(int(ssl.CERT_REQUIRED))]
    return options


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if parent.FLAG in args:  # ours, not uvicorn's: exit when the Hub (and, for workers, the master) is gone
        args.remove(parent.FLAG)
        os.environ[parent.ENV_VAR] = str(os.getpid())  # the master, for its workers
        parent.watch_parent()
    os.environ.setdefault(FREEZE_ENV_VAR, "1")
    path, ours = metrics_directory(os.environ)
    tls_directory = tempfile.mkdtemp(prefix="hubapps-tls-")
    try:
        args += tls_arguments(os.environ, tls_directory)
        from uvicorn.main import main as uvicorn_main  # (after the variable is set)

        uvicorn_main.main(args=args, prog_name="uvicorn")
    finally:
        shutil.rmtree(tls_directory, ignore_errors=True)
        if ours:
            shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    main()
