"""The app's output on the server's own stderr, which local spawners hand to the Hub's log.

The app's code is its owner's: what it prints must not flood the Hub's log, nor pass for the Hub's own
lines. So every line echoed (:class:`AppLogEcho`)

- starts with ``[hubapps app <owner>/<server>]``, so a line can always be traced to its app;
- has its control characters escaped (``\\r``, ``\\x1b`` for ANSI colour and cursor codes, other C0 and
  C1 codes, DEL, Unicode line and paragraph separators, bidirectional and zero-width marks), so no line
  can overwrite, recolour or fake another one on a terminal or in a log viewer; a line break inside what
  the app printed starts a new, prefixed line;
- is cut after ``line_length`` characters;
- passes a token bucket of ``rate`` bytes per second with a burst of ``burst`` bytes; lines over the
  limit are dropped, and one note per ``note_interval`` seconds says how many were.

The in-memory log (``_hubapps/logs``, :class:`~hubapps.proxy.output.OutputBuffer`) keeps every line,
bounded by its own size. Nothing here blocks: a note of dropped lines is written by a loop timer.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Callable
from typing import TextIO

__all__ = ["AppLogEcho", "escape_line", "log_prefix"]

#: Characters escaped in echoed lines: C0 controls (tab included), DEL, C1 controls, line and paragraph
#: separators, zero-width and bidirectional marks, the byte-order mark.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_line(text: str) -> str:
    """``text`` with every character of :data:`_UNSAFE` written as ``\\xNN`` or ``\\uNNNN``; backslashes
    are kept as they are (an escaped byte and a literal ``\\x1b`` read the same, and both are harmless)."""
    return _UNSAFE.sub(_escaped, text)


def log_prefix(owner: str, server: str) -> str:
    """``[hubapps app <owner>/<server>] `` with the names escaped like the lines."""
    return f"[hubapps app {escape_line(owner)}/{escape_line(server)}] "


class AppLogEcho:
    """Write app output lines to ``stream`` as the module docstring says; call :meth:`close` at the end.

    ``rate`` 0 means no limit on the volume (lines are still prefixed, escaped and cut). ``clock`` is
    for tests.
    """

    def __init__(
        self,
        stream: TextIO,
        prefix: str,
        *,
        rate: float,
        burst: float,
        line_length: int,
        note_interval: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.prefix = prefix
        self.rate = rate
        self.burst = max(burst, 1.0)
        self.line_length = max(line_length, 1)
        self.note_interval = note_interval
        self._clock = clock
        self._tokens = self.burst
        self._filled_at = clock()
        #: Lines and bytes dropped since the last note.
        self.dropped_lines = 0
        self.dropped_bytes = 0
        self._note: asyncio.TimerHandle | None = None

    def __call__(self, line: str) -> None:
        # Decided on the line's length before the (costlier) escaping: a flood is mostly dropped lines.
        size = len(self.prefix) + min(len(line), self.line_length) + 1
        if self.rate > 0 and not self._has(size):
            self.dropped_lines += 1
            self.dropped_bytes += size
            self._schedule_note()
            return
        if len(line) > self.line_length:
            line = f"{line[: self.line_length]} [... {len(line) - self.line_length} more characters]"
        text = self.prefix + escape_line(line) + "\n"
        self._tokens -= len(text)  # (escapes may cost more than the estimate: a small debt, paid next)
        self._write(text)

    def _has(self, size: int) -> bool:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._filled_at) * self.rate)
        self._filled_at = now
        return self._tokens >= size

    def _schedule_note(self) -> None:
        if self._note is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # (no loop: the note comes with close())
        self._note = loop.call_later(self.note_interval, self.note)

    def note(self) -> None:
        """Say how many lines were dropped since the last note (not counted against the limit)."""
        self._note = None
        if not self.dropped_lines:
            return
        lines, size = self.dropped_lines, self.dropped_bytes
        self.dropped_lines = self.dropped_bytes = 0
        self._write(
            f"{self.prefix}hubapps: {lines} lines ({size} bytes) of the app's output dropped from this log "
            f"(over {self.rate:g} bytes/s); the app's own log in the launcher has the latest lines\n"
        )

    def close(self) -> None:
        if self._note is not None:
            self._note.cancel()
        self.note()

    def _write(self, text: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.stream.write(text)
            self.stream.flush()
