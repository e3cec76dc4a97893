"""Scale benchmark: a Hub of 1,000 users x 5 stored apps, 200 of them listing, 20 apps running.

    PATH=.venv/bin:$PATH .venv/bin/python benchmarks/scale_bench.py            # about 10 minutes
    PATH=.venv/bin:$PATH .venv/bin/python benchmarks/scale_bench.py --quick    # under a minute (make test)
    ... scale_bench.py --json out.json

Everything runs as a deployment runs it: a real JupyterHub 6 (the integration tests' configuration and
harness, :class:`tests.integration.conftest.Hub`) with configurable-http-proxy and the launcher service
that ``hubapps.install`` registers (its default settings, one worker), reached through the Hub's proxy.

1. **Populate**: the users (``POST /hub/api/users``, 200 names a call), each with ``--apps`` stored,
   stopped apps (JupyterHub 6 ``PUT``, a few at once); every tenth user's second app is public, and each
   listing user has one app of another user shared with them (the Hub's shares).
2. **Start**: ``--running`` apps (a websocket echo app, ``tests/resources/ws_echo_app.py``, as a
   ``command`` app) started all at once through the launcher's ``POST .../start``; timed until every one
   answers through the Hub's proxy.
3. **List**: the first ``--listing`` users' tokens, in turn, at ``--clients`` keep-alive connections
   (:func:`benchmarks.service_bench.run_load`, a lean load generator in its own process): every
   user's first listing (cold), then ``GET /services/japps/api/apps`` and the home page's gallery
   (``/services/japps/ui/gallery``) for a fixed time after a warm-up, p50/p99, and apart the requests that
   waited for the Hub (``X-Hubapps-Hub-Calls`` > 0); then one connection per listing user.
4. **Hub calls per second** made by the service (its own Prometheus counter
   ``hubapps_service_hub_requests_total``, read before and after) while 20, 100 and 200 users list
   (``--levels``), each level for the same time at ``--clients`` connections.
5. **Service memory**: RSS of the service's processes, sampled every 0.2 s through the whole run (max).
6. **Websockets**: ``--websockets`` websockets opened at once through the Hub's proxy to one running
   app (one hubapps-proxy), a message echoed on each, then the round trip with all of them open, and
   that proxy's RSS.

The numbers go to stdout (and ``--json``) with each target's ratio; ``docs/benchmarks.md`` keeps them.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import contextlib
import itertools
import json
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import httpx
import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from benchmarks.service_bench import pct, run_load  # noqa: E402
from tests.integration.conftest import HUB_6, Hub, own_hub  # noqa: E402

RESOURCES = REPO / "tests" / "resources"
SERVICE = "/services/japps/"
LIST_PATH = SERVICE + "api/apps"
GALLERY_PATH = SERVICE + "ui/gallery"
#: Targets of issue 15, requirement 7.
LIST_P99_TARGET_MS = 50.0
RSS_TARGET_MB = 150.0
#: Seconds to wait for the started apps to answer.
START_TIMEOUT = 180.0


@dataclass(frozen=True)
class Plan:
    users: int
    apps: int
    listing: int
    running: int
    clients: int
    warmup: float
    duration: float
    levels: tuple[int, ...]
    websockets: int
    #: Requests per second of the paced phases, all clients together.
    rate: float
    #: Also the gallery back to back (the full run; the quick one keeps to what make test needs).
    gallery_saturated: bool = True


FULL = Plan(
    users=1000,
    apps=5,
    listing=200,
    running=20,
    clients=20,
    warmup=5.0,
    duration=20.0,
    levels=(20, 100, 200),
    websockets=500,
    rate=50.0,
)
QUICK = Plan(
    users=20,
    apps=5,
    listing=20,
    running=2,
    clients=20,
    warmup=0.5,
    duration=2.0,
    levels=(5, 20),
    websockets=50,
    rate=50.0,
    gallery_saturated=False,
)


def user_name(i: int) -> str:
    return f"scale-{i:04d}"


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


# -- populating the Hub ---------------------------------------------------------------------------------


def stored_options(owner: int, j: int) -> dict[str, Any]:
    return {
        "spec_version": 1,
        "jhub_app": True,
        "framework": "streamlit",
        "display_name": f"App {j}",
        "filepath": "examples/streamlit_app.py",
        "description": f"benchmark app {j} of {user_name(owner)}",
        "public": j == 1 and owner % 10 == 0,
    }


def populate(hub: Hub, plan: Plan) -> dict[str, str]:
    """Create the users, their stored apps and shares; returns the listing users' tokens."""
    names = [user_name(i) for i in range(plan.users)]
    for first in range(0, len(names), 200):
        r = hub.api("POST", "users", json={"usernames": names[first : first + 200]})
        assert r.status_code in (201, 409), r.text

    def apps_of(i: int) -> None:
        for j in range(plan.apps):
            body = {"user_options": stored_options(i, j), "display_name": f"App {j}"}
            r = hub.api("PUT", f"users/{user_name(i)}/servers/app-{j}", json=body)
            assert r.status_code in (201, 409), r.text

    def share_and_token(i: int) -> tuple[str, str]:
        # Each listing user sees one app of the next user shared with them.
        owner = user_name((i + 1) % plan.users)
        r = hub.api("POST", f"shares/{owner}/app-2", json={"user": user_name(i)})
        assert r.status_code in (200, 201), r.text
        r = hub.api("POST", f"users/{user_name(i)}/tokens", json={"note": "scale benchmark", "expires_in": 7200})
        assert r.status_code == 201, r.text
        return user_name(i), str(r.json()["token"])

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(apps_of, range(plan.users)))
        return dict(pool.map(share_and_token, range(plan.listing)))


