"""``/api``: the current user, enabled frameworks, environments and spawner profiles."""

from __future__ import annotations

from fastapi import APIRouter, Request

from hubapps import __version__
from hubapps.service import operations
from hubapps.service.auth import CurrentUser
from hubapps.service.deps import CurrentCaller, Registry, Settings
from hubapps.service.rendering import logo_url
from hubapps.service.schemas import FrameworkPublic, UserPublic

__all__ = ["router"]

router = APIRouter(tags=["meta"])


@router.get("/", summary="API version")
async def api_root() -> dict[str, str]:
    return {"name": "hubapps", "version": __version__}


@router.get("/user", response_model=UserPublic, summary="Who I am, and what I may do")
async def me(identity: CurrentUser, request: Request) -> UserPublic:
    scopes = identity.scopes
    can_share = bool({"shares", f"shares!user={identity.name}"} & scopes)
    xsrf = request.app.state.sealer.xsrf_token(identity.session_id) if identity.via == "cookie" else None
    return UserPublic(
        name=identity.name,
        admin=identity.admin,
        groups=identity.groups,
        can_share=can_share,
        via="cookie" if identity.via == "cookie" else "token",
        xsrf_token=xsrf,
    )


@router.get("/frameworks", response_model=list[FrameworkPublic], summary="Frameworks users may deploy here")
async def frameworks(
    identity: CurrentUser, registry: Registry, settings: Settings, request: Request
) -> list[FrameworkPublic]:
    unavailable: dict[str, str] = request.app.state.unavailable_frameworks
    return [
        FrameworkPublic(
            name=fw.name,
            display_name=fw.display_name,
            description=fw.description,
            help=fw.help,
            needs_file=fw.needs_file,
            file_suffixes=list(fw.file_suffixes),
            logo=logo_url(settings, fw.name),
            available=fw.name not in unavailable,
            unavailable_reason=unavailable.get(fw.name),
        )
        for fw in registry
    ]


@router.get("/environments", response_model=list[str], summary="Python environments apps may run in")
async def environments(caller: CurrentCaller) -> list[str]:
    return await operations.environment_names(caller)


@router.get("/profiles", response_model=list[dict[str, str]], summary="Spawner profiles apps may use")
async def profiles(identity: CurrentUser, settings: Settings) -> list[dict[str, str]]:
    return [dict(p) for p in settings.profiles]
