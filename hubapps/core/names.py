"""Server names for apps, following JupyterHub 6's rules for named servers.

JupyterHub 6 accepts new server names only when they are "safe slugs": 1-30 characters of
``[a-z0-9-]``, starting with a letter, ending with a letter or digit, with no ``--``. Display names
may be any printable unicode text. This module derives a server name from a display name so that
two apps of one user never share a server, and names made only of non-ASCII letters still work.

The rules are restated here (not imported from ``jupyterhub.slugs``) because the core must not
import the Hub and must also work with JupyterHub 5, which has no such module; a unit test checks
that they agree with JupyterHub's own.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Container
from typing import Final

__all__ = [
    "SERVER_NAME_MAX",
    "is_valid_display_name",
    "is_valid_server_name",
    "normalise_display_name",
    "server_name_for",
]

SERVER_NAME_MAX: Final = 30
DISPLAY_NAME_MAX: Final = 255
_HASH_LEN: Final = 8
_SLUG = re.compile(r"[a-z](?:[a-z0-9]|-(?=[a-z0-9]))*")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
# Unicode categories JupyterHub accepts in display names (printable, whitespace excluded).
_PRINTABLE: Final = frozenset(
    {"LC", "Ll", "Lm", "Lo", "Lt", "Lu", "Mc", "Me", "Mn", "Nd", "Nl", "No"}
    | {"Pc", "Pd", "Pe", "Pf", "Pi", "Po", "Ps", "Sc", "Sk", "Sm", "So"}
)


def is_valid_server_name(name: str) -> bool:
    """True when JupyterHub 6 accepts ``name`` for a new named server."""
    return 1 <= len(name) <= SERVER_NAME_MAX and _SLUG.fullmatch(name) is not None


def normalise_display_name(name: str) -> str:
    """NFC, and every run of whitespace turned into one space, trimmed."""
    return " ".join(unicodedata.normalize("NFC", name).split())


def is_valid_display_name(name: str) -> bool:
    """JupyterHub 6's display name rule: printable text, single inner spaces, 1-255 characters."""
    if not 1 <= len(name) <= DISPLAY_NAME_MAX or name != " ".join(name.split(" ")).strip():
        return False
    if "  " in name:
        return False
    return all(c == " " or unicodedata.category(c) in _PRINTABLE for c in name)


def _ascii_words(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").lower()
    slug = _NOT_ALNUM.sub("-", folded).strip("-")
    # A server name must start with a letter.
    return slug.lstrip("0123456789-")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def server_name_for(display_name: str, taken: Container[str] = ()) -> str:
    """Derive a new server name for ``display_name`` that is not in ``taken``.

    The first app called "Sales Dashboard" gets ``sales-dashboard``; a second app whose name folds to
    the same slug ("sales  dashboard!", "Sales-Dashboard") gets ``sales-dashboard-<8 hex>``, the hex
    taken from the display name, so the URL stays stable for the same input. A name with no ASCII
    letters ("数据看板") becomes ``app-<8 hex>``.
    """
    base = _ascii_words(normalise_display_name(display_name))[:SERVER_NAME_MAX].rstrip("-")
    if base and base not in taken:
        return base
    stem = (base or "app")[: SERVER_NAME_MAX - _HASH_LEN - 1].rstrip("-")
    seed = display_name
    for attempt in range(1000):
        candidate = f"{stem}-{_digest(seed)[:_HASH_LEN]}"
        if candidate not in taken:
            return candidate
        seed = f"{display_name}\x00{attempt}"
    raise RuntimeError("no free server name found")  # pragma: no cover - 1000 hash collisions
