"""The app's recent output: numbered lines in a ring buffer, for the startup page, the event stream and the logs.

Lines are numbered in the order they arrived, so the startup page's event stream and ``_hubapps/logs``
can resume after a number; waiting readers are woken on every new line and on the app's state changes
(no polling). Each line is also handed to an echo (the proxy's stderr, :mod:`hubapps.proxy.applog`).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

__all__ = ["MAX_LINE_LENGTH", "OutputBuffer"]

#: Longest line kept in the output buffer; longer lines are cut (a binary blob must not eat memory).
MAX_LINE_LENGTH = 4096


class OutputBuffer:
    """The last ``max_lines`` lines of app output, each optionally passed on to ``echo``.

    Lines are numbered from 0 in the order they arrived (:attr:`total` is the number of the next one),
    so a reader that remembers a number can ask for what came after it (:meth:`since`), even across
    reconnects. :meth:`changed` is an event that is set, and replaced, on every new line and on
    :meth:`notify` (the process calls it on state changes): push streams wait on it instead of polling.
    """

    def __init__(self, max_lines: int, echo: Callable[[str], None] | None = None) -> None:
        self._lines: deque[str] = deque(maxlen=max_lines)
        self._echo = echo
        self._partial = ""
        self.total = 0
        self._changed: asyncio.Event | None = None

    def changed(self) -> asyncio.Event:
        """An event set at the next change (a new line or a state change); call again after it fired."""
        if self._changed is None:
            self._changed = asyncio.Event()
        return self._changed

    def notify(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    def append(self, line: str) -> None:
        if len(line) > MAX_LINE_LENGTH:
            line = line[:MAX_LINE_LENGTH] + " [...]"
        self._lines.append(line)
        self.total += 1
        self.notify()
        if self._echo is not None:
            self._echo(line)

    def feed(self, data: str) -> None:
        """Add raw text, splitting lines; an unfinished last line waits for the next call."""
        text = self._partial + data
        *lines, self._partial = text.split("\n")
        if len(self._partial) > MAX_LINE_LENGTH:
            lines.append(self._partial)
            self._partial = ""
        for line in lines:
            self.append(line.rstrip("\r"))

    def flush(self) -> None:
        if self._partial:
            self.append(self._partial)
            self._partial = ""

    def lines(self) -> list[str]:
        return list(self._lines)

    def tail(self, count: int) -> list[str]:
        return list(self._lines)[-count:] if count > 0 else []

    @property
    def first(self) -> int:
        """Number of the oldest line still kept."""
        return self.total - len(self._lines)

    def since(self, number: int) -> tuple[int, list[str]]:
        """``(number of the first line returned, lines)``: what arrived from line ``number`` on.

        Lines that were already dropped from the buffer are skipped (the first number says so).
        """
        start = max(number, self.first)
        if start >= self.total:
            return self.total, []
        skip = start - self.first
        return start, [line for index, line in enumerate(self._lines) if index >= skip]
