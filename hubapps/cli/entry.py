"""The ``hubapps`` command's entry point: the argument parser and the dispatch to a subcommand.

``hubapps demo`` starts a local JupyterHub with the launcher and example apps (:mod:`hubapps.cli.demo`);
``hubapps config-reference`` prints the admin settings as Markdown (``docs/configuration.md``,
:mod:`hubapps.cli.reference`);
``hubapps deploy|list|start|stop|restart|status|logs|share|unshare|delete|revisions|rollback|events`` drive
the launcher through its REST API with a Hub token (:mod:`hubapps.cli.commands`).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from hubapps.cli.commands import add_app_commands, run_app_command
from hubapps.cli.reference import config_reference

if TYPE_CHECKING:
    import httpx

__all__ = ["main"]


def _demo(args: argparse.Namespace) -> int:
    from hubapps.cli.demo import DemoSettings, run_demo

    chp = args.chp or shutil.which("configurable-http-proxy")
    if not chp:
        print("configurable-http-proxy not found: run `make demo`, or `npm install configurable-http-proxy`.")
        return 1
    state = args.state or (".state/demo" if args.port == 8000 else f".state/demo-{args.port}")
    try:
        settings = DemoSettings(Path(state), chp=chp, port=args.port)
    except ValueError as error:
        print(f"hubapps demo: {error}", file=sys.stderr)
        return 2
    busy = settings.busy_ports()
    if busy:
        ports = ", ".join(map(str, busy))
        message = f"hubapps demo: port {ports} on 127.0.0.1 is in use (a demo running already?); try --port"
        print(message, file=sys.stderr)
        return 1
    return run_demo(settings)


def main(argv: list[str] | None = None, *, transport: httpx.BaseTransport | None = None) -> int:
    """Run ``hubapps``; ``transport`` replaces the network of the launcher subcommands (tests)."""
    parser = argparse.ArgumentParser(prog="hubapps", description="The ``hubapps`` command.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="start a local JupyterHub with the launcher and example apps")
    demo.add_argument(
        "--state", default="", help="folder for the demo's config, database and homes (default .state/demo[-PORT])"
    )
    demo.add_argument(
        "--port",
        type=int,
        default=8000,
        help="port of the Hub on 127.0.0.1; the demo's other ports move with it (PORT+1, PORT+81, PORT+2202)",
    )
    demo.add_argument("--chp", default="", help="path of configurable-http-proxy")
    sub.add_parser("config-reference", help="print the admin settings as Markdown")
    add_app_commands(sub)
    args = parser.parse_args(argv)
    if hasattr(args, "handler"):
        return run_app_command(args, transport=transport)
    if args.command == "demo":
        return _demo(args)
    print(config_reference())
    return 0
