"""The API docs page: local Swagger UI assets under a nonce-only script policy."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

DOCS = "/services/japps/api/docs"


def test_docs_page_uses_only_the_packaged_assets(client: TestClient) -> None:
    r = client.get(DOCS)
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    nonce = re.search(r"script-src 'nonce-([^']+)'", csp)
    assert nonce, csp
    assert "'self'" not in csp.split("script-src", 1)[1].split(";", 1)[0]
    scripts = re.findall(r"<script[^>]*>", r.text)
    assert len(scripts) == 2
    assert all(f'nonce="{nonce.group(1)}"' in tag for tag in scripts)
    assert "cdn" not in r.text
    assert "https://" not in r.text
    assert client.get(DOCS).headers["content-security-policy"] != csp  # a fresh nonce per response
    for asset, kind in (("swagger-ui-bundle.js", "javascript"), ("swagger-ui.css", "text/css")):
        got = client.get(f"{DOCS}/assets/{asset}")
        assert got.status_code == 200
        assert kind in got.headers["content-type"]
    spec = client.get("/services/japps/api/openapi.json").json()
    assert "/services/japps/api/apps" in spec["paths"]
