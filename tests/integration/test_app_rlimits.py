"""The per-app limits the proxy sets (``--memory-limit``, ``--process-limit``), enforced by the real kernel.

The proxy sets them between fork and exec (:func:`hubapps.proxy.process.resource_limits`). The memory
limit on a real Hub (an app over it fails with that reason on its details page) is in
test_failure_memory.py; here, each limit on a real child process: the process limit as the kernel counts
it, per user (run as ``nobody``, since root is not held to it), and the memory limit on an allocation.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from hubapps.proxy.process import resource_limits

pytestmark = [pytest.mark.integration]

FORK_SOME = """\
import os, sys, time
made = 0
for _ in range(20):
    try:
        pid = os.fork()
    except OSError as error:
        print("refused:", error.strerror)
        break
    if pid == 0:
        time.sleep(3)
        os._exit(0)
    made += 1
print("made", made)
"""


#: A Python that ``nobody`` may run (the test's own may be in root's home): Debian's.
SYSTEM_PYTHON = "/usr/bin/python3"


@pytest.mark.skipif(os.geteuid() != 0, reason="switching to another user needs root (CI runs as root)")
def test_the_process_limit_holds_an_app_to_its_count_of_processes() -> None:
    limited = subprocess.run(
        [SYSTEM_PYTHON, "-I", "-c", FORK_SOME],
        user="nobody",
        preexec_fn=resource_limits(0, 5),
        capture_output=True,
        text=True,
        timeout=30,
        cwd="/",
    )
    assert "refused: Resource temporarily unavailable" in limited.stdout, limited.stdout + limited.stderr
    made = int(limited.stdout.split("made ")[1])
    assert made <= 4  # the app itself is one of the five
    unlimited = subprocess.run(
        [SYSTEM_PYTHON, "-I", "-c", FORK_SOME], user="nobody", capture_output=True, text=True, timeout=30, cwd="/"
    )
    assert "made 20" in unlimited.stdout, unlimited.stdout + unlimited.stderr


def test_the_memory_limit_makes_a_big_allocation_fail() -> None:
    allocate = "bytearray(1 << 30); print('allocated')"
    limited = subprocess.run(
        [sys.executable, "-I", "-c", allocate],
        preexec_fn=resource_limits(256 << 20, 0),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert limited.returncode != 0
    assert "MemoryError" in limited.stderr
    assert (
        "allocated"
        in subprocess.run([sys.executable, "-I", "-c", allocate], capture_output=True, text=True, timeout=30).stdout
    )


def test_no_limits_means_nothing_runs_before_the_app() -> None:
    assert resource_limits(0, 0) is None
