"""The launcher service application.

This is the foundation's cut: health, the enabled frameworks and the current user, with
``Authorization: token`` checked against the Hub. The full REST API and the pages build on it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException
from jupyterhub.services.auth import HubAuth

from hubapps import __version__
from hubapps.core.frameworks import FrameworkRegistry
from hubapps.service.settings import ServiceSettings

__all__ = ["create_app"]


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    settings = settings or ServiceSettings.from_env()
    registry = FrameworkRegistry.load().enabled(settings.allowed_frameworks, settings.blocked_frameworks)
    hub_auth = HubAuth(api_url=settings.hub_api_url, cache_max_age=30)
    prefix = settings.prefix.rstrip("/")

    async def current_user(authorization: Annotated[str, Header()] = "") -> dict[str, Any]:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() not in {"token", "bearer"} or not token:
            raise HTTPException(403, "missing or malformed Authorization header")
        model = await hub_auth.user_for_token(token, sync=False)
        if not model or not hub_auth.check_scopes(hub_auth.access_scopes, model):
            raise HTTPException(403, "token is not valid for this service")
        return dict(model)

    CurrentUser = Annotated[dict[str, Any], Depends(current_user)]
    router = APIRouter(prefix=prefix)

    @router.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @router.get("/api/frameworks")
    async def frameworks(user: CurrentUser) -> list[dict[str, Any]]:
        return [
            {"name": fw.name, "display_name": fw.display_name, "description": fw.description}
            for fw in registry
        ]

    @router.get("/api/user")
    async def me(user: CurrentUser) -> dict[str, Any]:
        return {"name": user.get("name"), "groups": user.get("groups", []), "admin": user.get("admin", False)}

    app = FastAPI(
        title=f"hubapps {settings.title}",
        version=__version__,
        docs_url=f"{prefix}/api/docs",
        openapi_url=f"{prefix}/api/openapi.json",
        redoc_url=None,
    )
    app.include_router(router)
    return app
