"""``python -m hubapps.launchers.run_shiny SOCKET ROOT_PATH FILE [ARG ...]``: a Shiny for Python app on a unix socket.

``shiny run`` takes a host and a port only; :func:`shiny.run_app` (what ``shiny run`` calls) passes other
keywords to uvicorn, which listens on ``uds`` instead of the host and port when it is given. Core apps
(``app = App(...)``) and Shiny Express files both work, as with ``shiny run FILE``. The arguments after
FILE reach the app as ``sys.argv[1:]``.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) < 3:
        raise SystemExit("usage: python -m hubapps.launchers.run_shiny SOCKET ROOT_PATH FILE [ARG ...]")
    socket_path, root_path, file, *rest = args
    sys.argv = [file, *rest]
    import shiny

    run_app = shiny.run_app  # (None only under Pyodide, where shiny has no server)
    assert run_app is not None
    run_app(
        file,
        uds=socket_path,
        root_path=root_path,
        reload=False,
        launch_browser=False,
        # Development mode shows viewers the app's tracebacks and loads unminified scripts.
        dev_mode=False,
    )


if __name__ == "__main__":
    main()
