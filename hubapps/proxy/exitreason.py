"""The app's own words for why it exited: one line picked from the end of its output, purely.

An app that exits before it was ever ready almost always said why, last: the exception line of a
Python traceback (``SyntaxError: invalid syntax``), a CLI's ``Error: ...`` (Streamlit's ``Error:
Invalid value: File does not exist: app.py``), or ``python: can't open file ...``. That line, not "the
app exited with code 1", is what its owner needs to read on the launcher's card, so the failure reason
carries it (:func:`app_message`).

The line is the app's (possibly hostile) text: it is cut to :data:`MAX_MESSAGE` characters and its
control characters are replaced, so it is one short line; the pages and the service escape it as any
other text. It is only shown to those who may read the app's output (its owner and admins).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

__all__ = ["MAX_MESSAGE", "app_message", "out_of_memory"]

#: Longest message taken from the app's output, in characters (the rest is cut, with an ellipsis).
MAX_MESSAGE = 300
#: Lines from the end of the output looked at (a traceback's exception line is its last).
LOOK_BACK = 40

# ``ValueError: x``, ``json.decoder.JSONDecodeError: x``, ``KeyboardInterrupt``, ``Error: Invalid value``.
_EXCEPTION = re.compile(r"^(?:[A-Za-z_][\w.]*\.)?[A-Z]\w*(?:Error|Exception|Exit|Interrupt|Warning)\b(?::.*)?$")
# Lines of a program that says it failed: ``error: ...``, ``python: can't open file ...``, ``fatal: ...``.
_SAYS_ERROR = re.compile(r"(?i)(?:^|\W)(?:error|fatal|can't|cannot|could not|no such file|not found|does not exist)\b")
# A traceback's frame line: where the error is.
_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+)')
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Terminal colours and cursor moves (``ESC [ 31 m``), which some CLIs print even into a pipe.
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


# What programs say when an allocation fails (under ``--memory-limit``, RLIMIT_AS makes it fail rather
# than the kernel kill the process): Python, C/C++ and Rust runtimes, Node.js, the JVM, glibc's errno text.
_NO_MEMORY = re.compile(
    r"\bMemoryError\b|Cannot allocate memory|std::bad_alloc|out of memory|OutOfMemoryError"
    r"|memory allocation of \d+ bytes failed|failed to allocate|JavaScript heap out of memory",
    re.IGNORECASE,
)


def out_of_memory(lines: Sequence[str]) -> bool:
    """Whether the app's last output (oldest first) says an allocation failed."""
    return any(_NO_MEMORY.search(line) for line in lines[-LOOK_BACK:] if not line.startswith("hubapps:"))


def _clean(line: str) -> str:
    line = _CONTROL.sub(" ", line).strip()
    return line if len(line) <= MAX_MESSAGE else line[: MAX_MESSAGE - 1] + "\u2026"


def _where(lines: Sequence[str], index: int) -> str:
    """`` (file.py, line 3)`` from the traceback frame nearest above ``lines[index]``, or ""."""
    for line in reversed(lines[max(0, index - 8) : index]):
        frame = _FRAME.match(line)
        if frame:
            return f" ({os.path.basename(frame['file'])}, line {frame['line']})"
    return ""


def app_message(lines: Sequence[str]) -> str:
    """The most telling line of the app's last output (oldest first), cleaned and bounded; "" if none.

    The last exception line wins (with the file and line of its frame, when the traceback shows one),
    else the last line that says something failed, else the last line that is not the proxy's own
    (``hubapps: ...``) or blank.
    """
    plain = (_ANSI.sub("", line) for line in lines[-LOOK_BACK:])
    own = [line for line in plain if line.strip() and not line.startswith("hubapps:")]
    for index in range(len(own) - 1, -1, -1):
        stripped = own[index].strip()
        if _EXCEPTION.match(stripped):
            return _clean(stripped + _where(own, index))
    for line in reversed(own):
        if _SAYS_ERROR.search(line):
            return _clean(line)
    return _clean(own[-1]) if own else ""
