"""Reports to the launcher service: this run's start facts, viewer sessions, and how it ended.

The service cannot ask a proxy that has exited why its app stopped, so the proxy pushes what the
launcher must remember (:mod:`hubapps.core.reports`: the protocol):

- ``started``: once the app's process runs (after the clone), with the sha256 of the app's file (read
  up to :data:`MAX_SOURCE_BYTES`; none for a command without a file) or the commit of its checkout;
- ``ready``: when the app first answers, with the seconds it took;
- ``opened``: viewer sessions (:class:`ViewerSessions`), a few at a time;
- ``exited``: the final state (``failed`` when the proxy gives up, ``stopped`` on SIGTERM), the reason
  and the log tail (at most ``report_log_lines`` lines and ``report_log_bytes`` bytes), sent before
  the proxy exits.

Each report is signed with this app's own status key (never a user's token or cookie, and not the
server's Hub token either). Reports are best-effort: every attempt is bounded by ``report_timeout``,
a report the service did not take is tried ``report_retries`` more times, and nothing here ever
blocks serving the app or stops it; a service that is down costs a few log lines.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import secrets
import stat
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from hubapps.core import statuskey
from hubapps.core.reports import MAX_LOG_LINE, REPORT_PATH, report_sub
from hubapps.proxy.config import ProxyConfig
from hubapps.proxy.hub_client import HubAPI, HubAPIError, HubReply
from hubapps.proxy.wire import Request

if TYPE_CHECKING:
    from hubapps.proxy.auth import Viewer
    from hubapps.proxy.process import AppProcess

__all__ = ["MAX_SOURCE_BYTES", "ServiceReporter", "ViewerSessions", "log_tail"]

log = logging.getLogger("hubapps.proxy")

#: Largest app file whose sha256 is reported (a bigger one is reported without it).
MAX_SOURCE_BYTES = 64 * 1024 * 1024
#: Seconds ``git rev-parse HEAD`` may take.
GIT_TIMEOUT = 10.0
#: Viewers remembered (the longest unseen are forgotten first), and sessions waiting to be reported.
MAX_TRACKED_VIEWERS = 4096
MAX_PENDING_SESSIONS = 1000
#: Viewer sessions in one ``opened`` report, and seconds new sessions are gathered before it is sent.
MAX_VIEWERS_PER_REPORT = 50
SESSION_BATCH_DELAY = 1.0
#: Longest reason and viewer name the launcher takes (longer names are no Hub user's: not reported).
MAX_REASON = 2000
MAX_NAME = 255
#: Statuses after which a report is not tried again (the service refused it for good).
FINAL_REFUSALS = frozenset({400, 401, 403, 404, 413, 422})
#: First delay between attempts, in seconds (doubled each time).
RETRY_FIRST = 0.5


def log_tail(lines: list[str], max_lines: int, max_bytes: int) -> list[str]:
    """The last ``max_lines`` lines, each cut to :data:`MAX_LOG_LINE` characters, and no more than
    ``max_bytes`` bytes (UTF-8) in all: the oldest go first."""
    tail = [line[:MAX_LOG_LINE] for line in lines[-max_lines:]] if max_lines else []
    size = sum(len(line.encode()) + 1 for line in tail)
    while tail and size > max_bytes:
        size -= len(tail.pop(0).encode()) + 1
    return tail


class ViewerSessions:
    """Which requests begin a viewer session: a viewer not seen for ``gap`` seconds.

    :meth:`seen` runs for every forwarded request, so it is a dictionary lookup and nothing more.
    Signed-in users are told apart by name; anonymous visitors of a public app by the address the
    Hub's proxy saw (the last ``X-Forwarded-For`` entry) and reported as anonymous. Services are not
    viewers. Both the viewers remembered and the sessions waiting to be sent are bounded.
    """

    def __init__(self, gap: float, on_new: Callable[[], None], *, clock: Callable[[], float] = time.monotonic) -> None:
        self.gap = gap
        self._on_new = on_new
        self._clock = clock
        self._last_seen: dict[str, float] = {}
        #: Viewer names of sessions not yet reported ("" for an anonymous visitor).
        self.pending: list[str] = []

    def seen(self, viewer: Viewer | None, request: Request) -> None:
        if viewer is None:
            forwarded = request.header("X-Forwarded-For")
            key, name = "a:" + forwarded.rpartition(",")[2].strip()[:64], ""
        elif viewer.kind == "user" and len(viewer.name) <= MAX_NAME:
            key, name = "u:" + viewer.name, viewer.name
        else:
            return
        now = self._clock()
        last = self._last_seen.pop(key, None)
        self._last_seen[key] = now  # (re-inserted: the dict's order is least recently seen first)
        if len(self._last_seen) > MAX_TRACKED_VIEWERS:
            del self._last_seen[next(iter(self._last_seen))]
        if (last is None or now - last > self.gap) and len(self.pending) < MAX_PENDING_SESSIONS:
            self.pending.append(name)
            self._on_new()

    def take(self, count: int) -> list[str]:
        taken, self.pending = self.pending[:count], self.pending[count:]
        return taken


class ServiceReporter:
    """Send this proxy's reports to the launcher service (see the module docstring).

    Enabled when the spawner gave a report URL and this app's status key; otherwise every method is a
    no-op. ``run`` names this proxy's run for the service (a random id per proxy process).
    """

    def __init__(self, config: ProxyConfig, *, base_dir: str) -> None:
        hub = config.hub
        self.config = config
        self.enabled = bool(config.report_url and config.status_key and hub.user and hub.server_name)
        self.url = config.report_url + REPORT_PATH
        self.run = secrets.token_hex(8)
        #: The app's file and the repository checkout, as the proxy finds them.
        self._source = os.path.normpath(os.path.join(base_dir, config.cwd, config.source_file))
        self._checkout = os.path.normpath(os.path.join(base_dir, config.checkout or "."))
        # The report URL's own client: https with the Hub's internal SSL files where it is https.
        # (and the CA of the service's certificate, which the Hub's bundle for servers leaves out).
        self._api = HubAPI(
            replace(hub, api_url=config.report_url, activity_url="", ssl_extra_ca=config.report_ca),
            timeout=config.report_timeout,
        )
        self._wake = asyncio.Event()
        self.sessions = ViewerSessions(config.viewer_session_gap, self._wake.set)
        self._tasks: list[asyncio.Task[None]] = []
        self.exit_sent = False

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self, process: AppProcess) -> None:
        """Report the run's start (and readiness) and, from now on, viewer sessions; returns at once."""
        if not self.enabled or self._tasks:
            return
        self._tasks = [
            asyncio.create_task(self._start_facts(process), name="hubapps-report-start"),
            asyncio.create_task(self._send_sessions(), name="hubapps-report-sessions"),
        ]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    def exited(self, process: AppProcess, *, deadline: float) -> asyncio.Future[bool]:
        """Report how the run ended, once (later calls do nothing): ``failed`` with the reason when the
        app failed for good, else ``stopped``; the log tail as it is now. The report is made at once,
        before the caller goes on stopping the app; sending it takes at most ``deadline`` seconds."""
        if not self.enabled or self.exit_sent:
            return _done(False)
        self.exit_sent = True
        failed = str(process.state) == "failed"
        config = self.config
        fields: dict[str, Any] = {
            "state": "failed" if failed else "stopped",
            "reason": process.reason[:MAX_REASON] if failed else "",
            "log_tail": log_tail(process.output.lines(), config.report_log_lines, config.report_log_bytes),
        }
        return asyncio.ensure_future(self.send("exited", fields, deadline=time.monotonic() + deadline))

    # -- the reports ----------------------------------------------------------------------------

    async def _start_facts(self, process: AppProcess) -> None:
        await process.spawned.wait()
        sha256, commit = await asyncio.gather(self._source_sha256(), self._commit())
        await self.send("started", {"sha256": sha256, "commit": commit})
        ready = asyncio.ensure_future(process.ready.wait())
        finished = asyncio.ensure_future(process.finished.wait())
        try:
            await asyncio.wait({ready, finished}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ready.cancel()
            finished.cancel()
        if process.ready_after is not None:
            await self.send("ready", {"ready_after": round(process.ready_after, 3)})

    async def _send_sessions(self) -> None:
        while True:
            await self._wake.wait()
            await asyncio.sleep(SESSION_BATCH_DELAY)  # gather the sessions that begin together
            self._wake.clear()
            while viewers := self.sessions.take(MAX_VIEWERS_PER_REPORT):
                await self.send("opened", {"viewers": viewers})

    async def _source_sha256(self) -> str | None:
        config = self.config
        if not config.source_file:
            return None
        return await asyncio.to_thread(_file_sha256, self._source, MAX_SOURCE_BYTES)

    async def _commit(self) -> str | None:
        config = self.config
        if not config.repo_url:
            return None
        checkout = self._checkout
        try:
            git = await asyncio.create_subprocess_exec(
                "git",
                "-C",
                checkout,
                "rev-parse",
                "HEAD",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL,
                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GIT_TERMINAL_PROMPT": "0"},
            )
        except OSError:
            return None
        try:
            async with asyncio.timeout(GIT_TIMEOUT):
                out, _ = await git.communicate()
        except TimeoutError:
            git.kill()
            await git.wait()
            return None
        commit = out.decode("ascii", "replace").strip()
        return commit if git.returncode == 0 and _is_hex(commit) and len(commit) in (40, 64) else None

    async def send(self, kind: str, fields: dict[str, Any], *, deadline: float | None = None) -> bool:
        """POST one report, signed; True once the service took it. Never raises."""
        if not self.enabled:
            return False
        hub = self.config.hub
        report = {"owner": hub.user, "server": hub.server_name, "run": self.run, "kind": kind, **fields}
        body = json.dumps(report, separators=(",", ":")).encode()
        attempts = self.config.report_retries + 1
        status: int | str = ""
        for attempt in range(attempts):
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                break
            reply = await self._attempt(body, remaining)
            if isinstance(reply, HubReply):
                if reply.ok:
                    return True
                status = reply.status
                if reply.status in FINAL_REFUSALS:
                    break
            else:
                status = reply
            if attempt + 1 < attempts:
                delay = RETRY_FIRST * 2**attempt
                if deadline is not None:
                    delay = min(delay, max(0.0, deadline - time.monotonic()))
                await asyncio.sleep(delay)
        log.warning("hubapps-proxy: the launcher did not take the %s report (%s)", kind, status)
        return False

    async def _attempt(self, body: bytes, remaining: float | None) -> HubReply | str:
        # Signed at each attempt: a retry names its own time.
        signature = statuskey.sign(self.config.status_key, "POST", report_sub(body))
        try:
            async with asyncio.timeout(remaining):
                return await self._api.request(
                    "POST",
                    self.url,
                    token="",
                    body=body,
                    content_type="application/json",
                    headers=[(statuskey.HEADER, signature)],
                )
        except TimeoutError:
            return "timed out"
        except (HubAPIError, OSError) as error:
            return type(error).__name__


def _done(value: bool) -> asyncio.Future[bool]:
    future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
    future.set_result(value)
    return future


def _is_hex(text: str) -> bool:
    return bool(text) and all(c in "0123456789abcdef" for c in text)


def _file_sha256(path: str, limit: int) -> str | None:
    """The sha256 of the file at ``path``, or None (missing, not a regular file, or over ``limit`` bytes)."""
    digest = hashlib.sha256()
    size = 0
    try:
        # O_NONBLOCK: a FIFO in the file's place must not hang the proxy; only a regular file is read.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        with open(fd, "rb", closefd=True) as file:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            while chunk := file.read(1 << 20):
                size += len(chunk)
                if size > limit:
                    return None
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()
