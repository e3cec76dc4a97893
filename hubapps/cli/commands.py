"""``hubapps deploy|list|start|stop|restart|status|logs|share|unshare|share-link|policy|delete|revisions|rollback|``
``events``: the launcher from a script.

Each subcommand is one or two calls of :class:`hubapps.cli.client.LauncherClient` (the service's REST API,
never the Hub API) and prints a short human-readable answer, or the API's JSON with ``--json``.
Errors go to stderr as one line, with exit status 1; the token is never printed.

Apps are named ``OWNER/SERVER``, or just ``SERVER`` for the caller's own apps.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

import httpx

from hubapps.cli.client import DEFAULT_SERVICE, DEFAULT_TIMEOUT, JSONDict, LauncherClient, LauncherError

__all__ = ["add_app_commands", "run_app_command"]

#: Hub URL when neither ``--url`` nor ``JUPYTERHUB_URL`` is given.
DEFAULT_URL = "http://127.0.0.1:8000"
#: Seconds between two polls of ``--wait`` and ``logs --follow``.
POLL_INTERVAL = 1.0
#: Polls in a row that must find a starting app stopped before ``--wait`` gives up on it.
STOPPED_POLLS = 3
#: Seconds ``--wait`` waits by default for an app to start or stop.
DEFAULT_WAIT = 120.0
#: Widest table cell (longer names and descriptions are cut).
MAX_CELL = 48

Handler = Callable[[LauncherClient, argparse.Namespace, TextIO], int]


# -- output ---------------------------------------------------------------------------------------


def _printable(text: object, limit: int | None = None) -> str:
    """Text fit for a terminal: control characters (escape sequences in another user's app name) dropped."""
    out = "".join(ch if ch.isprintable() or ch == "\t" else "?" for ch in str(text))
    if limit is not None and len(out) > limit:
        out = out[: limit - 1] + "…"
    return out


def _table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    cells = [[_printable(c, MAX_CELL) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    lines = [headers, *cells]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines)


def _dump(out: TextIO, body: Any) -> None:
    out.write(json.dumps(body, indent=2, sort_keys=True) + "\n")


def _say(out: TextIO, text: str) -> None:
    out.write(_printable(text) + "\n")


# -- argument types -------------------------------------------------------------------------------


def _env_pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        # Only the key is repeated: the value may be a secret.
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {key[:40]!r} with no '='")
    return key, value


def _secret_pair(text: str) -> tuple[str, str]:
    """``NAME`` (the value is this process's ``$NAME``, kept out of argv) or ``NAME=VALUE``."""
    key, sep, value = text.partition("=")
    if not key:
        raise argparse.ArgumentTypeError("expected NAME or NAME=VALUE")
    if not sep:
        if key not in os.environ:
            raise argparse.ArgumentTypeError(f"${key[:40]} is not set (export it, or give NAME=VALUE)")
        value = os.environ[key]
    return key, value


# -- handlers -------------------------------------------------------------------------------------


def _wait(client: LauncherClient, owner: str, server: str, target: str, timeout: float) -> JSONDict:
    """Poll the status until the app is ``target`` (running: it answers; or stopped).

    Waiting for ``running`` ends with an error saying why as soon as the app has failed (the reason is
    the app's own last words where it said any), or if it stopped while starting.
    """
    deadline = time.monotonic() + timeout
    stopped_polls = 0
    while True:
        status = client.status(owner, server)
        state = status.get("state")
        if target == "running":
            if state == "failed":
                raise LauncherError(f"{owner}/{server} failed to start: {status.get('reason') or 'no reason given'}")
            if state == "running":
                return status
            # A start of a failed app stops its server first: "stopped" for a moment is no failure.
            stopped_polls = stopped_polls + 1 if state == "stopped" else 0
            if stopped_polls >= STOPPED_POLLS:
                why = f": {status['reason']}" if status.get("reason") else " (see `hubapps status`)"
                raise LauncherError(f"{owner}/{server} stopped while starting{why}")
        elif state == target:
            return status
        if time.monotonic() >= deadline:
            raise LauncherError(f"{owner}/{server} is still {state} after {timeout:g} s")
        time.sleep(POLL_INTERVAL)


def _deploy(client: LauncherClient, args: argparse.Namespace, out: TextIO) -> int:
    spec: JSONDict = {
        "framework": args.framework,
        "display_name": args.name,
        "description": args.description,
        "filepath": args.file,
        "env": dict(args.env),
        "python_env": args.python_env,
        "public": args.public,
        "keep_alive": args.keep_alive,
        "start": args.start,
    }
    if args.secret:
        spec["secret_env"] = dict(args.secret)
    # The argv after ``--`` (the ``command`` framework); the service says when a framework takes none.
    if args.argv:
        spec["command"] = list(args.argv)
    choice: str | None = args.on_conflict
    if choice:
        spec["on_conflict"] = choice
    try:
        app, created = client.deploy_app(spec)
    except LauncherError as exc:
        if exc.code != "app_exists" or choice:
            raise
        choice = _ask_on_conflict(exc, args.name)
        app, created = client.deploy_app({**spec, "on_conflict": choice})
    owner, server = app["id"].split("/", 1)
    if args.wait and args.start:
        app["state"] = _wait(client, owner, server, "running", args.wait_timeout)["state"]
    if args.json:
        _dump(out, app)
    else:
        # A deploy over an existing app answers it (or its restart, which has no URL yet).
        verb = "created" if created else "updated"
        url = app.get("url") or client.get_app(owner, server)["url"]
        _say(out, f"{verb} {app['id']} ({app['state']}): {url}")
    return 0


def _ask_on_conflict(exc: LauncherError, name: str) -> str:
    """What to do with a deploy whose name is taken: asked on a terminal, else a clear refusal."""
    existing = exc.existing or "an existing app"
    if not sys.stdin.isatty():
        raise LauncherError(
            f"you already have an app called {name!r} ({existing}): pass --update to deploy over it,"
            " or --new to create another one with a distinct name",
            status=exc.status,
            field="--name",
            code=exc.code,
            existing=exc.existing,
        )
    sys.stderr.write(f"You already have an app called {_printable(name)!r} ({_printable(existing)}).\n")
    while True:
        sys.stderr.write("[u]pdate it, create a [n]ew one with a distinct name, or [c]ancel? ")
        sys.stderr.flush()
        answer = sys.stdin.readline().strip().lower()
        if answer in ("u", "update"):
            return "update"
        if answer in ("n", "new"):
            return "new"
        if answer in ("", "c", "cancel", "q"):
            raise LauncherError("cancelled: nothing was deployed", code=exc.code, existing=exc.existing)


def _list(client: LauncherClient, args: argparse.Namespace, out: TextIO) -> int:
    access = [a for a, wanted in (("owned", args.mine), ("shared", args.shared), ("public", args.public)) if wanted]
    if args.all:
        access = ["all"]  # every user's apps: Hub admins only (the launcher refuses anyone else)
    listing = client.list_apps(access=access, framework=args.framework, state=args.state, search=args.search)
    if args.json:
        _dump(out, listing)
        return 0
    apps = listing.get("data", [])
    if not apps:
        _say(out, "no apps")
        return 0
    rows = [(a["id"], a["display_name"], a["framework"], a["state"], a["access"], a["url"]) for a in apps]
    out.write(_table(("APP", "NAME", "FRAMEWORK", "STATE", "ACCESS", "URL"), rows) + "\n")
    for app in apps:
        if app.get("reason") and app["state"] in ("failed", "unknown"):
            _say(out, f"{app['id']} {app['state']}: {app['reason']}")
    return 0


def _lifecycle(action: str) -> Handler:
    def handler(client: LauncherClient, args: argparse.Namespace, out: TextIO) -> int:
        owner, server = client.resolve(args.app)
        call = {"start": client.start_app, "stop": client.stop_app, "restart": client.restart_app}[action]
        result = call(owner, server)
        if args.wait:
            target = "stopped" if action == "stop" else "running"
            result = {**result, "state": _wait(client, owner, server, target, args.wait_timeout)["state"]}
            result["done"] = True
        if args.json:
            _dump(out, result)
        else:
            _say(out, f"{owner}/{server}: {result['state']}")
        return 0

    return handler


def _status(client: LauncherClient, args: argparse.Namespace, out: TextIO) -> int:
    owner, server = client.resolve(args.app)
    status = client.status(owner, server)
    if args.json:
        _dump(out, status)
        return 0
    state = status["state"]
    if state == "running" and status.get("ready_after") is not None:
        state += f" (ready in {status['ready_after']:.1f} s)"
    elif state == "starting" and status.get("app_state") and status.get("elapsed") is not None:
        state += f" (for {status['elapsed']:.1f} s)"
    lines = [f"app:      {status['id']}", f"state:    {state}"]
    if status.get("progress") is not None or status.get("message"):
        lines.append(f"progress: {status.get('progress') or 0}% {status.get('message') or ''}".rstrip())
    if status.get("reason"):
        lines.append(f"reason:   {status['reason']}")
    tail = status.get("log_tail") or []
    run = status.get("last_run") or {}
    if run.get("state") == "failed" and status["state"] in ("stopped", "failed"):
        # Failure memory: the proxy reported why before it exited (the server may be gone since).
        lines.append(
            f"last run: stopped after a failure at {run.get('ended') or '?'}: {run.get('reason') or 'no reason given'}"
        )
        tail = tail or run.get("log_tail") or []
    for line in lines:
        _say(out, line)
    if tail:
        _say(out, "log tail:")
        for line in tail:
            _say(out, "  " + line)
    return 0


def _new_lines(seen: list[str], lines: list[str]) -> list[str]:
    """The lines of ``lines`` after its overlap with the end of ``seen`` (both are tails of one log)."""
    for size in range(min(len(seen), len(lines)), 0, -1):
        if seen[-size:] == lines[:size]:
            return lines[size:]
    return lines


def _logs(client: LauncherClient, args: argparse.Namespace, out: TextIO) -> int:
    owner, server = client.resolve(args.app)
    logs = client.logs(owner, server, lines=args.lines)
    if args.json:
        _dump(out, logs)
        return 0
    seen: list[str] = list(logs.get("lines", []))
    for line in seen:
        _say(out, line)
    try:
        while args.follow:
            out.flush()
            time.sleep(POLL_INTERVAL)
            lines = list(client.logs(owner, server, lines=args.lines).get("lines", []))
            for line in _new_lines(seen, lines):
                _say(out, line)
            seen = lines
    except KeyboardInterrupt:
        pass
    return 0


def _print_shares(out: TextIO, shares: JSONDict) -> None:
    who = [f"{s['kind']} {s['name']}" for s in shares.get("shares", [])]
    _say(out, f"{shares['id']}: {'public' if shares.get('public') else 'private'}")
    _say(out, "shared with: " + (", ".join(who) if who else "nobody"))


def _share(client: LauncherClient, args: argparse.Namespace, out: TextIO) -> int:
    owner, server = client.resolve(args.app)
    if args.user or args.group:
        shares = client.share(owner, server, users=args.user, groups=args.group)
    else:
        shares = client.shares(owner, server)  # no names: show who has access
    if args.json:
        _dump(out, shares)
    else:
        _print_shares(out, shares)
    return 0


def _unshare(client: LauncherClient, args: argparse.Namespace, out: TextIO) -> int:
    owner, server = client.resolve(args.app)
    if args.all:
        client.unshare_all(owner, server)
    elif args.user or args.group:
        client.unshare(owner, server, users=args.user, groups=args.group)
    else:
        raise LauncherError("name a --user or --group to revoke, or pass --all")
    shares = client.shares(owner, server)
    if args.json:
        _dump(out, shares)
    else:
        _print_shares(out, shares)
    return 0


#: ``share-link create --expires``: a number and a unit (m, h, d), as a person writes it.
_UNITS = {"m": 60, "h": 3600, "d": 86400}


def _duration(text: str) -> int:
    number, unit = text[:-1], text[-1:].lower()
    if unit not in _UNITS or not number.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration such as 30m, 12h or 7d")
    return int(number) * _UNITS[unit]


def _print_links(out: TextIO, app: str, links: list[JSONDict]) -> None:
    if not links:
        _say(out, f"{app}: no share links")
        return
    rows = [
        (x["id"], x.get("created_at") or "", x.get("expires_at") or "never", x.get("exchange_count", 0)) for x in links
    ]
    out.write(_table(("ID", "CREATED", "EXPIRES", "USES"), rows) + "\n")


def _share_link(client: LauncherClient, args: argparse.Namespace, out: TextIO) -> int:
    owner, server = client.resolve(args.app)
    app = f"{owner}/{server}"
    if args.action == "create":
        link = client.create_share_link(owner, server, expires_in=args.expires)
        if args.json:
            _dump(out, link)
        else:
            url = str(link.get("accept_url") or "")
            if url.startswith("/"):
                url = client.origin + url  # the Hub gives a path when it knows no public_url
            _say(out, url)
            _say(out, f"(anyone logged in to the Hub who opens it can open {app}; expires {link.get('expires_at')})")
        return 0
    if args.action == "revoke":
        if not args.id and not args.all:
            raise LauncherError("name the link to revoke with --id (see `hubapps share-link list`), or pass --all")
        client.revoke_share_links(owner, server, link_id=None if args.all else args.id)
    links = client.share_links(owner, server)
    if args.json:
        _dump(out, links)
    else:
        _print_links(out, app, links)
    return 0


#: The spec fields ``hubapps policy`` shows and sets.
POLICY_FIELDS = ("idle_policy", "idle_minutes", "max_age_minutes", "viewers_can_start")


def _policy_changes(args: argparse.Namespace) -> JSONDict:
    """The spec changes ``hubapps policy``'s options ask for (empty: only show the policy)."""
    changes: JSONDict = {}
    own_times = args.idle_minutes is not None or args.max_age_minutes is not None
    if (args.keep_running or args.default) and own_times:
        raise LauncherError(
            "--idle-minutes and --max-age-minutes set the app's own policy: give them without "
            "--keep-running or --default"
        )
    if args.keep_running:
        changes["idle_policy"] = "keep"
    elif args.default:
        changes["idle_policy"] = "default"
    elif own_times:
        changes["idle_policy"] = "idle"
        for name in ("idle_minutes", "max_age_minutes"):
            if getattr(args, name) is not None:
                changes[name] = getattr(args, name)
    if args.viewers_can_start is not None:
        changes["viewers_can_start"] = args.viewers_can_start == "yes"
    if changes and args.restart:
        changes["restart"] = True
    return changes


def _describe_policy(policy: JSONDict) -> str:
    kind = policy.get("idle_policy") or "default"
    if kind == "keep":
        return "keep running (never stopped for being idle or old)"
    if kind == "default":
        return "the Hub's default (c.HubApps.app_idle_timeout and app_max_age)"
    parts = []
    if policy.get("idle_minutes"):
        parts.append(f"after {policy['idle_minutes']:g} min without viewers")
    if policy.get("max_age_minutes"):
        parts.append(f"{policy['max_age_minutes']:g} min after a start")
    return "stop " + " or ".join(parts)


def _policy(client: LauncherClient, args: argparse.Namespace, out: TextIO) -> int:
    owner, server = client.resolve(args.app)
    changes = _policy_changes(args)
    if changes:
        client.update_app(owner, server, changes)
    spec = client.get_app(owner, server).get("spec")
    if not isinstance(spec, dict):
        raise LauncherError("only the app's owner and Hub admins see its policy", status=404)
    policy: JSONDict = {"id": f"{owner}/{server}", **{k: spec.get(k) for k in POLICY_FIELDS}}
    if not policy["idle_policy"]:
        policy["idle_policy"] = "keep" if spec.get("keep_alive") else "default"
    if args.json:
        _dump(out, policy)
        return 0
    _say(out, f"app:               {policy['id']}")
    _say(out, f"when idle:         {_describe_policy(policy)}")
    _say(out, f"viewers can start: {'yes' if policy.get('viewers_can_start') else 'no'}")
    return 0


def _confirm(question: str) -> bool:
    try:
        return input(question).strip().lower() in ("y", "yes")
    except (EOFError, OSError):
        return False


def _delete(client: LauncherClient, args: argparse.Namespace, out: TextIO) -> int:
    owner, server = client.resolve(args.app)
    if not args.yes and not _confirm(f"Stop and delete {_printable(owner)}/{_printable(server)}? [y/N] "):
        sys.stderr.write("not deleted (pass --yes to skip the question)\n")
        return 1
    result = client.delete_app(owner, server)
    if args.json:
        _dump(out, result)
    else:
        _say(out, f"deleted {owner}/{server}" if result.get("done") else f"{owner}/{server}: deleting (stopping)")
    return 0


def _when(value: object) -> str:
    """An API time (ISO 8601, UTC) to the minute, as the pages show it."""
    text = str(value or "")
    return f"{text[:16].replace('T', ' ')} UTC" if text else ""


def _shown_value(change: JSONDict, key: str) -> str:
    if change.get("secret"):
        return "(secret)"
    value = change.get(key)
    return "" if value is None else json.dumps(value) if not isinstance(value, str) else value


def _revisions(client: LauncherClient, args: argparse.Namespace, out: TextIO) -> int:
    owner, server = client.resolve(args.app)
    if args.compare:
        first, second = args.compare
        compared = client.compare_revisions(owner, server, first, second)
        if args.json:
            _dump(out, compared)
            return 0
        changes = compared.get("changes", [])
        if not changes:
            _say(out, f"{owner}/{server}: revisions {first} and {second} have the same spec")
            return 0
        rows: list[tuple[object, ...]] = [
            (c["field"], c["change"], _shown_value(c, "before"), _shown_value(c, "after")) for c in changes
        ]
        out.write(_table(("FIELD", "CHANGE", f"REVISION {first}", f"REVISION {second}"), rows) + "\n")
        return 0
    listing = client.revisions(owner, server)
    if args.json:
        _dump(out, listing)
        return 0
    history: list[tuple[object, ...]] = [
        (
            r["number"],
            _when(r.get("created_at")),
            r.get("actor") or "(unknown)",
            r.get("note", ""),
            ", ".join(r.get("changed") or []),
            (r.get("source_sha256") or "")[:12] or (r.get("source_commit") or "")[:12],
        )
        for r in listing.get("data", [])
    ]
    out.write(_table(("REV", "WHEN", "WHO", "NOTE", "CHANGED", "SOURCE"), history) + "\n")
    return 0


def _rollback(client: LauncherClient, args: argparse.Namespace, out: TextIO) -> int:
    owner, server = client.resolve(args.app)
    result = client.rollback(owner, server, args.revision, restart=args.restart)
    if args.json:
        _dump(out, result)
    else:
        _say(out, f"{owner}/{server}: rolled back to revision {args.revision} ({result['state']})")
    return 0


def _since(text: str) -> str:
    """``--since``: a duration back from now (30m, 12h, 7d) or a date/time as ISO 8601 (sent as is)."""
    if text[-1:].lower() in _UNITS and text[:-1].isdigit():
        return (datetime.now(UTC) - timedelta(seconds=_duration(text))).isoformat(timespec="seconds")
    try:
        datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text[:40]!r} is not a duration (30m, 12h, 7d) or a date (2026-01-31)"
        ) from None
    return text


