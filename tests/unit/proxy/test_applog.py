"""App output on the proxy's stderr: prefixed, escaped, cut, and rate-limited with a note of what was dropped."""

from __future__ import annotations

import asyncio
import io

from hubapps.proxy.applog import AppLogEcho, escape_line, log_prefix

PREFIX = log_prefix("ann", "sales")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def echo(rate: float = 0, burst: float = 0, line_length: int = 100) -> tuple[AppLogEcho, io.StringIO, Clock]:
    stream, clock = io.StringIO(), Clock()
    writer = AppLogEcho(stream, PREFIX, rate=rate, burst=burst, line_length=line_length, note_interval=1, clock=clock)
    return writer, stream, clock


def test_every_control_character_is_escaped() -> None:
    forged = "\r[I 2026 JupyterHub] x\x1b[31m\x00\x07\x7f\x85\u2028\u2029\u202e\u200b\ufeff\t é ✓"
    escaped = escape_line(forged)
    assert escaped == (
        "\\x0d[I 2026 JupyterHub] x\\x1b[31m\\x00\\x07\\x7f\\x85\\u2028\\u2029\\u202e\\u200b\\ufeff\\x09 é ✓"
    )
    assert all(ord(c) >= 32 and not 0x7F <= ord(c) <= 0x9F for c in escaped)
    assert log_prefix("a\nb", "c\x1b") == "[hubapps app a\\x0ab/c\\x1b] "


def test_lines_are_prefixed_escaped_and_cut() -> None:
    writer, stream, _ = echo(line_length=10)
    writer("\x1b[2Kshort")
    writer("y" * 25)
    assert stream.getvalue().splitlines() == [
        PREFIX + "\\x1b[2Kshort",
        PREFIX + "yyyyyyyyyy [... 15 more characters]",
    ]


async def test_over_the_rate_lines_are_dropped_and_noted_once_per_interval() -> None:
    writer, stream, clock = echo(rate=100, burst=200)
    line = "x" * (100 - len(PREFIX) - 1)  # 100 bytes written per line
    for _ in range(10):
        writer(line)
    assert stream.getvalue().count("\n") == 2  # the burst
    assert writer.dropped_lines == 8
    clock.now = 1.0  # one second: room for one more line
    writer(line)
    writer(line)
    assert stream.getvalue().count("\n") == 3
    await asyncio.sleep(1.1)  # the note, from the loop (note_interval = 1)
    last = stream.getvalue().splitlines()[-1]
    assert last.startswith(PREFIX + "hubapps: 9 lines (900 bytes)")
    assert writer.dropped_lines == 0
    writer.close()
    assert stream.getvalue().splitlines()[-1] == last  # nothing more to note


def test_without_a_rate_nothing_is_dropped() -> None:
    writer, stream, _ = echo(rate=0)
    for _ in range(10_000):
        writer("line")
    assert stream.getvalue().count("\n") == 10_000
