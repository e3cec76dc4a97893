"""Fixtures of the migration tests: a Hub database written by upstream JHub Apps, then opened by hubapps.

These tests run three JupyterHubs one after the other on one folder (one SQLite database, one cookie
secret): upstream JHub Apps 2026.9.1 on JupyterHub 5.5 (``.venv-upstream``), hubapps on JupyterHub 5.5
(``.venv-jh55``) and hubapps on JupyterHub 6 (the main ``.venv``, after ``jupyterhub upgrade-db``).
``make test`` builds both extra environments first (``make install-upstream install-jh55``); they
run in a pytest process of their own (``make migration``).

Fixtures
--------
- ``upstream_bin`` / ``jh55_bin`` (session): the ``bin`` folders of those environments; the session
  fails with the command to build one that is missing.

The Hub harness (:class:`tests.integration.conftest.Hub`) is reused as is; :func:`hub_from` starts it
with another environment's ``jupyterhub`` and another configuration file.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration import conftest as harness
from tests.integration.conftest import Hub, pytest_runtest_makereport

__all__ = ["hub_from", "pytest_runtest_makereport"]

REPO = Path(__file__).resolve().parents[2]


def _venv_bin(name: str, target: str) -> Path:
    bin_dir = REPO / name / "bin"
    if not (bin_dir / "jupyterhub").exists():
        pytest.fail(f"{bin_dir / 'jupyterhub'} is missing: run `make {target}`", pytrace=False)
    return bin_dir


@pytest.fixture(scope="session")
def upstream_bin() -> Path:
    return _venv_bin(".venv-upstream", "install-upstream")


@pytest.fixture(scope="session")
def jh55_bin() -> Path:
    return _venv_bin(".venv-jh55", "install-jh55")


@contextlib.contextmanager
def hub_from(hub: Hub, bin_dir: Path, config: Path, *, known_leftovers: tuple[str, ...] = ()) -> Iterator[Hub]:
    """Start ``hub`` with ``bin_dir/jupyterhub -f config`` (and ``bin_dir`` first on its PATH, so its
    services and spawned servers use that environment too); stop it on leaving.

    ``known_leftovers``: command lines of processes the Hub is known to leave behind (upstream's
    startup-apps service leaves ``tail -f /dev/null``); they are killed like any other but do not
    fail the test."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(harness, "VENV_BIN", bin_dir)
        patch.setattr(harness, "CONFIG_FILE", config)
        try:
            hub.start()
        except BaseException:
            hub.stop()
            raise
    try:
        yield hub
    finally:
        lingering = [p for p in hub.stop() if not p.endswith(known_leftovers)] if known_leftovers else hub.stop()
        if lingering:
            pytest.fail("processes survived the Hub:\n  " + "\n  ".join(lingering), pytrace=False)
