"""The API docs page works offline: Swagger UI from the package, every request to the launcher's own origin."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tests.integration.conftest import Hub


def test_api_docs_list_the_operations_without_leaving_the_hub(browser: Any, hub: Hub) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        violations: list[str] = []
        page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
        page.goto(hub.launcher_url + "api/docs")
        page.wait_for_selector(".opblock-summary-path", timeout=30_000)
        paths = {p.strip().replace("\u200b", "") for p in page.locator(".opblock-summary-path").all_inner_texts()}
        prefix = urlsplit(hub.launcher_url).path  # /services/japps/ under the Hub's base_url
        assert f"{prefix}api/apps" in paths
        assert f"{prefix}api/apps/{{owner}}/{{server}}/start" in paths
        assert len(paths) >= 15, paths
        origin = urlsplit(hub.launcher_url).netloc
        assert {urlsplit(url).netloc for url in requested if url.startswith("http")} == {origin}, requested
        assert violations == []
    finally:
        context.close()
