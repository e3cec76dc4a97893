"""Apps from git: read an app's settings from a repository's ``conda-project.yml``.

==================================  ===============================================================
``POST <prefix>api/apps/from-git``  hubapps' own shape (:class:`~hubapps.service.schemas.GitPrefill`)
``POST <prefix>app-config-from-git/``  upstream JHub Apps' (``Repository`` in, ``JHubAppConfig`` out;
                                    errors 400 ``{"detail": ...}``)
==================================  ===============================================================

Both are :func:`hubapps.service.operations.app_config_from_git`; only the shapes differ.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from hubapps.core.errors import SpecError
from hubapps.service import forms, operations
from hubapps.service.deps import CurrentCaller
from hubapps.service.errors import BadRequest, ServiceError
from hubapps.service.schemas import GitPrefill, GitPrefillRequest

__all__ = ["api_router", "upstream_router"]

api_router = APIRouter(prefix="/apps", tags=["apps"])
upstream_router = APIRouter(tags=["upstream"])

#: Our framework names that upstream spells otherwise.
_UPSTREAM_NAMES = {"dash": "plotlydash", "command": "custom"}


@api_router.post(
    "/from-git",
    response_model=GitPrefill,
    summary="Read an app's settings from a repository's conda-project.yml (nothing is created)",
)
async def from_git(body: GitPrefillRequest, caller: CurrentCaller) -> GitPrefill:
    return await operations.app_config_from_git(caller, body)


class UpstreamRepository(BaseModel):
    """Upstream's ``Repository``: ``config_directory`` "." is the top, ``ref`` defaults to ``main``."""

    model_config = ConfigDict(extra="ignore")

    url: str
    config_directory: str = "."
    ref: str = "main"


@upstream_router.post("/app-config-from-git/", summary="Upstream JHub Apps: an app's settings from git")
async def upstream_from_git(body: UpstreamRepository, caller: CurrentCaller) -> dict[str, Any]:
    directory = "" if body.config_directory.strip() in ("", ".", "./") else body.config_directory.strip()
    try:
        prefill = await operations.app_config_from_git(
            caller, GitPrefillRequest(url=body.url, ref=body.ref, subdirectory=directory.removeprefix("./"))
        )
    except (SpecError, ServiceError) as exc:
        raise BadRequest(exc.message, field=getattr(exc, "field", None)) from None
    return {
        "display_name": prefill.display_name,
        "description": prefill.description,
        "thumbnail": prefill.thumbnail_data_url,
        "filepath": prefill.filepath,
        "framework": _UPSTREAM_NAMES.get(prefill.framework, prefill.framework or "panel"),
        "custom_command": forms.command_text(prefill.command),
        "public": prefill.public,
        "keep_alive": prefill.keep_alive,
        "env": prefill.env,
        "repository": {"url": body.url, "config_directory": body.config_directory, "ref": body.ref},
    }
