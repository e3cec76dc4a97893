"""``<prefix>api/docs``: the API's Swagger UI, served offline from the package.

FastAPI's own docs page loads Swagger UI from a CDN, which an air-gapped Hub cannot reach and which the
service's CSP refuses anyway. The page here is FastAPI's (``get_swagger_ui_html``), pointed at the
Swagger UI build that ``fastapi-offline`` ships, served by the service under ``api/docs/assets/``.
Its CSP admits exactly those: the bundle and the page's one inline script by a per-response nonce (not
``'self'``, which would admit scripts an app serves under ``/user/...`` on the same origin), the
stylesheet from the assets path, and fetches of the service's own ``openapi.json``.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["ASSETS", "docs_csp", "install_docs"]

#: Swagger UI's files (``swagger-ui-bundle.js``, ``swagger-ui.css``, ``favicon.png``), from the package.
ASSETS = Path(fastapi_offline.__file__).resolve().parent / "static"


def docs_csp(nonce: str) -> str:
    """The docs page's policy: its scripts by nonce only; styles, images and fetches from this origin."""
    return (
        f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    )


def install_docs(app: FastAPI, prefix: str, title: str) -> None:
    """Mount the assets and the page at ``<prefix>/api/docs`` (``prefix`` without its trailing slash)."""
    assets = f"{prefix}/api/docs/assets"
    app.mount(assets, StaticFiles(directory=ASSETS), name="api-docs-assets")
    router = APIRouter()

    @router.get(f"{prefix}/api/docs", include_in_schema=False)
    async def api_docs(request: Request) -> HTMLResponse:
        nonce = secrets.token_urlsafe(16)
        page = get_swagger_ui_html(
            openapi_url=f"{prefix}/api/openapi.json",
            title=f"{title} API",
            swagger_js_url=f"{assets}/swagger-ui-bundle.js",
            swagger_css_url=f"{assets}/swagger-ui.css",
            swagger_favicon_url=f"{assets}/favicon.png",
        )
        html = bytes(page.body).decode().replace("<script", f'<script nonce="{nonce}"')
        return HTMLResponse(html, headers={"Content-Security-Policy": docs_csp(nonce), "Cache-Control": "no-store"})

    app.include_router(router)