# -- the service's processes, its metrics ------------------------------------------------------------------


def service_processes(hub: Hub) -> list[psutil.Process]:
    assert hub.process is not None
    for child in psutil.Process(hub.process.pid).children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if any("hubapps.service" in part for part in child.cmdline()):
                return [child, *child.children(recursive=True)]
    raise RuntimeError("the launcher service's process was not found among the Hub's children")


def watched(hub: Hub) -> dict[str, list[psutil.Process]]:
    """The processes whose CPU time a listing phase reads: the service, the Hub, its proxy."""
    assert hub.process is not None
    proxy = [
        child
        for child in psutil.Process(hub.process.pid).children()
        if any("configurable-http-proxy" in part for part in child.cmdline())
    ]
    return {"service": service_processes(hub), "hub": [psutil.Process(hub.process.pid)], "proxy": proxy}


class RssSampler:
    """The largest total RSS of some processes, sampled in a thread (and, of the last sample, the part in
    file-backed and shared pages: mapped files such as the metrics' ``.db`` files, not the heap)."""

    def __init__(self, processes: Sequence[psutil.Process], every: float = 0.2) -> None:
        self.processes = list(processes)
        self.every = every
        self.peak = 0
        self.last = 0
        self.last_shared = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            total = shared = 0
            for proc in self.processes:
                with contextlib.suppress(psutil.Error):
                    info = proc.memory_info()
                    total += info.rss
                    shared += info.shared
            self.last, self.last_shared = total, shared
            self.peak = max(self.peak, total)
            self._stop.wait(self.every)

    def mb(self) -> tuple[float, float]:
        """The last sample: RSS and its file-backed/shared part, MB."""
        return round(self.last / 2**20, 1), round(self.last_shared / 2**20, 1)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


_HUB_CALLS = re.compile(r'^hubapps_service_hub_requests_total\{[^}]*route="([^"]*)"[^}]*\} ([0-9.e+]+)$', re.M)


def hub_calls(hub: Hub, token: str) -> dict[str, float]:
    """The service's count of its Hub calls, by route template (the scrape itself makes one)."""
    r = httpx.get(hub.url.rstrip("/") + SERVICE + "metrics", headers={"Authorization": f"token {token}"}, timeout=30)
    r.raise_for_status()
    counts: dict[str, float] = {}
    for route, value in _HUB_CALLS.findall(r.text):
        counts[route] = counts.get(route, 0.0) + float(value)
    return counts


# -- starting apps at once ------------------------------------------------------------------------------


def create_running_apps(hub: Hub, tokens: dict[str, str], owners: list[str]) -> None:
    """Each owner's ``echo`` app, stored stopped through the launcher (a websocket echo command app)."""
    spec = {
        "framework": "command",
        "display_name": "Echo",
        "command": ["{python}", str(RESOURCES / "ws_echo_app.py"), "{port}"],
        "start": False,
    }
    for owner in owners:
        hub.home(owner).mkdir(parents=True, exist_ok=True)
        r = httpx.post(
            hub.url.rstrip("/") + LIST_PATH,
            json=spec,
            headers={"Authorization": f"token {tokens[owner]}"},
            timeout=60,
        )
        assert r.status_code == 201, r.text
        assert r.json()["name"] == "echo", r.text


