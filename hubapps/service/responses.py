"""HTTP answers the route modules share: how an accepted Hub action is answered."""

from __future__ import annotations

from fastapi.responses import JSONResponse

from hubapps.service.schemas import Accepted

__all__ = ["accepted_response"]


def accepted_response(accepted: Accepted) -> JSONResponse:
    """200 when the Hub finished within the request, else 202 (poll the app's status)."""
    return JSONResponse(accepted.model_dump(), status_code=200 if accepted.done else 202)
