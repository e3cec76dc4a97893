"""Launcher home page with 100 apps: bytes, requests until usable, server time of the gallery.

Runs the integration harness's real Hub (tests/integration), creates 100 stopped apps for one user
through the REST API, then:

- opens ``/hub/home?per_page=100`` in Chromium (logged in, warm cache) and counts the requests and
  response bytes until the gallery is in the page (usable), split into Hub assets and launcher bytes;
- times ``GET <service>/ui/gallery?per_page=100`` (the server-rendered fragment) 50 times, reporting
  the service's own time (``Server-Timing``-free: measured at the client on loopback, through CHP).

    PATH=.venv/bin:$PATH .venv/bin/python benchmarks/ui_bench.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.integration.conftest import PASSWORD, Hub

APPS = 100
USER = "bench"


def main() -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as root:
        hub = Hub(Path(root))
        hub.start()
        try:
            token = hub.token_for(USER)
            api = httpx.Client(base_url=hub.url + "services/japps/api/", headers={"Authorization": f"token {token}"})
            for _ in range(30):
                if api.get("apps").status_code == 200:
                    break
                time.sleep(1)
            for i in range(APPS):
                r = api.post(
                    "apps",
                    json={
                        "display_name": f"Bench app {i:03d}",
                        "description": "A Streamlit app that squares numbers, for the benchmark.",
                        "framework": "streamlit",
                        "filepath": "examples/streamlit_app.py",
                    },
                )
                r.raise_for_status()
            gallery = f"{hub.url}services/japps/ui/gallery?per_page={APPS}"
            times = []
            with httpx.Client(headers={"Authorization": f"token {token}"}) as client:
                for _ in range(5):
                    client.get(gallery)
                for _ in range(50):
                    t0 = time.perf_counter()
                    r = client.get(gallery)
                    times.append((time.perf_counter() - t0) * 1000)
                    assert r.status_code == 200
                    assert r.text.count("hubapps-app") >= APPS
                fragment_bytes = len(r.content)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page()
                page.goto(hub.url + "hub/login")
                page.fill("#username_input", USER)
                page.fill("#password_input", PASSWORD)
                page.click("#login_submit")
                page.wait_for_selector("#hubapps-gallery")
                seen: list[tuple[str, int]] = []
                page.on("requestfinished", lambda req: seen.append((req.url, _size(req))))
                t0 = time.perf_counter()
                page.goto(f"{hub.url}hub/home?per_page={APPS}")
                page.wait_for_function(f"document.querySelectorAll('.hubapps-app').length >= {APPS}")
                usable_ms = (time.perf_counter() - t0) * 1000
                browser.close()
        finally:
            hub.stop()
    launcher = [(u, b) for u, b in seen if "/services/japps/" in u or "/hub/home" in u]
    hub_assets = [(u, b) for u, b in seen if (u, b) not in launcher]
    print(f"apps on the page: {APPS}")
    print(
        f"gallery fragment: {fragment_bytes / 1024:.1f} KiB; server time p50 {statistics.median(times):.1f} ms, "
        f"p95 {sorted(times)[int(len(times) * 0.95)]:.1f} ms (50 requests, token auth, through CHP)"
    )
    print(
        f"requests until usable: {len(seen)} ({len(launcher)} launcher, {len(hub_assets)} Hub assets, "
        f"thumbnails none); time until usable {usable_ms:.0f} ms"
    )
    print(
        f"bytes until usable (warm cache, no thumbnails): launcher {sum(b for _, b in launcher) / 1024:.1f} KiB, "
        f"Hub assets {sum(b for _, b in hub_assets) / 1024:.1f} KiB"
    )
    for url, size in seen:
        print(f"  {size:>8} {url.split('?')[0]}")


def _size(request: object) -> int:
    sizes = request.sizes()  # type: ignore[attr-defined]
    return int(sizes["responseBodySize"] + sizes["responseHeadersSize"])


if __name__ == "__main__":
    main()