async def start_at_once(hub: Hub, tokens: dict[str, str], owners: list[str]) -> dict[str, Any]:
    """POST start of every owner's echo app at once; seconds until each answers through the Hub's proxy
    (an app that fails to start is counted, with the launcher's reason, and the run goes on)."""
    base = hub.url.rstrip("/")
    async with httpx.AsyncClient(timeout=60) as client:
        t0 = time.perf_counter()

        async def one(owner: str) -> tuple[float, float | str]:
            headers = {"Authorization": f"token {tokens[owner]}"}
            r = await client.post(f"{base}{LIST_PATH}/{quote(owner)}/echo/start", headers=headers)
            assert r.status_code in (200, 202), r.text
            answered = time.perf_counter() - t0
            url = f"{base}/user/{quote(owner)}/echo/"
            for attempt in itertools.count():
                if time.perf_counter() - t0 > START_TIMEOUT:
                    return answered, f"not answering after {START_TIMEOUT:g} s"
                with contextlib.suppress(httpx.HTTPError):
                    r = await client.get(url, headers=headers)
                    if r.status_code == 200 and r.text == "ok":
                        return answered, time.perf_counter() - t0
                    if attempt % 10 == 9:  # the launcher's view: has the start failed?
                        app = (await client.get(f"{base}{LIST_PATH}/{quote(owner)}/echo", headers=headers)).json()
                        if app.get("state") in ("failed", "stopped"):
                            return answered, f"{app.get('state')}: {app.get('reason') or app.get('last_run')}"
                await asyncio.sleep(0.1)
            raise AssertionError("unreachable")

        times = await asyncio.gather(*(one(owner) for owner in owners))
    ready = [t for _, t in times if isinstance(t, float)]
    failed = {owner: t for owner, (_, t) in zip(owners, times, strict=True) if isinstance(t, str)}
    return {
        "apps": len(owners),
        "ready": len(ready),
        "failed": failed,
        "start_answered_max_s": round(max(a for a, _ in times), 2),
        "ready_p50_s": round(statistics.median(ready), 2) if ready else None,
        "all_ready_s": round(max(ready), 2) if ready and not failed else None,
        "ready_owners": [owner for owner, (_, t) in zip(owners, times, strict=True) if isinstance(t, float)],
    }


# -- listing ------------------------------------------------------------------------------------------


def listing(hub: Hub, tokens: list[str], plan: Plan, *, path: str = LIST_PATH, **change: Any) -> dict[str, Any]:
    """One phase at ``plan.clients`` connections: paced at ``plan.rate`` requests a second in all, or
    back to back (``rate=None``: as many as the stack answers)."""
    clients, rate = change.get("clients", plan.clients), change.get("rate", plan.rate)
    out = run_load(
        hub.url.rstrip("/"),
        tokens,
        concurrency=clients,
        warmup=plan.warmup,
        duration=plan.duration,
        path=path,
        interval=clients / rate if rate else None,
        watch=watched(hub),
    )
    return summarise(out)


def summarise(out: dict[str, Any]) -> dict[str, Any]:
    lat, calls = out["latencies"], out["calls"]
    waited = [t for t, c in zip(lat, calls, strict=True) if c > 0]
    cpu = {k: round(v * 1000 / max(len(lat), 1), 2) for k, v in out.get("cpu_s", {}).items()}
    return {
        "cpu_ms_per_request": cpu,
        "machine_busy": round(out["machine_busy"], 2),
        "requests": len(lat),
        "errors": out["errors"],
        "req_s": round(len(lat) / out["elapsed"], 1) if out.get("elapsed") else None,
        "p50_ms": ms(statistics.median(lat)),
        "p99_ms": ms(pct(lat, 0.99)),
        "max_ms": ms(max(lat)),
        "waited_for_hub": len(waited),
        "waited_p50_p99_ms": [ms(pct(waited, 0.5)), ms(pct(waited, 0.99))] if waited else None,
    }


