"""``POST <prefix>api/internal/reports``: where apps' proxies push their reports (start facts, viewer
sessions, how a run ended), signed with each app's own key (:mod:`hubapps.core.reports`).

Outside the user API: no user's token or cookie is read or expected here, and the route is hidden
from the OpenAPI document. The body is read up to ``report_max_bytes``; a report that is not signed
right for the app it names, or too old, is answered like an unknown address (404), so the endpoint
tells nothing to anyone without a key.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError

from hubapps.core import statuskey
from hubapps.service import operations
from hubapps.service.errors import InvalidInput, PayloadTooLarge, error_response
from hubapps.service.events import EventStore
from hubapps.service.reports import AppReport, ReportGate
from hubapps.service.runs import RunStore

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def _unknown() -> Response:
    """What an unknown address answers (the framework's own 404), so a refused report looks the same."""
    return error_response(404, "not found", code="http_error")


async def _bounded_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"a report may have at most {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"a report may have at most {limit} bytes")
    return bytes(body)


@router.post("/api/internal/reports")
async def receive_report(request: Request) -> Response:
    state = request.app.state
    gate: ReportGate = state.report_gate
    signature = request.headers.get(statuskey.HEADER, "")
    if not signature or not gate.available:
        return _unknown()
    body = await _bounded_body(request, state.settings.report_max_bytes)
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # (read before the signature is checked: anyone may send it)
        return _unknown()
    owner = data.get("owner") if isinstance(data, dict) else None
    server = data.get("server") if isinstance(data, dict) else None
    if not (isinstance(owner, str) and isinstance(server, str)):
        return _unknown()
    viewers = data.get("viewers")
    verdict = gate.admit(owner, server, signature, body, cost=len(viewers) if isinstance(viewers, list) else 1)
    if verdict == "refused":
        return _unknown()
    if verdict == "taken":
        return Response(status_code=204)
    if verdict == "too_many":
        return error_response(
            429, "too many reports from this app; try later", code="throttled", headers={"Retry-After": "60"}
        )
    try:
        report = AppReport.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first.get("loc", ())) or None
        raise InvalidInput(str(first.get("msg", "invalid value")), field=field) from None
    runs: RunStore = state.runs
    events: EventStore = state.events
    await operations.take_report(runs, events, report, state.revisions)
    return Response(status_code=204)
