"""Launcher service benchmark: list-my-apps latency and throughput on a Hub with 200 users x 5 apps.

Starts a real JupyterHub (the integration tests' configuration and helpers), creates the apps stopped
through the Hub API (JupyterHub 6 ``PUT``), then measures through configurable-http-proxy, like a
browser or script would:

- ``GET /services/japps/api/apps`` sequentially (p50/p99), and with 20 concurrent clients (p50/p99, req/s);
- Hub calls per request (``X-Hubapps-Hub-Calls``), cold (first request of a user) and warm;
- the time to answer ``POST .../stop`` of a running app.

Run: ``PATH=.venv/bin:$PATH .venv/bin/python benchmarks/service_bench.py`` (not part of ``make test``).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.integration.conftest import Hub

USERS = 200
APPS_PER_USER = 5
SEQUENTIAL = 1000
CONCURRENCY = 20
CONCURRENT_REQUESTS = 4000
RESOURCES = Path(__file__).resolve().parents[1] / "tests" / "resources"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def populate(hub: Hub) -> dict[str, str]:
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
        return dict(pool.map(one, range(USERS)))


async def concurrent(url: str, tokens: list[str]) -> tuple[list[float], float, list[int]]:
    latencies: list[float] = []
    calls: list[int] = []
    queue: asyncio.Queue[str] = asyncio.Queue()
    for i in range(CONCURRENT_REQUESTS):
        queue.put_nowait(tokens[i % len(tokens)])

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            token = queue.get_nowait()
            started = time.perf_counter()
            r = await client.get(url, headers={"Authorization": f"token {token}"})
            latencies.append(time.perf_counter() - started)
            assert r.status_code == 200, r.text
            calls.append(int(r.headers["X-Hubapps-Hub-Calls"]))

    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
    return latencies, CONCURRENT_REQUESTS / elapsed, calls


def stop_times(hub: Hub, svc: str, token: str, owner: str, client: httpx.Client) -> list[float]:
    spec = {
        "framework": "command",
        "display_name": "Echo",
        "start": True,
        "command": ["{python}", str(RESOURCES / "echo_app.py"), "{port}"],
    }
    times = []
    for i in range(3):
        r = client.post(
            svc + "api/apps", headers={"Authorization": f"token {token}"}, json={**spec, "display_name": f"Echo {i}"}
        )
        assert r.status_code == 201, r.text
        path = f"api/apps/{owner}/{r.json()['name']}"
        deadline = time.monotonic() + 120
        while client.get(svc + path, headers={"Authorization": f"token {token}"}).json()["state"] != "running":
            assert time.monotonic() < deadline, "app did not start"
            time.sleep(0.3)
        started = time.perf_counter()
        r = client.post(svc + path + "/stop", headers={"Authorization": f"token {token}"})
        times.append(time.perf_counter() - started)
        assert r.status_code in (200, 202), r.text
        client.delete(svc + path, headers={"Authorization": f"token {token}"})
    return times


def main() -> None:
    with tempfile.TemporaryDirectory() as root:
        hub = Hub(Path(root))
        hub.start()
        try:
            t0 = time.perf_counter()
            tokens = populate(hub)
            print(f"created {USERS} users x {APPS_PER_USER} apps in {time.perf_counter() - t0:.1f} s", flush=True)
            svc = hub.url + "services/japps/"
            url = svc + "api/apps"
            names = list(tokens)
            with httpx.Client(timeout=60) as client:
                cold_calls = []
                for name in names[:50]:
                    r = client.get(url, headers={"Authorization": f"token {tokens[name]}"})
                    assert r.status_code == 200, r.text
                    assert r.json()["count"] == APPS_PER_USER, r.text
                    cold_calls.append(int(r.headers["X-Hubapps-Hub-Calls"]))
                seq, seq_calls = [], []
                for i in range(SEQUENTIAL):
                    token = tokens[names[i % len(names)]]
                    started = time.perf_counter()
                    r = client.get(url, headers={"Authorization": f"token {token}"})
                    seq.append(time.perf_counter() - started)
                    seq_calls.append(int(r.headers["X-Hubapps-Hub-Calls"]))
                conc, rate, conc_calls = asyncio.run(concurrent(url, list(tokens.values())))
                stops = stop_times(hub, svc, tokens[names[0]], names[0], client)
            result: dict[str, Any] = {
                "users": USERS,
                "apps_per_user": APPS_PER_USER,
                "sequential_p50_ms": round(statistics.median(seq) * 1000, 1),
                "sequential_p99_ms": round(pct(seq, 0.99) * 1000, 1),
                f"c{CONCURRENCY}_p50_ms": round(statistics.median(conc) * 1000, 1),
                f"c{CONCURRENCY}_p99_ms": round(pct(conc, 0.99) * 1000, 1),
                f"c{CONCURRENCY}_requests_per_s": round(rate, 1),
                "hub_calls_cold_max": max(cold_calls),
                "hub_calls_sequential_mean": round(statistics.mean(seq_calls), 2),
                "hub_calls_sequential_max": max(seq_calls),
                f"hub_calls_c{CONCURRENCY}_max": max(conc_calls),
                "stop_answer_s_max": round(max(stops), 3),
            }
            print(json.dumps(result, indent=2))
        finally:
            hub.stop()


if __name__ == "__main__":
    main()