def calls_per_second(hub: Hub, tokens: list[str], admin_token: str, plan: Plan) -> dict[str, Any]:
    """Hub calls per second while the first ``n`` users list (the same paced request rate), for each
    level ``n``."""
    url = hub.url.rstrip("/")
    levels: dict[str, Any] = {}
    for n in plan.levels:
        # A warm-up outside the count (the level's users' first requests), then the measured time.
        run_load(url, tokens[:n], concurrency=plan.clients, count=n)
        before = hub_calls(hub, admin_token)
        started = time.perf_counter()
        out = run_load(
            url, tokens[:n], concurrency=plan.clients, duration=plan.duration, interval=plan.clients / plan.rate
        )
        after = hub_calls(hub, admin_token)
        elapsed = time.perf_counter() - started
        delta = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in after}
        delta = {k: v for k, v in delta.items() if v}
        total = sum(delta.values()) - 1  # less the second scrape's own token check
        levels[str(n)] = {
            "hub_calls_per_s": round(total / elapsed, 2),
            "by_route": {k: int(v) for k, v in sorted(delta.items())},
            "list": summarise(out),
        }
        print(f"  {n} users listing:", json.dumps(levels[str(n)]), flush=True)
    return levels


# -- websockets ---------------------------------------------------------------------------------------


def app_proxy_process(hub: Hub, owner: str, server: str) -> psutil.Process | None:
    assert hub.process is not None
    for child in psutil.Process(hub.process.pid).children(recursive=True):
        with contextlib.suppress(psutil.Error):
            env = child.environ()
            ours = env.get("JUPYTERHUB_USER") == owner and env.get("JUPYTERHUB_SERVER_NAME") == server
            if ours and any("hubapps-proxy" in part or "hubapps.proxy" in part for part in child.cmdline()):
                return child
    return None


async def websockets(hub: Hub, owner: str, token: str, count: int) -> dict[str, Any]:
    url = hub.url.replace("http://", "ws://").rstrip("/") + f"/user/{quote(owner)}/echo/ws"
    headers = {"Authorization": f"token {token}"}  # no Origin: a script, not a browser
    proxy = app_proxy_process(hub, owner, "echo")
    rss_before = proxy.memory_info().rss if proxy else 0
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        t0 = time.perf_counter()

        async def open_one() -> tuple[aiohttp.ClientWebSocketResponse | None, float]:
            began = time.perf_counter()
            try:
                ws = await session.ws_connect(url, headers=headers, timeout=aiohttp.ClientWSTimeout(ws_close=10))
            except (aiohttp.ClientError, OSError):
                return None, time.perf_counter() - began
            return ws, time.perf_counter() - began

        opened = await asyncio.gather(*(open_one() for _ in range(count)))
        all_open = time.perf_counter() - t0
        sockets = [ws for ws, _ in opened if ws is not None]

        async def echo(ws: aiohttp.ClientWebSocketResponse) -> float | None:
            began = time.perf_counter()
            await ws.send_str("x" * 32)
            answer = await ws.receive(timeout=30)
            return time.perf_counter() - began if answer.type == aiohttp.WSMsgType.TEXT else None

        echoes = await asyncio.gather(*(echo(ws) for ws in sockets), return_exceptions=True)
        rtts = [e for e in echoes if isinstance(e, float)]
        # The round trip on one websocket while all the others stay open.
        one = sockets[0] if sockets else None
        sequential = []
        if one is not None:
            for _ in range(200):
                began = time.perf_counter()
                await one.send_str("x" * 32)
                await one.receive(timeout=30)
                sequential.append(time.perf_counter() - began)
        rss_open = proxy.memory_info().rss if proxy else 0
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    return {
        "asked": count,
        "opened": len(sockets),
        "echoed": len(rtts),
        "open_all_s": round(all_open, 2),
        "open_p50_p99_ms": [ms(pct([t for _, t in opened], 0.5)), ms(pct([t for _, t in opened], 0.99))],
        "echo_all_at_once_p50_p99_ms": [ms(pct(rtts, 0.5)), ms(pct(rtts, 0.99))] if rtts else None,
        "rtt_one_of_open_p50_ms": round(statistics.median(sequential) * 1000, 2) if sequential else None,
        "proxy_rss_mb": [round(rss_before / 2**20, 1), round(rss_open / 2**20, 1)],
    }


# -- the run ------------------------------------------------------------------------------------------


#: The integration tests' Hub configuration, with the launcher's settings the run asks for (install()
#: again, so that the service gets them).
OVERLAY = """\
c = get_config()  # noqa: F821
load_subconfig({main!r})  # noqa: F821
import hubapps

# The Hub's own log at WARNING: thousands of API calls at INFO cost it CPU the benchmark would count.
c.JupyterHub.log_level = "WARN"
%s
hubapps.install(c)
"""


