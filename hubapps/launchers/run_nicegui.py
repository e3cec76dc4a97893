"""``python -m hubapps.launchers.run_nicegui SOCKET SCRIPT [ARG ...]``: a NiceGUI script behind a prefix.

A NiceGUI script calls ``ui.run()``, whose defaults bind ``0.0.0.0:8080`` (every interface), reload on file
changes in a second process and open a browser. This launcher replaces ``ui.run`` before the script runs
with one that keeps the script's own settings (title, dark mode, storage secret, ...) but listens only on
the unix socket SOCKET (uvicorn's ``uds``, which wins over any host and port), with no reload, no browser, no
native window and no NiceGUI On Air tunnel. The prefix is not given as ``root_path``: NiceGUI writes
``X-Forwarded-Prefix`` (which hubapps-proxy sends when it strips the prefix) *and* ``root_path`` into its page,
so both would double it (zauberzeug/nicegui#5154). The script runs as
``__main__`` with ``sys.argv = [SCRIPT, ARG ...]``, as ``python SCRIPT`` would run it (NiceGUI's script mode
runs ``sys.argv[0]`` again and needs that).
"""

from __future__ import annotations

import os
import runpy
import sys
from typing import Any

#: What ``ui.run`` may not choose for itself: where and how it listens, and what else it starts.
_FORCED_AWAY = ("host", "port", "uds", "fd", "ssl_certfile", "ssl_keyfile", "ssl_keyfile_password", "root_path")


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) < 2:
        raise SystemExit("usage: python -m hubapps.launchers.run_nicegui SOCKET SCRIPT [ARG ...]")
    socket_path, script, *rest = args
    from nicegui import ui

    original = ui.run

    def run(*run_args: Any, **kwargs: Any) -> None:
        for key in _FORCED_AWAY:
            kwargs.pop(key, None)
        kwargs.update(
            host="127.0.0.1",
            uds=socket_path,
            reload=False,
            show=False,
            native=False,
            window_size=None,
            fullscreen=False,
            frameless=False,
            on_air=None,
            show_welcome_message=False,
        )
        original(*run_args, **kwargs)

    ui.run = run
    sys.argv = [script, *rest]
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
