"""Does a token's set of scopes grant the access required? JupyterHub's answer, without its ORM.

:func:`grants` is ``bool(jupyterhub.services.auth.check_scopes(required, held))``, reimplemented because
importing ``jupyterhub.services.auth`` (or ``jupyterhub.scopes``) loads JupyterHub's ORM, SQLAlchemy and
alembic: about 50 MB in every app's proxy process, and 19 MB in each launcher service worker, which
both ask it. ``tests/unit/proxy/test_scopes.py`` checks the two against each other over thousands of
generated scope sets, so the semantics cannot drift silently.

A scope is ``base`` (unfiltered: every resource) or ``base!kind=value`` (one user, server, group...).
What JupyterHub's check does, for each base present on both sides:

- both unfiltered: granted;
- required filtered, held unfiltered: granted;
- required unfiltered, held filtered: granted only if one of the held filtered scopes is also required
  literally (``check_scopes`` re-intersects with the required strings);
- both filtered: granted if a filter (same kind, same value) is on both sides, or if a required
  ``!server=owner/name`` is covered by a held ``!user=owner``.

Groups are never resolved to their members (that needs the Hub's database), so a held ``!group=`` only
matches a required ``!group=`` of the same name. Malformed filters (``base!user`` without a value), which
JupyterHub rejects with an exception, grant nothing here.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["grants"]

#: Filters of one base: kind (``user``, ``server``, ``group``...) → the values named.
_Filters = dict[str, set[str]]


class _Parsed:
    """Scopes grouped by base: the unfiltered bases, and every well-formed filter written for each base."""

    __slots__ = ("filters", "unfiltered")

    def __init__(self, scopes: Iterable[str]) -> None:
        self.unfiltered: set[str] = set()
        self.filters: dict[str, _Filters] = {}
        for scope in scopes:
            base, bang, filter_ = scope.partition("!")
            if not bang:
                self.unfiltered.add(base)
                continue
            kind, _, value = filter_.partition("=")
            if value:
                self.filters.setdefault(base, {}).setdefault(kind, set()).add(value)

    def bases(self) -> set[str]:
        return self.unfiltered | self.filters.keys()


def grants(required: str | Iterable[str], held: Iterable[str]) -> bool:
    """True iff ``held`` grants at least one of the ``required`` scopes, exactly as JupyterHub decides.

    An empty ``required`` is granted by nothing (as in JupyterHub).
    """
    want = _Parsed([required] if isinstance(required, str) else required)
    have = _Parsed(held)
    for base in want.bases() & have.bases():
        if base in have.unfiltered:
            # Anything required of this base (unfiltered, or each written filter) is granted.
            return True
        held_filters = have.filters[base]
        want_filters = want.filters.get(base, {})
        # Required unfiltered but held filtered: only literally required filters count, as below.
        for kind, values in want_filters.items():
            if not values.isdisjoint(held_filters.get(kind, ())):
                return True
        if base not in want.unfiltered:
            held_users = held_filters.get("user", set())
            if held_users and any(server.partition("/")[0] in held_users for server in want_filters.get("server", ())):
                return True
    return False