@contextlib.contextmanager
def running_hub(root: Path, settings: dict[str, Any]) -> Iterator[Hub]:
    lines = "\n".join(f"c.HubApps.{name} = {value!r}" for name, value in settings.items())
    with own_hub(root, OVERLAY % lines.replace("{", "{{").replace("}", "}}")) as hub:
        yield hub


def run(plan: Plan, root: Path, settings: dict[str, Any]) -> dict[str, Any]:
    results: dict[str, Any] = {
        "plan": plan.__dict__,
        "settings": settings,
        "cpus": psutil.cpu_count(),
        "load_before": os.getloadavg(),
    }
    with running_hub(root, settings) as hub:
        url = hub.url.rstrip("/")
        t0 = time.perf_counter()
        tokens = populate(hub, plan)
        results["populate_s"] = round(time.perf_counter() - t0, 1)
        print(f"{plan.users} users x {plan.apps} apps in {results['populate_s']} s", flush=True)
        admin_token = hub.token_for("admin")
        token_list = list(tokens.values())
        owners = list(tokens)[: plan.running]
        with RssSampler(service_processes(hub)) as rss:
            create_running_apps(hub, tokens, owners)
            results["start"] = asyncio.run(start_at_once(hub, tokens, owners))
            print("start:", json.dumps(results["start"]), flush=True)
            for owner in results["start"]["failed"]:
                said = [line for line in hub.log_tail(100_000).splitlines() if owner in line]
                print(f"the Hub's log about {owner}:", *said[-15:], sep="\n  ", flush=True)
            results["rss_mb_after_start"] = round(rss.last / 2**20, 1)
            growth = results["service_rss_mb_by_phase"] = {"start": rss.mb()}
            # Every listing user's first listing: nothing cached yet, so each waits for the Hub.
            results["cold"] = summarise(run_load(url, token_list, concurrency=plan.clients, count=len(token_list)))
            print("cold:", json.dumps(results["cold"]), flush=True)
            growth["cold"] = rss.mb()
            phases: dict[str, dict[str, Any]] = {
                "list": {},
                "gallery": {"path": GALLERY_PATH},
                "list_saturated": {"rate": None},
            }
            if plan.gallery_saturated:
                phases["gallery_saturated"] = {"path": GALLERY_PATH, "rate": None}
            if plan.listing > plan.clients:
                phases["list_one_connection_per_user"] = {"clients": plan.listing}
            for name, change in phases.items():
                results[name] = listing(hub, token_list, plan, **change)
                print(f"{name}:", json.dumps(results[name]), flush=True)
                growth[name] = rss.mb()
            results["hub_calls"] = calls_per_second(hub, token_list, admin_token, plan)
            growth["hub_calls"] = rss.mb()
            target = results["start"]["ready_owners"][0]
            results["websockets"] = asyncio.run(websockets(hub, target, tokens[target], plan.websockets))
            print("websockets:", json.dumps(results["websockets"]), flush=True)
            growth["websockets"] = rss.mb()
            print("service RSS MB after each phase (all, file-backed/shared):", json.dumps(growth), flush=True)
            results["service_rss_mb"] = {"peak": round(rss.peak / 2**20, 1), "end": round(rss.last / 2**20, 1)}
    results["load_after"] = os.getloadavg()
    return results