def _print_events(out: TextIO, events: list[JSONDict]) -> None:
    if not events:
        _say(out, "no events")
        return
    rows = []
    for e in events:
        detail = "; ".join(
            f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
            for k, v in (e.get("detail") or {}).items()
            if v not in ([], "", None)
        )
        when = str(e.get("at") or "")[:19].replace("T", " ")
        rows.append((when, f"{e['owner']}/{e['server']}", e["kind"], e.get("actor") or "(launcher)", detail))
    out.write(_table(("WHEN (UTC)", "APP", "KIND", "ACTOR", "DETAIL"), rows) + "\n")


def _events(client: LauncherClient, args: argparse.Namespace, out: TextIO) -> int:
    if args.delete_user is not None:
        if args.app or args.owner or args.actor or args.kind or args.since or args.jsonl:
            raise LauncherError("--delete-user deletes every event of one user: give it alone")
        user = args.delete_user
        question = f"Delete every event of {_printable(user)}'s apps and every event {_printable(user)} caused? [y/N] "
        if not args.yes and not _confirm(question):
            sys.stderr.write("nothing deleted (pass --yes to skip the question)\n")
            return 1
        result = client.delete_user_events(user)
        if args.json:
            _dump(out, result)
        else:
            _say(out, f"deleted {result['deleted']} events of {result['user']}")
        return 0
    if args.json and args.jsonl:
        raise LauncherError("--json prints one page, --jsonl every event: choose one")
    owner, server = client.resolve(args.app) if args.app else (args.owner, None)
    if args.app and args.owner and args.owner != owner:
        raise LauncherError(f"--owner {args.owner!r} and the app {args.app!r} name different owners")
    kinds = [k for text in args.kind for k in text.split(",") if k]
    filters: JSONDict = {
        "owner": owner,
        "server": server,
        "actor": args.actor,
        "kind": kinds,
        "since": args.since,
        "before": args.before,
        "limit": args.limit,
    }
    if args.jsonl:
        for chunk in client.export_events(**filters):
            out.write(chunk)
        return 0
    page = client.events(**filters)
    if args.json:
        _dump(out, page)
        return 0
    _print_events(out, page.get("data", []))
    if page.get("next_before"):
        _say(out, f"(older events: --before {page['next_before']})")
    return 0


