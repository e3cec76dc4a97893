"""Launcher service benchmark: list-my-apps latency and throughput on a Hub with 200 users x 5 apps.

    PATH=.venv/bin:$PATH .venv/bin/python benchmarks/service_bench.py            # about 4 minutes
    PATH=.venv/bin:$PATH .venv/bin/python benchmarks/service_bench.py --quick    # shorter phases
    ... service_bench.py --variants after,after-fast --json out.json

Starts a real JupyterHub (the integration tests' configuration and helpers) and creates the apps
stopped through the Hub API (JupyterHub 6 ``PUT``). Then, for each *variant* of the service, it starts
that service (uvicorn, on its own port, acting on the same Hub) behind a configurable-http-proxy of its
own, and measures ``GET /services/japps/api/apps`` through that proxy, like a browser or script would,
with each user's token, users taken in turn:

- ``seq``: sequential requests on one keep-alive connection (p50/p99);
- ``c20``: 20 keep-alive connections for a fixed time after a warm-up (req/s, p50/p99), with the CPU
  time each process used per request (service, Hub, configurable-http-proxy, the load generator) and
  the machine's CPU use, so a saturated machine shows as such. ``--rounds`` rounds (default 3), the
  variants interleaved; the median round is reported, with the range of req/s;
- Hub calls per request (``X-Hubapps-Hub-Calls``): cold (first request of each user) and warm.

Variants, measured back to back in one run:

- ``before``: the service as committed at ``--baseline`` (default: before the speed-ups), run the way ``install()``
  runs it on a default install (h11, asyncio loop, access log on), with ``sniffio`` hidden, as it was
  before it became a dependency (httpcore imports it on every call);
- ``after``: the working tree, run the same way;
- ``after-no-sniffio``: ``after`` with ``sniffio`` hidden (what the dependency is worth);
- ``after-fast``: the working tree with ``--loop uvloop --http httptools --no-access-log`` (the
  ``hubapps[fast]`` extra);
- ``after-2w``: ``after-fast`` with ``--workers 2``.

The load generator is a separate process: a minimal asyncio HTTP/1.1 client (keep-alive, TCP_NODELAY),
far cheaper per request than httpx. For comparison with the first version of this benchmark, each
variant is also loaded for 8 s by ``httpx.AsyncClient`` (20 pooled connections), as that version did.
Last, the time to answer ``POST .../stop`` of a running app is
measured through the Hub's own service. ``--json`` also writes the raw numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.integration.conftest import CHP, Hub, free_ports  # noqa: E402

USERS = 200
APPS_PER_USER = 5
CONCURRENCY = 20
#: The service as committed before its performance work (the "before" variant).
BASELINE = "c5f7acd"
PATH = "/services/japps/api/apps"
RESOURCES = REPO / "tests" / "resources"
START_TIMEOUT = 60.0

#: uvicorn options of each variant; "source" is "baseline" (the committed service) or "tree".
VARIANTS: dict[str, dict[str, Any]] = {
    "before": {"source": "baseline", "uvicorn": ["--loop", "asyncio", "--http", "h11"], "hide_sniffio": True},
    "after": {"source": "tree", "uvicorn": ["--loop", "asyncio", "--http", "h11"]},
    "after-no-sniffio": {"source": "tree", "uvicorn": ["--loop", "asyncio", "--http", "h11"], "hide_sniffio": True},
    "after-fast": {"source": "tree", "uvicorn": ["--loop", "uvloop", "--http", "httptools", "--no-access-log"]},
    "after-2w": {
        "source": "tree",
        "uvicorn": ["--loop", "uvloop", "--http", "httptools", "--no-access-log", "--workers", "2"],
    },
}


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


# -- the Hub's users and apps ---------------------------------------------------------------------------


def populate(hub: Hub, users: int) -> dict[str, str]:
    def one(i: int) -> tuple[str, str]:
        name = f"bench-{i:03d}"
        token = hub.token_for(name)
        for j in range(APPS_PER_USER):
            options = {
                "spec_version": 1,
                "jhub_app": True,
                "framework": "streamlit",
                "display_name": f"App {j}",
                "filepath": "examples/streamlit_app.py",
                "description": f"benchmark app {j} of {name}",
            }
            r = hub.api(
                "PUT", f"users/{name}/servers/app-{j}", json={"user_options": options, "display_name": f"App {j}"}
            )
            assert r.status_code in (201, 409), r.text
        return name, token

    with ThreadPoolExecutor(8) as pool:
        return dict(pool.map(one, range(users)))


# -- the service under test, behind a configurable-http-proxy of its own --------------------------------


@dataclass
class Stack:
    name: str
    url: str  # public URL (the proxy)
    service: subprocess.Popen[bytes]
    proxy: subprocess.Popen[bytes]
    logs: list[Any] = field(default_factory=list)

    def processes(self) -> dict[str, list[psutil.Process]]:
        svc = psutil.Process(self.service.pid)
        return {"service": [svc, *svc.children(recursive=True)], "proxy": [psutil.Process(self.proxy.pid)]}

    def stop(self) -> None:
        for proc in (self.proxy, self.service):
            if proc.poll() is None:
                proc.terminate()
        for proc in (self.proxy, self.service):
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log in self.logs:
            log.close()


def baseline_tree(rev: str, root: Path) -> Path:
    """The ``hubapps`` package as committed at ``rev``, unpacked under ``root``."""
    folder = root / "baseline"
    folder.mkdir()
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev, "hubapps"], check=True, capture_output=True)
    tar_path = root / "baseline.tar"
    tar_path.write_bytes(archive.stdout)
    with tarfile.open(tar_path) as tar:
        tar.extractall(folder, filter="data")
    return folder


def hide_sniffio(root: Path) -> Path:
    """A folder whose ``sniffio`` stand-in makes ``import sniffio`` fail on every call, as when it is absent."""
    hide = root / "hide-sniffio"
    if not hide.exists():
        hide.mkdir()
        (hide / "sniffio.py").write_text("raise ModuleNotFoundError('hidden by the benchmark')\n")
    return hide


def start_stack(name: str, hub: Hub, root: Path, baseline: Path | None) -> Stack:
    variant = VARIANTS[name]
    service_port, proxy_port, proxy_api_port = free_ports(3)
    folder = root / name
    folder.mkdir()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(folder),
        "JUPYTERHUB_SERVICE_NAME": "japps",
        "JUPYTERHUB_SERVICE_PREFIX": "/services/japps/",
        "JUPYTERHUB_API_URL": f"http://127.0.0.1:{hub.hub_port}/hub/api",
        "JUPYTERHUB_BASE_URL": "/",
        # Only used to derive the cookie secret: every request here carries the user's own token.
        "HUBAPPS_COOKIE_SECRET": secrets.token_hex(32),
        "HUBAPPS_SETTINGS": json.dumps({"database_url": f"sqlite:///{folder / 'service.sqlite'}"}),
    }
    python_path = []
    if variant["source"] == "baseline":
        assert baseline is not None
        python_path.append(str(baseline))
    if variant.get("hide_sniffio"):
        python_path.append(str(hide_sniffio(root)))
    if python_path:
        env["PYTHONPATH"] = os.pathsep.join(python_path)
    service_log = (folder / "service.log").open("wb")
    proxy_log = (folder / "proxy.log").open("wb")
    service = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "hubapps.service.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(service_port),
            "--no-server-header",
            *variant["uvicorn"],
        ],
        cwd=folder,
        env=env,
        stdout=service_log,
        stderr=subprocess.STDOUT,
    )
    proxy = subprocess.Popen(
        [
            str(CHP),
            "--ip",
            "127.0.0.1",
            "--port",
            str(proxy_port),
            "--api-ip",
            "127.0.0.1",
            "--api-port",
            str(proxy_api_port),
            "--default-target",
            f"http://127.0.0.1:{service_port}",
            "--log-level",
            "warn",
        ],
        env={**os.environ, "CONFIGPROXY_AUTH_TOKEN": secrets.token_hex(16)},
        stdout=proxy_log,
        stderr=subprocess.STDOUT,
    )
    stack = Stack(name, f"http://127.0.0.1:{proxy_port}", service, proxy, [service_log, proxy_log])
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            if httpx.get(stack.url + "/services/japps/health", timeout=2).status_code == 200:
                return stack
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or service.poll() is not None:
            stack.stop()
            raise RuntimeError(f"{name}: the service did not start; see {folder / 'service.log'}")
        time.sleep(0.2)


# -- the load generator (a separate process) -------------------------------------------------------------


async def _load(args: dict[str, Any]) -> dict[str, Any]:
    host, port, tokens = args["host"], args["port"], args["tokens"]
    path = args.get("path", PATH)
    # Paced: each connection sends one request every `interval` seconds (latency counted from when the
    # request was due, so a slow answer that delays the next request is not hidden); else back to back.
    interval = args.get("interval")
    turn = itertools.count(args.get("first", 0))
    started = time.perf_counter()
    measure_from = started + args["warmup"]
    stop_at = measure_from + args["duration"] if args.get("duration") else float("inf")
    budget = args.get("count")
    latencies: list[float] = []
    calls: list[int] = []
    errors = 0

    async def connection() -> None:
        nonlocal errors, budget
        reader, writer = await asyncio.open_connection(host, port)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        due = time.perf_counter() + (random.random() * interval if interval else 0.0)
        try:
            while time.perf_counter() < stop_at and (budget is None or budget > 0):
                if budget is not None:
                    budget -= 1
                token = tokens[next(turn) % len(tokens)]
                request = (
                    f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: token {token}\r\n\r\n"
                ).encode()
                if interval:
                    await asyncio.sleep(max(0.0, due - time.perf_counter()))
                    t0, due = due, due + interval
                else:
                    t0 = time.perf_counter()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                status = int(lines[0].split(" ", 2)[1])
                headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
                await reader.readexactly(int(headers.get("content-length", "0")))
                t1 = time.perf_counter()
                if t0 >= measure_from:
                    latencies.append(t1 - t0)
                    calls.append(int(headers.get("x-hubapps-hub-calls", "0")))
                    errors += status != 200
        finally:
            writer.close()

    async def httpx_worker(client: httpx.AsyncClient) -> None:
        # The first benchmark's client: httpx.AsyncClient, one pool of `concurrency` connections.
        nonlocal errors, budget
        url = f"http://{host}:{port}{path}"
        while time.perf_counter() < stop_at and (budget is None or budget > 0):
            if budget is not None:
                budget -= 1
            token = tokens[next(turn) % len(tokens)]
            t0 = time.perf_counter()
            r = await client.get(url, headers={"Authorization": f"token {token}"})
            t1 = time.perf_counter()
            if t0 >= measure_from:
                latencies.append(t1 - t0)
                calls.append(int(r.headers.get("x-hubapps-hub-calls", "0")))
                errors += r.status_code != 200

    cpu_from: list[float] = []
    loop = asyncio.get_running_loop()
    loop.call_later(args["warmup"], lambda: cpu_from.append(time.process_time()))
    if args.get("client") == "httpx":
        limits = httpx.Limits(max_connections=args["concurrency"])
        async with httpx.AsyncClient(timeout=60, limits=limits) as client:
            await asyncio.gather(*(httpx_worker(client) for _ in range(args["concurrency"])))
    else:
        await asyncio.gather(*(connection() for _ in range(args["concurrency"])))
    elapsed = time.perf_counter() - measure_from
    cpu = time.process_time() - (cpu_from[0] if cpu_from else 0.0)
    return {"latencies": latencies, "calls": calls, "errors": errors, "elapsed": elapsed, "cpu": cpu}


def run_load(
    url: str,
    tokens: list[str],
    *,
    concurrency: int,
    warmup: float = 0.0,
    duration: float | None = None,
    count: int | None = None,
    first: int = 0,
    client: str = "raw",
    watch: dict[str, list[psutil.Process]] | None = None,
    path: str = PATH,
    interval: float | None = None,
) -> dict[str, Any]:
    """Run the load generator in a child process (``GET path`` with each token in turn); returns its
    numbers plus CPU seconds per watched process."""
    host, _, port = url.removeprefix("http://").partition(":")
    spec = {
        "host": host,
        "port": int(port),
        "tokens": tokens,
        "concurrency": concurrency,
        "warmup": warmup,
        "duration": duration,
        "count": count,
        "first": first,
        "client": client,
        "path": path,
        "interval": interval,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(spec, f)
    try:
        child = subprocess.Popen([sys.executable, __file__, "--load", f.name], stdout=subprocess.PIPE)
        # CPU is counted over the measured part only (after the warm-up).
        time.sleep(warmup)
        before = _cpu(watch or {})
        machine_before = psutil.cpu_times()
        wall_before = time.perf_counter()
        out, _ = child.communicate()
        wall = time.perf_counter() - wall_before
        after = _cpu(watch or {})
        machine_after = psutil.cpu_times()
    finally:
        os.unlink(f.name)
    result: dict[str, Any] = json.loads(out)
    busy = sum(
        getattr(machine_after, k) - getattr(machine_before, k) for k in ("user", "system", "nice", "irq", "softirq")
    )
    result["cpu_s"] = {k: after[k] - before[k] for k in after}
    result["cpu_s"]["loadgen"] = result["cpu"]
    result["machine_busy"] = busy / (wall * psutil.cpu_count())
    return result


def _cpu(groups: dict[str, list[psutil.Process]]) -> dict[str, float]:
    totals: dict[str, float] = {}
    for name, procs in groups.items():
        total = 0.0
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                t = proc.cpu_times()
                total += t.user + t.system
        totals[name] = total
    return totals


def measure_variant(stack: Stack, tokens: list[str], quick: bool) -> dict[str, Any]:
    """Cold and sequential phases, and the httpx-client comparison (once per variant)."""
    cold = run_load(stack.url, tokens, concurrency=1, count=len(tokens))
    seq = run_load(stack.url, tokens, concurrency=1, count=300 if quick else 1000)
    slow = run_load(stack.url, tokens, concurrency=CONCURRENCY, warmup=2.0, duration=8.0, client="httpx")
    return {
        "cold_hub_calls_max": max(cold["calls"]),
        "cold_hub_calls_mean": round(statistics.mean(cold["calls"]), 2),
        "seq_p50_ms": round(statistics.median(seq["latencies"]) * 1000, 1),
        "seq_p99_ms": round(pct(seq["latencies"], 0.99) * 1000, 1),
        "seq_hub_calls_mean": round(statistics.mean(seq["calls"]), 2),
        "seq_hub_calls_max": max(seq["calls"]),
        "errors": cold["errors"] + seq["errors"] + slow["errors"],
        "c20_httpx_client_req_s": round(len(slow["latencies"]) / slow["elapsed"], 1),
        "c20_httpx_client_cpu_ms_per_request": round(slow["cpu_s"]["loadgen"] * 1000 / len(slow["latencies"]), 2),
        "rounds": [],
    }


def measure_round(stack: Stack, hub: Hub, tokens: list[str], quick: bool) -> dict[str, Any]:
    """One c20 phase: warm-up, then a fixed time at 20 clients, with each process's CPU time."""
    watch = {**stack.processes(), "hub": [psutil.Process(hub.process.pid)]}  # type: ignore[union-attr]
    conc = run_load(
        stack.url,
        tokens,
        concurrency=CONCURRENCY,
        warmup=3.0 if quick else 5.0,
        duration=6.0 if quick else 12.0,
        watch=watch,
    )
    n = len(conc["latencies"])
    cached = [t for t, c in zip(conc["latencies"], conc["calls"], strict=True) if c == 0]
    hub_calls = [t for t, c in zip(conc["latencies"], conc["calls"], strict=True) if c > 0]
    return {
        "requests": n,
        "errors": conc["errors"],
        "req_s": round(n / conc["elapsed"], 1),
        "p50_ms": round(statistics.median(conc["latencies"]) * 1000, 1),
        "p99_ms": round(pct(conc["latencies"], 0.99) * 1000, 1),
        "p50_p99_ms_no_hub_call": [round(pct(cached, q) * 1000, 1) for q in (0.5, 0.99)],
        "p50_p99_ms_with_hub_call": [round(pct(hub_calls, q) * 1000, 1) for q in (0.5, 0.99)],
        "hub_calls_mean": round(statistics.mean(conc["calls"]), 3),
        "hub_calls_max": max(conc["calls"]),
        "cpu_ms_per_request": {k: round(v * 1000 / n, 2) for k, v in conc["cpu_s"].items()},
        "machine_busy": round(conc["machine_busy"], 2),
    }


