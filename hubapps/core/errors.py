"""The one exception tree of hubapps.

Every message is safe to show to the user who sent the input: it names the field and the rule, never
a token, a cookie or another user's data. Each runtime context maps these to its own transport
(HTTP status in the service and proxy, a failed spawn on the Hub).
"""

from __future__ import annotations

__all__ = ["HubAppsError", "SpecError", "UnknownFramework"]


class HubAppsError(Exception):
    """Base class for every error hubapps raises on purpose."""


class SpecError(HubAppsError, ValueError):
    """A launch spec (or a part of it) broke a rule.

    ``field`` is the dotted name of the offending field (``env.PATH``, ``command.2``) so that forms can
    show the message beside it.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


class UnknownFramework(SpecError):
    """The spec names a framework that is not installed or not enabled."""

    def __init__(self, name: str, known: list[str]) -> None:
        shown = ", ".join(sorted(known)) or "none"
        super().__init__("framework", f"unknown or disabled framework {name!r} (available: {shown})")
        self.name = name
