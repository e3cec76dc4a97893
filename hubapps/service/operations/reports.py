"""Taking an app proxy's report (admitted by :class:`~hubapps.service.reports.ReportGate`): the run it
describes (:class:`~hubapps.service.runs.RunStore`) and the events it implies, for that app only.

- ``started``: the run's row, with the sha256 of the app's file or the commit it runs;
- ``ready``: the run's time to ready;
- ``opened``: one "opened" event per viewer session, the viewer as actor (an anonymous visitor of a
  public app: no actor, ``anonymous`` in the detail);
- ``exited``: the run's end, final state, reason and log tail; a "failed" event with the reason the
  first time a run is reported failed.

A report is the app's own word about itself (its code can read its proxy's key): nothing here touches
another app, and what is kept is bounded (the report's fields, ``runs_kept_per_app`` runs per app).
"""

from __future__ import annotations

import logging

from hubapps.service.errors import safe_log
from hubapps.service.events import EventStore
from hubapps.service.operations.events import record_as
from hubapps.service.reports import AppReport
from hubapps.service.revisions import RevisionStore
from hubapps.service.runs import RunStore

__all__ = ["take_report"]

log = logging.getLogger("hubapps.service.reports")


async def take_report(
    runs: RunStore, events: EventStore, report: AppReport, revisions: RevisionStore | None = None
) -> None:
    """Record what ``report`` says of its app (see the module docstring)."""
    owner, server, run = report.owner, report.server, report.run
    if report.kind == "started":
        await runs.started(owner, server, run, sha256=report.sha256, commit=report.commit)
        if revisions is not None and (report.sha256 or report.commit):
            # The newest revision's source, once: the app's own word on what this spec first ran.
            try:
                await revisions.attach_source(owner, server, report.sha256, report.commit)
            except Exception as exc:  # the run is recorded; a busy database loses only this fact
                log.warning("Could not record the source of %s/%s: %s", safe_log(owner), safe_log(server), exc)
    elif report.kind == "ready":
        assert report.ready_after is not None
        await runs.ready(owner, server, run, report.ready_after)
    elif report.kind == "opened":
        for viewer in report.viewers:
            if viewer:
                await record_as(events, viewer, "opened", owner, server)
            else:
                await record_as(events, "", "opened", owner, server, anonymous=True)
    elif report.kind == "exited":
        assert report.state is not None
        first = await runs.ended(
            owner, server, run, state=report.state, reason=report.reason, log_tail=list(report.log_tail)
        )
        if first and report.state == "failed":
            log.info("App %s/%s failed: %s", safe_log(owner), safe_log(server), safe_log(report.reason))
            await record_as(events, "", "failed", owner, server, reason=report.reason)
