"""``/api/apps/<owner>/<app>/revisions``: an app's revision history — list, read one, compare two, roll
back — as HTTP over :mod:`hubapps.service.operations` (owner or admin only; anyone else gets 404).

A revision's secrets are never shown: their names only, with ``null``, and a comparison says only that
a secret was added, removed or changed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from hubapps.service import operations
from hubapps.service.body import openapi_body, read_model
from hubapps.service.deps import CurrentCaller
from hubapps.service.responses import accepted_response
from hubapps.service.schemas import (
    Accepted,
    AppPublic,
    RevisionCompare,
    RevisionPublic,
    RevisionsPublic,
    RollbackRequest,
)

__all__ = ["router"]

router = APIRouter(prefix="/apps/{owner}/{server}/revisions", tags=["revisions"])

Number = Annotated[int, Query(ge=1)]


@router.get("", response_model=RevisionsPublic, summary="An app's revisions, newest first")
async def list_revisions(owner: str, server: str, caller: CurrentCaller) -> RevisionsPublic:
    return await operations.list_revisions(caller, owner, server)


# Before "/{number}", which would otherwise take "compare" for a number.
@router.get("/compare", response_model=RevisionCompare, summary="What changed between two revisions")
async def compare_revisions(
    owner: str,
    server: str,
    caller: CurrentCaller,
    first: Annotated[int, Query(alias="from", ge=1, description="the earlier revision's number")],
    second: Annotated[int, Query(alias="to", ge=1, description="the later revision's number")],
) -> RevisionCompare:
    return await operations.compare_revisions(caller, owner, server, first, second)


@router.get("/{number}", response_model=RevisionPublic, summary="One revision")
async def read_revision(owner: str, server: str, number: int, caller: CurrentCaller) -> RevisionPublic:
    return await operations.read_revision(caller, owner, server, number)


@router.post(
    "/{number}/rollback",
    response_model=AppPublic,
    summary="Make a revision's spec the app's again (a new revision; a running app only with restart=true)",
    description="The app's spec becomes revision `number`'s, recorded as a new revision; the user's "
    "files are not changed. A running app answers 409 unless `restart` is true (then 202 while it restarts).",
    openapi_extra=openapi_body(RollbackRequest),
    responses={202: {"model": Accepted}},
)
async def rollback(owner: str, server: str, number: int, request: Request, caller: CurrentCaller) -> JSONResponse:
    body = await read_model(request, RollbackRequest) if await request.body() else RollbackRequest()
    result = await operations.rollback_app(caller, owner, server, number, body)
    if isinstance(result, Accepted):
        return accepted_response(result)
    return JSONResponse(result.model_dump())
