"""The env dump app (``env_dump_app.py``), taking 3 s to stop after SIGTERM, as real apps do.
Port: ``argv[1]`` or ``$PORT``."""

import runpy
import signal
import sys
import time
from pathlib import Path
from types import FrameType


def _stop_slowly(signum: int, frame: FrameType | None) -> None:
    time.sleep(3)
    sys.exit(0)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _stop_slowly)
    runpy.run_path(str(Path(__file__).with_name("env_dump_app.py")), run_name="__main__")