def report(results: dict[str, Any]) -> str:
    plan = results["plan"]
    lines = [
        f"settings: {results['settings'] or 'defaults'}; "
        f"{plan['users']} users x {plan['apps']} apps, {plan['listing']} listing, {plan['running']} running, "
        f"{plan['clients']} clients; load average before {results['load_before'][0]:.1f}, "
        f"after {results['load_after'][0]:.1f} on {results['cpus']} CPUs",
        "",
        "| measure | value | target | ratio |",
        "|---|---|---|---|",
    ]

    def row(label: str, value: str, target: str = "", ratio: float | None = None) -> None:
        lines.append(f"| {label} | {value} | {target} | {'' if ratio is None else f'{ratio:.2f}x'} |")

    paced = f"{plan['clients']} clients, {plan['rate']:g} req/s in all"
    for key, label, target in (
        ("list", f"list p50 / p99 ms ({paced})", True),
        ("gallery", f"home page gallery p50 / p99 ms ({paced})", True),
        ("list_saturated", f"list p50 / p99 ms ({plan['clients']} clients back to back)", False),
        ("gallery_saturated", f"gallery p50 / p99 ms ({plan['clients']} clients back to back)", False),
        (
            "list_one_connection_per_user",
            f"list p50 / p99 ms ({plan['listing']} connections, {plan['rate']:g} req/s)",
            False,
        ),
    ):
        if key not in results:
            continue
        r = results[key]
        row(
            label,
            f"{r['p50_ms']} / {r['p99_ms']} ({r['req_s']} req/s)",
            f"p99 ≤ {LIST_P99_TARGET_MS:g} ms" if target else "",
            r["p99_ms"] / LIST_P99_TARGET_MS if target else None,
        )
        waited = r["waited_p50_p99_ms"]
        cpu = r["cpu_ms_per_request"]
        row(
            "... waited for the Hub (p50 / p99 ms); CPU ms per request: service, Hub, its proxy; machine busy",
            f"{r['waited_for_hub']} of {r['requests']}"
            + (f" ({waited[0]} / {waited[1]})" if waited else "")
            + "; "
            + ", ".join(f"{cpu.get(k, 0):.2f}" for k in ("service", "hub", "proxy"))
            + f"; {r['machine_busy'] * 100:.0f}%",
        )
    c = results["cold"]
    row("cold: each user's first list p50 / p99 ms (all wait for the Hub)", f"{c['p50_ms']} / {c['p99_ms']}")
    levels = results["hub_calls"]
    rates = [levels[str(n)]["hub_calls_per_s"] for n in plan["levels"]]
    row(
        "Hub calls/s at " + " / ".join(str(n) for n in plan["levels"]) + " users listing",
        " / ".join(f"{r:g}" for r in rates),
        "flat",
        rates[-1] / rates[0] if rates[0] else None,
    )
    rss = results["service_rss_mb"]
    row(
        "service RSS MB (peak, end)",
        f"{rss['peak']}, {rss['end']}",
        f"≤ {RSS_TARGET_MB:g} MB",
        rss["peak"] / RSS_TARGET_MB,
    )
    s = results["start"]
    row(
        f"start {s['apps']} apps at once: all answering (p50) s",
        f"{s['all_ready_s']} ({s['ready_p50_s']}); start answered ≤ {s['start_answered_max_s']} s"
        + (f"; {len(s['failed'])} failed: {s['failed']}" if s["failed"] else ""),
    )
    w = results["websockets"]
    row(
        f"{w['asked']} websockets through one proxy: opened, echoed",
        f"{w['opened']}, {w['echoed']} in {w['open_all_s']} s",
    )
    row(
        "... open p50 / p99 ms; echo all at once p50 / p99 ms",
        f"{w['open_p50_p99_ms']}; {w['echo_all_at_once_p50_p99_ms']}",
    )
    row(
        "... round trip on one, all open (p50 ms); proxy RSS MB before, open",
        f"{w['rtt_one_of_open_p50_ms']}; {w['proxy_rss_mb']}",
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="50 users, 2 apps running, 4 s phases (under a minute)")
    parser.add_argument("--json", type=Path, help="also write the raw numbers here")
    parser.add_argument("--users", type=int, help="users on the Hub (default: 1000; --quick: 20)")
    parser.add_argument(
        "--stale-ttl",
        type=float,
        help="c.HubApps.cache_stale_ttl for the run (0: reads past their TTL wait for the Hub, as before "
        "background refresh); default: the setting's default",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a c.HubApps setting for the run, VALUE a Python literal (e.g. "
        "service_environment={'MALLOC_ARENA_MAX': '2'}); may be given more than once",
    )
    args = parser.parse_args(argv)
    if not HUB_6:
        parser.error("the benchmark creates stored apps with JupyterHub 6's PUT")
    plan = QUICK if args.quick else FULL
    if args.users:
        plan = replace(plan, users=args.users, listing=min(plan.listing, args.users))
    with tempfile.TemporaryDirectory(prefix="hubapps-scale-") as tmp:
        settings: dict[str, Any] = {} if args.stale_ttl is None else {"cache_stale_ttl": args.stale_ttl}
        for item in args.set:
            name, _, value = item.partition("=")
            try:
                settings[name.strip()] = ast.literal_eval(value)
            except (ValueError, SyntaxError):
                parser.error(f"--set {item!r}: give NAME=VALUE with VALUE a Python literal")
        results = run(plan, Path(tmp), settings)
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
