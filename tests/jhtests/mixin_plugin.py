"""JupyterHub's own spawner and named-server tests, with every spawner they make wrapped by the hubapps mixin.

Loaded by ``tests/jhtests/pytest.ini`` (``-p``) before JupyterHub's test package is imported: it replaces
``jupyterhub.spawner.SimpleLocalProcessSpawner`` with ``make_spawner_class(SimpleLocalProcessSpawner)``, so
``jupyterhub.tests.mocking.MockSpawner`` (and its zoo: Slow, Never, Bad, Form... spawners), which subclass it,
and the ``SimpleLocalProcessSpawner`` servers that ``test_spawner.py`` makes itself all run through the
mixin's ``start``, ``get_args``, ``get_env``, ``poll`` and its user-options hooks, as a Hub with
``hubapps.install(c)`` runs them. A session check fails the run if the wrapping did not take.

Deselected, each with its reason, in :data:`DESELECTED`.
"""

from __future__ import annotations

import os

import jupyterhub.spawner
import pytest

from hubapps.hub.spawner import HubAppsSpawnerMixin, make_spawner_class

_ORIGINAL = jupyterhub.spawner.SimpleLocalProcessSpawner
jupyterhub.spawner.SimpleLocalProcessSpawner = make_spawner_class(_ORIGINAL)

#: JupyterHub tests left out here: node id suffix → why (none depends on the mixin).
DESELECTED: dict[str, str] = {}
if os.geteuid() == 0:
    DESELECTED["test_single_user_spawner"] = (
        "runs a real jupyterhub-singleuser, which refuses to run as root without --allow-root: it fails the "
        "same way without the mixin when the tests run as root (as `make test` does on CI machines)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        (dropped if any(item.nodeid.endswith(key) for key in DESELECTED) else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="session", autouse=True)
def _mixin_is_in_place() -> None:
    from jupyterhub.tests import mocking

    assert issubclass(mocking.MockSpawner, HubAppsSpawnerMixin), "MockSpawner is not wrapped by the hubapps mixin"
    assert issubclass(mocking.FormSpawner, HubAppsSpawnerMixin)
