"""The cost of the proxy's metrics per request (issue 13): what counting adds on the hot path.

    .venv/bin/python benchmarks/metrics_bench.py

Times, in one process, the work the proxy does per request for its metrics: classifying the answered
request and counting it with its latency (``ProxyRuntime._answered`` → ``ProxyMetrics.request_done``),
noting its viewer (``ProxyRuntime._seen`` → ``ProxyMetrics.viewer_seen``), and the whole text written
for one scrape of the service. End-to-end numbers (``proxy_bench.py``) on a shared 2-core machine vary
by more than this from run to run, so the per-call cost is measured directly.
"""

from __future__ import annotations

import timeit

from hubapps.proxy.auth import Viewer
from hubapps.proxy.config import parse_config
from hubapps.proxy.exchange import Exchange
from hubapps.proxy.server import ProxyRuntime
from hubapps.proxy.wire import Request

ENV = {
    "JUPYTERHUB_SERVICE_PREFIX": "/user/bench/app/",
    "JUPYTERHUB_API_URL": "http://127.0.0.1:1/hub/api",
    "JUPYTERHUB_API_TOKEN": "server-token",
    "JUPYTERHUB_CLIENT_ID": "jupyterhub-user-bench-app",
    "JUPYTERHUB_USER": "bench",
    "JUPYTERHUB_SERVER_NAME": "app",
}
HEADERS = [("Host", "127.0.0.1"), ("User-Agent", "bench"), ("Accept", "*/*"), ("X-Forwarded-For", "10.0.0.1")]


def per_call(statement: str, namespace: dict[str, object], number: int = 200_000) -> float:
    """Nanoseconds per call (best of five)."""
    return min(timeit.repeat(statement, globals=namespace, number=number, repeat=5)) / number * 1e9


def main() -> None:
    config = parse_config(["--port=0", "--", "true"], ENV)
    runtime = ProxyRuntime(config, ENV, base_dir="/tmp")
    request = Request("GET", b"/user/bench/app/page?x=1", list(HEADERS))
    exchange = Exchange(request, keep_alive=True, chunked=False, expects_body=False)
    viewer = Viewer("someone")
    namespace: dict[str, object] = {"runtime": runtime, "exchange": exchange, "request": request, "viewer": viewer}
    for number in range(200):  # a metrics registry with some viewers in it
        runtime.metrics.viewer_seen(f"user:viewer-{number}")
    answered = per_call("runtime._answered(exchange)", namespace)
    seen = per_call("runtime._seen(request, viewer, False)", namespace)
    anonymous = per_call("runtime._seen(request, None, False)", namespace)
    exchange_made = per_call(
        "Exchange(request, keep_alive=True, chunked=False, expects_body=False)", {**namespace, "Exchange": Exchange}
    )
    clock = per_call("monotonic()", {"monotonic": __import__("time").monotonic})
    render = per_call("runtime.metrics_text()", namespace, number=2000)
    print("| per request | ns |")
    print("|---|---|")
    print(f"| answered: classify + count + latency bucket | {answered:.0f} |")
    print(f"| viewer noted (identified) | {seen:.0f} |")
    print(f"| viewer noted (anonymous, by address) | {anonymous:.0f} |")
    print(f"| (for scale: making the request's Exchange, clock read included) | {exchange_made:.0f} |")
    print(f"| (for scale: one time.monotonic() call) | {clock:.0f} |")
    print(f"| one scrape's text ({len(runtime.metrics_text())} bytes) | {render / 1000:.0f} µs |")


if __name__ == "__main__":
    main()
