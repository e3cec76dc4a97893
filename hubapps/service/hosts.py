"""A user's host under ``c.JupyterHub.subdomain_host``, named as JupyterHub names it.

JupyterHub's default ``subdomain_hook`` ("idna", ``jupyterhub.utils.subdomain_hook_idna``) gives each user
a DNS label: the name itself when it is a safe label, else its IDNA encoding when that is one, else
``u-<up to 8 safe characters>--<7 hex of its SHA-256>`` (always for a name containing ``--``, so that no
name can take another's encoded label). The service needs it for every app URL it lists, and importing
``jupyterhub.utils`` would load aiohttp and tornado into the service, about 20 MB of its 150 MB budget
(issue 15). So the rule is written out here, and ``tests/unit/service/test_hosts.py`` checks it against
JupyterHub's own function, which stays the oracle.
"""

from __future__ import annotations

import hashlib
import re
import string
from functools import lru_cache

__all__ = ["user_host"]

_STRICT_SAFE = frozenset(string.ascii_lowercase + string.digits)
_LABEL = re.compile(r"^[a-z0-9-]{1,63}$", flags=re.IGNORECASE)


def _is_label(label: str) -> bool:
    """A DNS label: 1-63 letters, digits or dashes, not all digits, not starting or ending with a dash."""
    if label.isnumeric() or not 0 < len(label) <= 63 or label.startswith("-") or label.endswith("-"):
        return False
    return bool(_LABEL.match(label))


def _trimmed_and_hashed(name: str) -> str:
    stub = "".join([c for c in name.lower() if c in _STRICT_SAFE][:8]) or "x"
    return f"u-{stub}--{hashlib.sha256(name.encode('utf8')).hexdigest()[:7]}"


@lru_cache(maxsize=4096)
def user_label(name: str) -> str:
    """The DNS label of user ``name``."""
    if "--" in name:
        return _trimmed_and_hashed(name)
    if _is_label(name):
        return name
    import idna  # (only for names that need it)

    try:
        encoded: str | None = idna.encode(name).decode("ascii")
    except ValueError:
        encoded = None
    if encoded and encoded != name and _is_label(encoded):
        return encoded
    return _trimmed_and_hashed(name)


def user_host(name: str, domain: str) -> str:
    """User ``name``'s host under ``domain`` (the host of ``subdomain_host``)."""
    return f"{user_label(name)}.{domain}"
