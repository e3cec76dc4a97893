"""When a running app is due to stop: its idle policy (:attr:`AppSpec.idle_policy`) against the Hub's
facts about its server (when it started, when it was last used).

Pure: the launcher service's policy loop (:mod:`hubapps.service.operations.idle`) reads the facts and
acts on the answer. Activity is what the app's hubapps-proxy reports to the Hub (the last HTTP request
or websocket message, public visitors included); a "keep" app reports "now", and is never due anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from hubapps.core.spec import AppSpec

__all__ = ["IDLE", "MAX_AGE", "StopRule", "due_reason", "parse_time", "stop_rule"]

#: The reasons an app is stopped for (the "stopped" event's ``reason``).
IDLE: Final = "idle"
MAX_AGE: Final = "max age"


@dataclass(frozen=True)
class StopRule:
    """Seconds without activity, and seconds since the start, after which an app stops (0: never)."""

    idle_seconds: float = 0.0
    max_age_seconds: float = 0.0

    @property
    def never(self) -> bool:
        return not (self.idle_seconds or self.max_age_seconds)


def stop_rule(spec: AppSpec, *, default_idle: float, default_max_age: float) -> StopRule:
    """The rule of ``spec``'s policy; ``default_*`` (seconds) are the Hub-wide ones of "default"."""
    if spec.idle_policy == "keep":
        return StopRule()
    if spec.idle_policy == "idle":
        return StopRule(spec.idle_minutes * 60.0, spec.max_age_minutes * 60.0)
    return StopRule(default_idle, default_max_age)


def parse_time(value: object) -> float | None:
    """A Hub timestamp (ISO 8601, ``Z`` or an offset) as unix seconds; None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None  # the Hub always says UTC; a naive time is not one of its answers
    return moment.timestamp()


def due_reason(rule: StopRule, *, now: float, started: float | None, last_activity: float | None) -> str | None:
    """Why a running app must stop now (:data:`MAX_AGE` or :data:`IDLE`), or None.

    Idle time counts from the last activity, or from the start when the app was never used since (a
    start is not activity the Hub always records). A server whose start time is unknown is left alone.
    """
    if started is None:
        return None
    if rule.max_age_seconds and now - started >= rule.max_age_seconds:
        return MAX_AGE
    if rule.idle_seconds:
        since = max(started, last_activity or started)
        if now - since >= rule.idle_seconds:
            return IDLE
    return None
