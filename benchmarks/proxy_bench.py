"""Benchmark hubapps-proxy against the app directly and against its peers, in one run, on one machine.

    .venv/bin/python benchmarks/proxy_bench.py            # everything (about 2-3 minutes)
    .venv/bin/python benchmarks/proxy_bench.py --quick    # fewer requests, no launch timings

Targets (all on 127.0.0.1, upstream = ``benchmarks/bench_upstream.py``, a plain aiohttp "ok" app):

- ``direct``: the upstream app itself;
- ``hubapps`` (``--public``), ``hubapps+socket`` (the same with the app on a unix socket, ``--app-socket``,
  as the frameworks that can run) and ``hubapps+token`` (Hub token auth, cached; a fake Hub answers the lookup);
- ``jhsingle``: jhsingle-native-proxy 0.8.3 ``--authtype none``;
- ``jsp``: jupyter-server-proxy's ``jupyter-standaloneproxy --no-authentication``.

The peers are installed into virtualenvs of their own under ``--cache`` (default
``~/.cache/hubapps-bench``): jhsingle-native-proxy pins ``simpervisor<1``, which conflicts with
jupyter-server-proxy >= 4.5. Measured per target: latency of a small GET at concurrency 1 (p50, p99),
throughput at concurrency 1 and 10 (fixed duration), websocket echo round trip (median), the proxy
process's RSS after the load. Then the launch overhead: proxy start → the app's first 200 minus the bare
framework's start → first 200, for Streamlit and Panel (median of a few runs). Results are printed as a
table and as ratios against the targets of issue 3; ``--json`` writes them to a file as well.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import psutil
from aiohttp import web

HERE = Path(__file__).resolve().parent
UPSTREAM = HERE / "bench_upstream.py"
PREFIX = "/user/bench/app/"
PYTHON = sys.executable
PEERS = {
    "jhsingle": ["jhsingle-native-proxy==0.8.3"],
    "jsp": ["jupyter-server-proxy==4.6.0", "jupyterhub"],
}
TOKEN = "bench-token"
#: Seconds to wait for a target to answer after it was started.
START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- peers' virtualenvs -------------------------------------------------------------------------------


def ensure_venv(cache: Path, name: str, packages: Sequence[str]) -> Path:
    """A virtualenv with ``packages`` under ``cache/name`` (made once; a marker records what is in it)."""
    folder = cache / name
    marker = folder / "hubapps-bench.json"
    if marker.exists() and json.loads(marker.read_text()) == list(packages):
        return folder
    if folder.exists():
        shutil.rmtree(folder)
    print(f"creating {folder} with {' '.join(packages)} ...", flush=True)
    venv.EnvBuilder(with_pip=True).create(folder)
    subprocess.run(
        [str(folder / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *packages],
        check=True,
        timeout=600,
    )
    marker.write_text(json.dumps(list(packages)))
    return folder


# -- targets --------------------------------------------------------------------------------------


@dataclass
class Target:
    name: str
    url: str  # base URL, ends with "/"
    process: subprocess.Popen[bytes]
    headers: dict[str, str] = field(default_factory=dict)

    def rss(self) -> int:
        return int(psutil.Process(self.process.pid).memory_info().rss)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


async def wait_answer(
    url: str, headers: dict[str, str], accept: Callable[[int, bytes], bool], timeout: float, unix: str = ""
) -> float:
    """Poll ``url`` (over the unix socket ``unix`` if given) every 20 ms until ``accept(status, body)``;
    return the seconds it took."""
    started = time.perf_counter()
    connector = aiohttp.UnixConnector(path=unix) if unix else None
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5), connector=connector) as session:
        while time.perf_counter() - started < timeout:
            try:
                async with session.get(url, headers=headers, allow_redirects=False) as response:
                    body = await response.read()
                    if accept(response.status, body):
                        return time.perf_counter() - started
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.02)
    raise RuntimeError(f"{url} did not answer within {timeout:g} s")


def _is_ok(status: int, body: bytes) -> bool:
    return status == 200 and body == b"ok"


def hub_env(hub_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "JUPYTERHUB_SERVICE_PREFIX": PREFIX,
        "JUPYTERHUB_API_URL": hub_url + "/hub/api",
        "JUPYTERHUB_API_TOKEN": "server-token",
        "JUPYTERHUB_CLIENT_ID": "jupyterhub-user-bench-app",
        "JUPYTERHUB_OAUTH_CALLBACK_URL": PREFIX + "oauth_callback",
        "JUPYTERHUB_OAUTH_ACCESS_SCOPES": '["access:servers!server=bench/app"]',
        "JUPYTERHUB_USER": "bench",
        "JUPYTERHUB_SERVER_NAME": "app",
        "JUPYTERHUB_BASE_URL": "/",
    }


async def start_target(name: str, cache: Path, hub_url: str, kind: str = "aiohttp") -> Target:
    port = free_port()
    upstream = [PYTHON, str(UPSTREAM)]
    headers: dict[str, str] = {}
    env = hub_env(hub_url)
    if name == "direct":
        argv = [*upstream, str(port), kind]
        url = f"http://127.0.0.1:{port}{PREFIX}"
    elif name.startswith("hubapps"):
        proxy = str(Path(PYTHON).parent / "hubapps-proxy")
        public = [] if name == "hubapps+token" else ["--public"]
        # hubapps+socket: the app on a unix socket in the proxy's private folder, as most frameworks now run.
        socket_app = name == "hubapps+socket"
        listen = ["--app-socket", "--", *upstream, "{socket}"] if socket_app else ["--", *upstream, "{port}"]
        argv = [proxy, "--ip=127.0.0.1", f"--port={port}", *public, *listen, kind]
        url = f"http://127.0.0.1:{port}{PREFIX}"
        if name == "hubapps+token":
            headers = {"Authorization": f"token {TOKEN}"}
    elif name == "jhsingle":
        folder = ensure_venv(cache, name, PEERS[name])
        argv = [
            str(folder / "bin" / "jhsingle-native-proxy"), "--ip=127.0.0.1", f"--port={port}", "--destport=0",
            "--authtype=none", "--last-activity-interval=0", "--no-logs", "--ready-timeout=30",
            *upstream, "{port}", kind,
        ]  # fmt: skip
        url = f"http://127.0.0.1:{port}{PREFIX}"
    elif name == "jsp":
        folder = ensure_venv(cache, name, PEERS[name])
        argv = [
            str(folder / "bin" / "jupyter-standaloneproxy"), "--no-authentication", "--address=127.0.0.1",
            f"--port={port}", f"--base-url={PREFIX}", "--activity-interval=0", "--timeout=30", "--log-level=WARN",
            "--", *upstream, "{port}", kind,
        ]  # fmt: skip
        url = f"http://127.0.0.1:{port}{PREFIX}"
        env = {k: v for k, v in env.items() if not k.startswith("JUPYTERHUB_")}
    else:
        raise ValueError(name)
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    target = Target(name, url, process, headers)
    try:
        await wait_answer(url, headers, _is_ok, START_TIMEOUT)
    except BaseException:
        target.stop()
        raise
    return target


# -- load -----------------------------------------------------------------------------------------


class RawClient:
    """A minimal keep-alive HTTP/1.1 client: the load generator must cost less than what it measures."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        parts = url.split("/", 3)
        host, _, port = parts[2].partition(":")
        self.host, self.port = host, int(port)
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.request = f"GET /{parts[3]} HTTP/1.1\r\nHost: {parts[2]}\r\n{extra}\r\n".encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self) -> None:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            sock = self.writer.get_extra_info("socket")
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        assert self.reader is not None
        self.writer.write(self.request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(head[:200])
        lower = head.lower()
        index = lower.find(b"content-length:")
        if index >= 0:
            length = int(lower[index + 15 : lower.index(b"\r\n", index)])
            await self.reader.readexactly(length)
        else:  # chunked (jhsingle): read to the last chunk
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        if b"connection: close" in lower:
            await self.close()

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


async def latency(target: Target, count: int) -> list[float]:
    client = RawClient(target.url, target.headers)
    try:
        for _ in range(min(200, count)):
            await client.get()
        samples = []
        for _ in range(count):
            started = time.perf_counter_ns()
            await client.get()
            samples.append((time.perf_counter_ns() - started) / 1e6)
        return samples
    finally:
        await client.close()


def _cpu_seconds(process: psutil.Process) -> float:
    try:
        times = process.cpu_times()
    except psutil.Error:
        return 0.0
    return float(times.user + times.system)


class CpuMeter:
    """CPU seconds used by the load generator (this process), the proxy, and the app behind it."""

    def __init__(self, target: Target) -> None:
        self.me = psutil.Process()
        root = psutil.Process(target.process.pid)
        children = root.children(recursive=True)
        if target.name == "direct":
            self.proxy: list[psutil.Process] = []
            self.app = [root, *children]
        else:
            self.proxy, self.app = [root], children
        self.start = self.read()

    def read(self) -> tuple[float, float, float]:
        return (
            _cpu_seconds(self.me),
            sum(_cpu_seconds(p) for p in self.proxy),
            sum(_cpu_seconds(p) for p in self.app),
        )

    def per_request_us(self, requests: float) -> dict[str, float]:
        end = self.read()
        used = [(b - a) / max(requests, 1) * 1e6 for a, b in zip(self.start, end, strict=True)]
        return {"client_us": used[0], "proxy_us": used[1], "app_us": used[2]}


async def throughput(target: Target, concurrency: int, duration: float, cpu: dict[str, float] | None = None) -> float:
    meter = CpuMeter(target) if cpu is not None else None
    deadline = time.perf_counter() + duration
    counts = [0] * concurrency

    async def worker(index: int) -> None:
        client = RawClient(target.url, target.headers)
        try:
            while time.perf_counter() < deadline:
                await client.get()
                counts[index] += 1
        finally:
            await client.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    if meter is not None and cpu is not None:
        cpu.update(meter.per_request_us(sum(counts)))
    return sum(counts) / (time.perf_counter() - started)


async def websocket_rtt(target: Target, count: int) -> float:
    url = target.url.replace("http://", "ws://") + "ws"
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(url, headers=target.headers) as ws,  # no Origin: a script, not a browser
    ):
        samples = []
        for index in range(count + 50):
            started = time.perf_counter_ns()
            await ws.send_str("x" * 32)
            await ws.receive_str()
            if index >= 50:
                samples.append((time.perf_counter_ns() - started) / 1e6)
        return statistics.median(samples)


