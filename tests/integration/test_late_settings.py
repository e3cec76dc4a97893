"""Issue 11: a ``c.HubApps`` setting written in ``jupyterhub_config.py`` after ``hubapps.install(c)``
reaches the launcher service of a real Hub.

The replay: this module's own Hub loads the shared configuration (which calls ``install(c)``), then
sets ``c.HubApps.max_body_bytes`` lower, as an admin adding a limit at the end of the file would.
Before, ``install()`` had already written the service's settings, so the service kept its 256 KiB
limit and the body below was read (and refused only later, for want of a login).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import Hub, own_hub

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

LATE_LIMIT = 2048
LATE_CONFIG = f"""\
c = get_config()  # noqa: F821
load_subconfig({{main!r}})  # noqa: F821
c.HubApps.max_body_bytes = {LATE_LIMIT}
"""


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    root: Path = tmp_path_factory.mktemp("late-settings-hub")
    with own_hub(root, LATE_CONFIG) as running:
        yield running


def test_a_limit_set_after_install_is_the_services_limit(hub: Hub) -> None:
    url = f"{hub.url}services/japps/api/apps"
    body = b"{" + b" " * (LATE_LIMIT * 2) + b"}"
    over = httpx.post(url, content=body, headers={"Content-Type": "application/json"}, timeout=30)
    assert over.status_code == 413, over.text
    under = httpx.post(url, content=b"{}", headers={"Content-Type": "application/json"}, timeout=30)
    assert under.status_code != 413
