"""Upstream JHub Apps' theme routes, at the service's root as upstream has them: ``/config.json``,
``/theme``, ``/theme.css``.

No login: the Hub's login page loads ``theme.css`` before anyone is logged in, and a theme is no
secret. Browsers may keep them a minute (a changed theme needs a Hub restart anyway).
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from hubapps.service.deps import Settings
from hubapps.service.operations import theme

__all__ = ["router"]

router = APIRouter(tags=["upstream"])

_CACHE = {"Cache-Control": "public, max-age=60"}


@router.get("/config.json", summary="The launcher's runtime configuration (upstream's shape: theme, version)")
async def config_json(settings: Settings) -> JSONResponse:
    return JSONResponse(theme.runtime_config(settings), headers=_CACHE)


@router.get("/theme", summary="The Hub's theme (upstream's shape: logo, favicon, font, colors, cssVariables)")
async def theme_json(settings: Settings) -> JSONResponse:
    return JSONResponse(theme.theme_object(settings), headers=_CACHE)


@router.get(
    "/theme.css",
    summary="The Hub's theme as a stylesheet (font import, CSS variables, Bootstrap colours)",
    response_class=Response,
)
async def theme_stylesheet(settings: Settings) -> Response:
    return Response(theme.theme_stylesheet(settings), media_type="text/css", headers=_CACHE)