def percentile(samples: Sequence[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


# -- fake Hub (for hubapps+token) -----------------------------------------------------------------


async def start_fake_hub() -> tuple[web.AppRunner, str]:
    async def user(request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"token {TOKEN}":
            return web.json_response({}, status=403)
        return web.json_response({"kind": "user", "name": "bench", "groups": [], "scopes": ["access:servers"]})

    app = web.Application()
    app.router.add_get("/hub/api/user", user)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


# -- launch overhead ------------------------------------------------------------------------------


def launch_commands(
    framework: str, home: Path, port: int
) -> tuple[list[str], list[str], dict[str, str], str, str, str]:
    """(bare argv, proxied argv minus the proxy's listen options, app env, cwd, path to poll, the bare app's
    unix socket or "") for an example app."""
    from hubapps.core.command import LaunchContext, build_command, proxy_options, resolve_paths
    from hubapps.core.frameworks import builtin_frameworks
    from hubapps.core.spec import parse_user_options
    from hubapps.examples import example_spec

    spec = parse_user_options(example_spec(framework, "examples"))
    fw = {f.name: f for f in builtin_frameworks()}[framework]
    context = LaunchContext(prefix=PREFIX, server_name="app")
    argv, env = build_command(spec, fw, context)
    options = proxy_options(spec, fw, context)
    cwd = str(home / resolve_paths(spec, context).cwd)
    # The bare framework listens where the proxy would make it listen: a unix socket or a loopback port.
    sock = str(home / f"bare-{port}.sock") if options.app_socket else ""
    bare = [PYTHON if a == "{python}" else a.replace("{port}", str(port)).replace("{socket}", sock) for a in argv]
    proxied = [*options.to_argv(), "--public", "--", *argv]
    path = "/" if fw.strip_prefix else PREFIX
    return bare, proxied, env, cwd, path, sock


def _app_page(status: int, body: bytes) -> bool:
    return status == 200 and b"_hubapps/events" not in body


async def launch_once(framework: str, home: Path, proxied: bool) -> float:
    port = free_port()
    bare, proxy_argv, app_env, cwd, path, sock = launch_commands(framework, home, port)
    env = {**os.environ, "JUPYTERHUB_SERVICE_PREFIX": PREFIX, "JUPYTERHUB_API_URL": "http://127.0.0.1:9/hub/api"}
    if proxied:
        argv = [str(Path(PYTHON).parent / "hubapps-proxy"), "--ip=127.0.0.1", f"--port={port}", *proxy_argv]
        env["HUBAPPS_APP_ENV"] = json.dumps(app_env)
        url = f"http://127.0.0.1:{port}{PREFIX}"
    else:
        argv = bare
        env.update({k: v.replace("{port}", str(port)).replace("{socket}", sock) for k, v in app_env.items()})
        url = f"http://{'localhost' if sock else '127.0.0.1'}:{port}{path}"
    started = time.perf_counter()
    process = subprocess.Popen(
        argv, env=env, cwd=cwd if not proxied else str(home), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        await wait_answer(url, {}, _app_page, START_TIMEOUT, unix=sock if not proxied else "")
        return time.perf_counter() - started
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, 15)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()


async def launch_overhead(frameworks: Sequence[str], runs: int) -> dict[str, dict[str, float]]:
    from hubapps.examples import example_path

    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="hubapps-bench-") as tmp:
        home = Path(tmp)
        shutil.copytree(example_path(), home / "examples", ignore=shutil.ignore_patterns("__pycache__"))
        for framework in frameworks:
            await launch_once(framework, home, proxied=False)  # warm the file cache and bytecode
            bare, proxied = [], []
            for _ in range(runs):
                bare.append(await launch_once(framework, home, proxied=False))
                proxied.append(await launch_once(framework, home, proxied=True))
            results[framework] = {
                "bare_s": statistics.median(bare),
                "proxied_s": statistics.median(proxied),
                "overhead_s": statistics.median(proxied) - statistics.median(bare),
            }
            print(f"  launch {framework}: {results[framework]}", flush=True)
    return results


# -- main -----------------------------------------------------------------------------------------


async def measure_once(target: Target, args: argparse.Namespace) -> dict[str, float]:
    samples = await latency(target, args.requests)
    cpu: dict[str, float] = {}
    row = {
        "p50_ms": statistics.median(samples),
        "p99_ms": percentile(samples, 0.99),
        "rps_c1": await throughput(target, 1, args.duration),
        "rps_c10": await throughput(target, 10, args.duration, cpu),
        "ws_rtt_ms": await websocket_rtt(target, args.ws_messages),
    }
    row.update(cpu)
    return row


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Start every target, then measure them in turn, ``--rounds`` times (interleaved), keep medians."""
    cache = Path(args.cache).expanduser()
    cache.mkdir(parents=True, exist_ok=True)
    hub_runner, hub_url = await start_fake_hub()
    results: dict[str, Any] = {
        "targets": {},
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "rounds": args.rounds,
    }
    names = [(name, "aiohttp") for name in args.targets]
    names += [(name, "tornado") for name in ("direct", "hubapps") if "tornado" in args.upstreams]
    targets: dict[str, Target] = {}
    try:
        for name, kind in names:
            key = name if kind == "aiohttp" else f"{name}@{kind}"
            targets[key] = await start_target(name, cache, hub_url, kind)
        rounds: dict[str, list[dict[str, float]]] = {key: [] for key in targets}
        for number in range(args.rounds):
            for key, target in targets.items():
                row = await measure_once(target, args)
                rounds[key].append(row)
                print(f"  round {number + 1} {key}: " + ", ".join(f"{k}={v:.3f}" for k, v in row.items()), flush=True)
        for key, target in targets.items():
            merged = {metric: statistics.median(r[metric] for r in rounds[key]) for metric in rounds[key][0]}
            merged["rps_c10_min"] = min(r["rps_c10"] for r in rounds[key])
            merged["rps_c10_max"] = max(r["rps_c10"] for r in rounds[key])
            merged["rss_mb"] = target.rss() / 2**20 if target.name != "direct" else 0.0
            results["targets"][key] = merged
    finally:
        for target in targets.values():
            target.stop()
        await hub_runner.cleanup()
    if args.launch:
        results["launch"] = await launch_overhead(args.frameworks, args.launch_runs)
    return results


def report(results: dict[str, Any]) -> str:
    rows = results["targets"]
    direct = rows["direct"]
    lines = [
        "| target | p50 ms | p99 ms | added p50 ms | req/s c=1 | req/s c=10 (min-max) | ws RTT ms | RSS MB "
        "| CPU µs/req at c=10: client, proxy, app |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in rows.items():
        base = rows["direct@tornado"] if name.endswith("@tornado") else direct
        lines.append(
            f"| {name} | {row['p50_ms']:.3f} | {row['p99_ms']:.3f} | {row['p50_ms'] - base['p50_ms']:.3f} | "
            f"{row['rps_c1']:.0f} | {row['rps_c10']:.0f} ({row['rps_c10_min']:.0f}-{row['rps_c10_max']:.0f}) | "
            f"{row['ws_rtt_ms']:.3f} | {row['rss_mb']:.1f} | "
            f"{row['client_us']:.0f}, {row['proxy_us']:.0f}, {row['app_us']:.0f} |"
        )
    checks: list[tuple[str, float, str, bool]] = []
    ours = rows.get("hubapps")
    if ours:
        added = ours["p50_ms"] - direct["p50_ms"]
        checks.append(("added p50 (ms) <= 0.3", added, "", added <= 0.3))
        if "jhsingle" in rows:
            theirs = rows["jhsingle"]["p50_ms"] - direct["p50_ms"]
            ratio = added / theirs if theirs > 0 else float("inf")
            checks.append(("added p50 / jhsingle's <= 0.333", ratio, "", ratio <= 1 / 3))
            ratio = ours["rps_c10"] / rows["jhsingle"]["rps_c10"]
            checks.append(("c=10 throughput / jhsingle's >= 2", ratio, "", ratio >= 2))
        ratio = ours["rps_c10"] / direct["rps_c10"]
        checks.append(("c=10 throughput / direct >= 0.7", ratio, "", ratio >= 0.7))
        ratio = ours["ws_rtt_ms"] / direct["ws_rtt_ms"]
        checks.append(("ws RTT / direct <= 1.2", ratio, "", ratio <= 1.2))
        checks.append(("RSS (MB) <= 35", ours["rss_mb"], "", ours["rss_mb"] <= 35))
        if "hubapps+token" in rows:
            token = rows["hubapps+token"]
            checks.append(("RSS with Hub token auth (MB) <= 35", token["rss_mb"], "", token["rss_mb"] <= 35))
    if "hubapps@tornado" in rows:
        ratio = rows["hubapps@tornado"]["rps_c10"] / rows["direct@tornado"]["rps_c10"]
        checks.append(("Tornado app: c=10 throughput / direct >= 0.7", ratio, "", ratio >= 0.7))
        ratio = rows["hubapps@tornado"]["ws_rtt_ms"] / rows["direct@tornado"]["ws_rtt_ms"]
        checks.append(("Tornado app: ws RTT / direct <= 1.2", ratio, "", ratio <= 1.2))
    for framework, launch in results.get("launch", {}).items():
        overhead = launch["overhead_s"]
        checks.append((f"launch overhead {framework} (s) <= 0.3", overhead, "", overhead <= 0.3))
    lines += ["", "| check | value | met |", "|---|---|---|"]
    lines += [f"| {label} | {value:.3f} | {'yes' if met else '**no**'} |" for label, value, _, met in checks]
    if results.get("launch"):
        lines += ["", "| framework | bare start s | through hubapps-proxy s | overhead s |", "|---|---|---|---|"]
        for framework, launch in results["launch"].items():
            lines.append(
                f"| {framework} | {launch['bare_s']:.3f} | {launch['proxied_s']:.3f} | {launch['overhead_s']:.3f} |"
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", default="~/.cache/hubapps-bench", help="Folder for the peers' virtualenvs.")
    parser.add_argument(
        "--targets", nargs="+", default=["direct", "hubapps", "hubapps+socket", "hubapps+token", "jhsingle", "jsp"]
    )
    parser.add_argument("--requests", type=int, default=3000, help="GETs for the latency percentiles.")
    parser.add_argument("--duration", type=float, default=4.0, help="Seconds of each throughput run.")
    parser.add_argument("--ws-messages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3, help="Interleaved rounds; medians are reported.")
    parser.add_argument(
        "--upstreams", nargs="+", default=["aiohttp", "tornado"], help="tornado: also direct vs hubapps on Tornado."
    )
    parser.add_argument("--frameworks", nargs="*", default=["streamlit", "panel"])
    parser.add_argument("--launch-runs", type=int, default=3)
    parser.add_argument("--no-launch", dest="launch", action="store_false")
    parser.add_argument("--quick", action="store_true", help="1000 GETs, 2 s runs, no launch timings.")
    parser.add_argument("--json", default="", help="Also write the raw results to this file.")
    args = parser.parse_args(argv)
    if args.quick:
        args.requests, args.duration, args.ws_messages, args.launch, args.rounds = 1000, 2.0, 500, False, 1
    runner: Callable[[], Awaitable[dict[str, Any]]] = lambda: measure(args)  # noqa: E731
    results = asyncio.run(runner())
    print(report(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
