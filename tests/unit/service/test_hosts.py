"""A user's host under subdomain_host: the service's rule (hubapps.service.hosts) against JupyterHub's own
``subdomain_hook_idna``, the oracle, over names of every kind JupyterHub's rule tells apart."""

from __future__ import annotations

import random
import string

import pytest
from jupyterhub.utils import subdomain_hook_idna

from hubapps.service.hosts import user_host

DOMAIN = "apps.example.org"

NAMES = [
    "ann",
    "Ann",  # upper case is a safe label, kept as it is
    "a",
    "1234",  # all digits: not a label
    "1234a",
    "-ann",
    "ann-",
    "a-b",
    "a--b",  # "--": always trimmed and hashed
    "xn--nxasmq6b",  # looks encoded already
    "ann.smith",
    "ann_smith",
    "ann@example.org",
    "josé",
    "Ωmega",
    "用户",
    "zoë-smith",
    "ß",
    "a" * 63,
    "a" * 64,
    "é" * 40,
    "",
    " ",
    "ann smith",
    "\u210c",  # BLACK-LETTER CAPITAL H: IDNA refuses it
    "a\u200db",  # a joiner
    "🙂",
]


def _random_names(count: int) -> list[str]:
    rng = random.Random(15)  # noqa: S311 (test data, the same each run)
    alphabet = string.ascii_letters + string.digits + "-._@ ~+" + "éüßøΩжд用户\u210c🙂\u200d"
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 70))) for _ in range(count)]


@pytest.mark.parametrize("name", NAMES + _random_names(400))
def test_the_same_host_as_jupyterhub(name: str) -> None:
    assert user_host(name, DOMAIN) == subdomain_hook_idna(name, DOMAIN, "user")