def summarise(result: dict[str, Any]) -> None:
    """The median round (by req/s) as the variant's c20 numbers, and the range of req/s over rounds."""
    rounds = sorted(result["rounds"], key=lambda r: r["req_s"])
    median = rounds[len(rounds) // 2]
    result.update({f"c20_{k}": v for k, v in median.items()})
    result["c20_req_s_range"] = [rounds[0]["req_s"], rounds[-1]["req_s"]]
    result["c20_errors"] = result["errors"] + sum(r["errors"] for r in rounds)


# -- stop time ------------------------------------------------------------------------------------------


def stop_times(svc: str, token: str, owner: str) -> list[float]:
    spec = {
        "framework": "command",
        "display_name": "Echo",
        "start": True,
        "command": ["{python}", str(RESOURCES / "echo_app.py"), "{port}"],
    }
    headers = {"Authorization": f"token {token}"}
    times = []
    with httpx.Client(timeout=60, headers=headers) as client:
        for i in range(3):
            r = client.post(svc + "api/apps", json={**spec, "display_name": f"Echo {i}"})
            assert r.status_code == 201, r.text
            path = f"api/apps/{owner}/{r.json()['name']}"
            deadline = time.monotonic() + 120
            while client.get(svc + path).json()["state"] != "running":
                assert time.monotonic() < deadline, "app did not start"
                time.sleep(0.3)
            started = time.perf_counter()
            r = client.post(svc + path + "/stop")
            times.append(time.perf_counter() - started)
            assert r.status_code in (200, 202), r.text
            client.delete(svc + path)
    return times


# -- report ---------------------------------------------------------------------------------------------


def report(results: dict[str, Any]) -> str:
    variants = results["variants"]
    names = list(variants)
    rows = [
        ("sequential p50 / p99 ms", lambda v: f"{v['seq_p50_ms']} / {v['seq_p99_ms']}"),
        (
            "20 clients req/s: median round (lowest-highest)",
            lambda v: "{} ({}-{})".format(v["c20_req_s"], *v["c20_req_s_range"]),
        ),
        ("20 clients p50 / p99 ms", lambda v: f"{v['c20_p50_ms']} / {v['c20_p99_ms']}"),
        (
            "20 clients p50 / p99 ms: no Hub call; with one",
            lambda v: "{} / {}; {} / {}".format(*v["c20_p50_p99_ms_no_hub_call"], *v["c20_p50_p99_ms_with_hub_call"]),
        ),
        (
            "Hub calls per list: cold max, seq mean, c20 mean (max)",
            lambda v: (
                f"{v['cold_hub_calls_max']}, {v['seq_hub_calls_mean']}, "
                f"{v['c20_hub_calls_mean']} ({v['c20_hub_calls_max']})"
            ),
        ),
        (
            "CPU ms/request: service, Hub, CHP, load gen",
            lambda v: ", ".join(
                f"{v['c20_cpu_ms_per_request'].get(k, 0):.2f}" for k in ("service", "hub", "proxy", "loadgen")
            ),
        ),
        ("machine CPU busy (2 cores = 100%)", lambda v: f"{v['c20_machine_busy'] * 100:.0f}%"),
        (
            "20 clients req/s with httpx.AsyncClient as load generator (its CPU ms/request)",
            lambda v: f"{v['c20_httpx_client_req_s']} ({v['c20_httpx_client_cpu_ms_per_request']:.2f})",
        ),
        ("errors", lambda v: str(v["c20_errors"])),
    ]
    lines = ["| | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for label, fmt in rows:
        lines.append(f"| {label} | " + " | ".join(fmt(variants[n]) for n in names) + " |")
    if "stop_answer_s" in results:
        lines.append(f"\nstop answered in (3 running apps): {results['stop_answer_s']} s")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="shorter phases (8 s at 20 clients)")
    parser.add_argument("--variants", default="before,after,after-fast,after-2w")
    parser.add_argument(
        "--baseline", default=BASELINE, help="git revision of the 'before' service (default: before the speed-ups)"
    )
    parser.add_argument("--users", type=int, default=USERS)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds at 20 clients (median shown)")
    parser.add_argument("--no-stop", action="store_true", help="skip the stop-time measurement")
    parser.add_argument("--json", type=Path, help="also write the raw numbers here")
    parser.add_argument("--load", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.load:
        spec = json.loads(Path(args.load).read_text())
        print(json.dumps(asyncio.run(_load(spec))))
        return 0

    names = [n.strip() for n in args.variants.split(",") if n.strip()]
    unknown = set(names) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variants: {sorted(unknown)}")
    results: dict[str, Any] = {"users": args.users, "apps_per_user": APPS_PER_USER, "cpus": psutil.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        baseline = (
            baseline_tree(args.baseline, root) if any(VARIANTS[n]["source"] == "baseline" for n in names) else None
        )
        hub = Hub(root / "hub")
        (root / "hub").mkdir()
        hub.start()
        try:
            t0 = time.perf_counter()
            tokens = populate(hub, args.users)
            print(f"created {args.users} users x {APPS_PER_USER} apps in {time.perf_counter() - t0:.1f} s", flush=True)
            results["variants"] = {}
            token_list = list(tokens.values())
            stacks = {name: start_stack(name, hub, root, baseline) for name in names}
            try:
                for name, stack in stacks.items():
                    results["variants"][name] = measure_variant(stack, token_list, args.quick)
                    print(name, json.dumps(results["variants"][name]), flush=True)
                # Rounds at 20 clients, the variants interleaved, so a noisy moment on the machine
                # (other work on the same two cores) does not land on one variant only.
                for i in range(args.rounds):
                    for name, stack in stacks.items():
                        round_ = measure_round(stack, hub, token_list, args.quick)
                        results["variants"][name]["rounds"].append(round_)
                        print(f"round {i + 1} {name}", json.dumps(round_), flush=True)
            finally:
                for stack in stacks.values():
                    stack.stop()
            for result in results["variants"].values():
                summarise(result)
            if not args.no_stop:
                first = next(iter(tokens))
                results["stop_answer_s"] = round(max(stop_times(hub.url + "services/japps/", tokens[first], first)), 3)
        finally:
            with contextlib.suppress(Exception):
                hub.stop()
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
