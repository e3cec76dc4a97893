"""Reports from apps' proxies: who may send one, and what one may say (:mod:`hubapps.core.reports`).

A report carries no user's credential: it is signed with the sending app's own status key, which the
service derives from the owner and server the report names (:func:`hubapps.core.statuskey.app_key`).
:class:`ReportGate` admits a report when

- its signature is right for that app and for this exact body, and names a time within
  ``status_max_skew`` seconds (anything else: 404, with nothing said about why);
- it was not taken already (the same signature seen again is answered as taken, and changes nothing:
  a retry whose answer was lost, or a replay);
- its app has not sent more than ``reports_per_minute`` reports in the last minute (429); each viewer
  session of an ``opened`` report counts as one, so the events an app can add are bounded too.

The app's own code runs under the uid of its proxy and can read the key, so an admitted report is the
word of that app about itself, and only itself: :class:`AppReport` bounds every field, and the
operations (:mod:`hubapps.service.operations.reports`) write nothing but that app's run and its
"opened" and "failed" events.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from hubapps.core import statuskey
from hubapps.core.reports import MAX_LOG_LINE, report_sub

__all__ = ["AppReport", "ReportGate", "Verdict"]

#: Apps whose report rate is tracked, and signatures remembered, per service worker (oldest forgotten first).
MAX_TRACKED = 10000
#: Longest reason a report may carry, lines in its log tail, and viewers in one ``opened`` report.
MAX_REASON = 2000
MAX_TAIL_LINES = 200
MAX_VIEWERS = 50

_Name = Annotated[str, StringConstraints(min_length=1, max_length=255)]
_Line = Annotated[str, StringConstraints(max_length=MAX_LOG_LINE)]
_Viewer = Annotated[str, StringConstraints(max_length=255)]


class AppReport(BaseModel):
    """One report, as the proxy sends it; every field bounded, nothing else accepted."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    owner: _Name
    server: _Name
    run: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{8,32}$")]
    kind: Literal["started", "ready", "opened", "exited"]
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] | None = None
    commit: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{40}(?:[0-9a-f]{24})?$")] | None = None
    ready_after: float | None = Field(default=None, ge=0, le=366 * 86400)
    #: Names of the viewers whose sessions began ("" for an anonymous visitor of a public app).
    viewers: list[_Viewer] = Field(default=[], max_length=MAX_VIEWERS)
    state: Literal["stopped", "failed"] | None = None
    reason: str = Field(default="", max_length=MAX_REASON)
    log_tail: list[_Line] = Field(default=[], max_length=MAX_TAIL_LINES)

    @model_validator(mode="after")
    def _kind_fields(self) -> Self:
        if self.kind == "exited" and self.state is None:
            raise ValueError("an exited report needs its state")
        if self.kind == "ready" and self.ready_after is None:
            raise ValueError("a ready report needs ready_after")
        return self


Verdict = Literal["take", "taken", "refused", "too_many"]


class ReportGate:
    """Admit reports (see the module docstring); state is in memory, per service worker."""

    def __init__(self, key: bytes, *, max_skew: float, per_minute: int) -> None:
        self._key = key
        self.max_skew = max_skew
        self.per_minute = per_minute
        #: (owner, server) → (tokens, when they were counted): a bucket of ``per_minute`` tokens.
        self._buckets: OrderedDict[tuple[str, str], tuple[float, float]] = OrderedDict()
        #: Signatures taken in the last ``2 * max_skew`` seconds → when.
        self._seen: OrderedDict[str, float] = OrderedDict()

    @property
    def available(self) -> bool:
        return bool(self._key)

    def admit(
        self, owner: str, server: str, signature: str, body: bytes, *, cost: int = 1, now: float | None = None
    ) -> Verdict:
        """Whether to take the report ``body`` that names ``owner``'s app ``server``, which counts as
        ``cost`` reports against the app's rate."""
        now = time.time() if now is None else now
        if not self._key or not statuskey.verify(
            statuskey.app_key(self._key, owner, server),
            signature,
            "POST",
            report_sub(body),
            max_skew=self.max_skew,
            now=now,
        ):
            return "refused"
        self._forget_old(now)
        if signature in self._seen:
            return "taken"
        if not self._spend(owner, server, now, cost):
            return "too_many"
        self._seen[signature] = now
        if len(self._seen) > MAX_TRACKED:
            self._seen.popitem(last=False)
        return "take"

    def _forget_old(self, now: float) -> None:
        while self._seen:
            signature, when = next(iter(self._seen.items()))
            if now - when <= 2 * self.max_skew:
                return
            del self._seen[signature]

    def _spend(self, owner: str, server: str, now: float, cost: int) -> bool:
        if self.per_minute <= 0:
            return True
        key = (owner, server)
        cost = max(1, min(cost, self.per_minute))  # (a report may always cost up to a whole minute)
        tokens, counted = self._buckets.pop(key, (float(self.per_minute), now))
        tokens = min(float(self.per_minute), tokens + (now - counted) * self.per_minute / 60.0)
        allowed = tokens >= cost
        self._buckets[key] = (tokens - cost if allowed else tokens, now)
        if len(self._buckets) > MAX_TRACKED:
            self._buckets.popitem(last=False)
        return allowed