# -- parsers --------------------------------------------------------------------------------------


def _connection_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("connection")
    group.add_argument(
        "--url",
        help=(
            "the Hub's public URL, or the launcher's own under subdomain_host "
            f"(default: $JUPYTERHUB_URL, else {DEFAULT_URL})"
        ),
    )
    group.add_argument(
        "--token", help="a Hub API token (default: $JUPYTERHUB_API_TOKEN; prefer it, argv is visible to others)"
    )
    group.add_argument("--service", default=DEFAULT_SERVICE, help="name of the launcher service (default: %(default)s)")
    group.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per request")
    common.add_argument("--json", action="store_true", help="print the API's JSON answer")
    return common


def add_app_commands(sub: Any) -> None:
    """Add the launcher subcommands to ``hubapps``'s subparsers (``sub``)."""
    common = [_connection_options()]

    deploy = sub.add_parser(
        "deploy",
        parents=common,
        help="create an app (and start it)",
        description="Create an app. For the command framework, give its argv after --, e.g. "
        "`hubapps deploy --name Site --framework command -- {python} serve.py {socket}` ({socket}: the unix "
        "socket to listen on; a program that can only take a port writes {port} instead).",
    )
    deploy.add_argument("--name", required=True, help="display name (the server name is made from it)")
    deploy.add_argument("--framework", required=True, help="framework name (see the launcher's form)")
    deploy.add_argument("--file", default="", help="the app's file, relative to your home")
    deploy.add_argument("--description", default="")
    deploy.add_argument(
        "--env", type=_env_pair, action="append", default=[], metavar="KEY=VALUE", help="environment (repeatable)"
    )
    deploy.add_argument(
        "--secret",
        type=_secret_pair,
        action="append",
        default=[],
        metavar="NAME[=VALUE]",
        help="a secret variable, encrypted by the Hub and never shown again (repeatable); with NAME alone "
        "the value is taken from $NAME, which keeps it out of the process list",
    )
    deploy.add_argument("--public", action="store_true", help="reachable without login (if the Hub allows it)")
    deploy.add_argument("--keep-alive", action="store_true", help="never culled for inactivity")
    deploy.add_argument("--python-env", default="", help="one of the Python environments the admin offers")
    deploy.add_argument("--start", action=argparse.BooleanOptionalAction, default=True, help="start it at once")
    conflict = deploy.add_mutually_exclusive_group()
    conflict.add_argument(
        "--update",
        dest="on_conflict",
        action="store_const",
        const="update",
        help="if you have an app of this name, change it (a running one restarts) instead of asking",
    )
    conflict.add_argument(
        "--new",
        dest="on_conflict",
        action="store_const",
        const="new",
        help="if you have an app of this name, create another one with a distinct name instead of asking",
    )
    deploy.set_defaults(on_conflict=None)
    deploy.add_argument("--wait", action="store_true", help="wait until the app is running and ready")
    deploy.add_argument("--wait-timeout", type=float, default=DEFAULT_WAIT, help="seconds (default: %(default)s)")
    deploy.add_argument("argv", nargs="*", help="the command framework's argv (after --)")
    deploy.set_defaults(handler=_deploy)

    listing = sub.add_parser("list", parents=common, help="list my apps, shared apps and public apps")
    listing.add_argument("--search", help="match names, descriptions and owners")
    listing.add_argument("--framework")
    listing.add_argument("--state", choices=["stopped", "starting", "running", "stopping", "failed", "unknown"])
    listing.add_argument("--mine", action="store_true", help="my own apps (combine with the next two)")
    listing.add_argument("--shared", action="store_true", help="apps shared with me")
    listing.add_argument("--public", action="store_true", help="public apps")
    listing.add_argument("--all", action="store_true", help="every user's apps (Hub admins only)")
    listing.set_defaults(handler=_list)

    for action in ("start", "stop", "restart"):
        parser = sub.add_parser(action, parents=common, help=f"{action} an app")
        parser.add_argument("app", metavar="[OWNER/]SERVER")
        parser.add_argument("--wait", action="store_true", help="wait until it has finished")
        parser.add_argument("--wait-timeout", type=float, default=DEFAULT_WAIT, help="seconds (default: %(default)s)")
        parser.set_defaults(handler=_lifecycle(action))

    status = sub.add_parser("status", parents=common, help="state, start progress and log tail of an app")
    status.add_argument("app", metavar="[OWNER/]SERVER")
    status.set_defaults(handler=_status)

    logs = sub.add_parser("logs", parents=common, help="output of a running app")
    logs.add_argument("app", metavar="[OWNER/]SERVER")
    logs.add_argument("--lines", type=int, default=200, help="last lines to show (default: %(default)s)")
    logs.add_argument("--follow", "-f", action="store_true", help="keep polling for new lines (Ctrl-C stops)")
    logs.set_defaults(handler=_logs)

    for name, verb in (("share", "share with"), ("unshare", "stop sharing with")):
        parser = sub.add_parser(name, parents=common, help=f"{verb} users and groups")
        parser.add_argument("app", metavar="[OWNER/]SERVER")
        parser.add_argument("--user", action="append", default=[], help="user name (repeatable)")
        parser.add_argument("--group", action="append", default=[], help="group name (repeatable)")
        if name == "unshare":
            parser.add_argument("--all", action="store_true", help="revoke every share")
        parser.set_defaults(handler=_share if name == "share" else _unshare)

    link = sub.add_parser(
        "share-link",
        parents=common,
        help="create, list and revoke share links",
        description="Share links are JupyterHub share codes: anyone logged in to the Hub who opens the link "
        "(and accepts) can open the app, until the link expires or is revoked. `create` prints the URL; "
        "it is shown only once.",
    )
    link.add_argument("action", choices=["create", "list", "revoke"])
    link.add_argument("app", metavar="[OWNER/]SERVER")
    link.add_argument(
        "--expires", type=_duration, default=86400, metavar="DURATION", help="create: 30m, 12h, 7d... (default: 1d)"
    )
    link.add_argument("--id", help="revoke: the link's id (from `list`)")
    link.add_argument("--all", action="store_true", help="revoke: every link of the app")
    link.set_defaults(handler=_share_link)

    policy = sub.add_parser(
        "policy",
        parents=common,
        help="show or set when an app is stopped, and whether viewers may start it",
        description="Without options, show the app's idle policy. A running app takes a change only with "
        "--restart (or stop it first).",
    )
    policy.add_argument("app", metavar="[OWNER/]SERVER")
    which = policy.add_mutually_exclusive_group()
    which.add_argument("--keep-running", action="store_true", help="never stop it for being idle or old")
    which.add_argument("--default", action="store_true", help="follow the Hub's default (app_idle_timeout)")
    policy.add_argument("--idle-minutes", type=float, metavar="N", help="stop it after N minutes without viewers")
    policy.add_argument("--max-age-minutes", type=float, metavar="N", help="stop it N minutes after each start")
    policy.add_argument(
        "--viewers-can-start",
        choices=["yes", "no"],
        help="whether people who may open it can start it when stopped (it runs as yours)",
    )
    policy.add_argument("--restart", action="store_true", help="restart a running app to apply the change")
    policy.set_defaults(handler=_policy)
    revisions = sub.add_parser(
        "revisions",
        parents=common,
        help="an app's revision history (every spec it had), or what changed between two",
        description="List an app's revisions, newest first, or compare two with --compare A B. Secret "
        "values are never shown, only that they changed.",
    )
    revisions.add_argument("app", metavar="[OWNER/]SERVER")
    revisions.add_argument(
        "--compare", nargs=2, type=int, metavar=("A", "B"), help="show what changed from revision A to revision B"
    )
    revisions.set_defaults(handler=_revisions)

    rollback = sub.add_parser(
        "rollback",
        parents=common,
        help="make an earlier revision's spec the app's again (a new revision)",
        description="Set the app's spec back to revision N (recorded as a new revision). It restores the "
        "spec only, not your files. A running app is changed only with --restart.",
    )
    rollback.add_argument("app", metavar="[OWNER/]SERVER")
    rollback.add_argument("revision", type=int, metavar="N", help="the revision's number (see `hubapps revisions`)")
    rollback.add_argument("--restart", action="store_true", help="a running app: stop it, change it, start it again")
    rollback.set_defaults(handler=_rollback)
    events = sub.add_parser(
        "events",
        parents=common,
        help="who created, changed, started, stopped, shared, deleted and opened which app",
        description="App events, newest first: your own apps' (Hub admins: everyone's). --jsonl prints every "
        "matching event as JSON lines (the export); --delete-user NAME (Hub admins) deletes every event of "
        "NAME's apps and every event NAME caused.",
    )
    events.add_argument("app", nargs="?", metavar="[OWNER/]SERVER", help="one app's events")
    events.add_argument("--owner", help="events of this user's apps (not an admin: yourself only)")
    events.add_argument("--actor", help="events caused by this user")
    events.add_argument(
        "--kind", action="append", default=[], help="created, edited, started, stopped, opened, ... (repeatable)"
    )
    events.add_argument("--since", type=_since, help="only newer events: 30m, 12h, 7d, or a date (2026-01-31)")
    events.add_argument("--before", type=int, metavar="ID", help="events older than this event id (the next page)")
    events.add_argument("--limit", type=int, help="events to show (default: the launcher's page size)")
    events.add_argument("--jsonl", action="store_true", help="every matching event as JSON lines (an export)")
    events.add_argument("--delete-user", metavar="NAME", help="delete NAME's events (Hub admins)")
    events.add_argument("--yes", "-y", action="store_true", help="--delete-user: do not ask for confirmation")
    events.set_defaults(handler=_events)

    delete = sub.add_parser("delete", parents=common, help="stop and delete an app")
    delete.add_argument("app", metavar="[OWNER/]SERVER")
    delete.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    delete.set_defaults(handler=_delete)


def run_app_command(
    args: argparse.Namespace, *, transport: httpx.BaseTransport | None = None, out: TextIO | None = None
) -> int:
    """Run the parsed subcommand; a :class:`LauncherError` becomes one line on stderr and status 1."""
    handler: Handler = args.handler
    url = args.url or os.environ.get("JUPYTERHUB_URL") or DEFAULT_URL
    token = args.token or os.environ.get("JUPYTERHUB_API_TOKEN") or ""
    try:
        with LauncherClient(url, token, service=args.service, timeout=args.timeout, transport=transport) as client:
            return handler(client, args, out or sys.stdout)
    except LauncherError as exc:
        sys.stderr.write(f"hubapps {args.command}: error: {_printable(exc)}\n")
        return 1
