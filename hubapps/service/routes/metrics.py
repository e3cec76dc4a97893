"""``<prefix>metrics``: Prometheus metrics of the service and of the running apps (``docs/metrics.md``).

Scraped as JupyterHub's own ``/hub/metrics`` is: with a Hub token whose scopes include ``read:metrics``
(else 403). The apps' part is read from their proxies by the service itself
(:mod:`hubapps.service.operations.app_metrics`); the scraper's token goes nowhere but the Hub.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import Response

from hubapps.service.auth import require_token_scope
from hubapps.service.metrics import CONTENT_TYPE, exposition
from hubapps.service.operations.app_metrics import AppMetrics, AppsCollector

__all__ = ["METRICS_SCOPE", "router"]

#: The Hub scope a scraper's token needs (JupyterHub's own, for its ``/hub/metrics``).
METRICS_SCOPE = "read:metrics"

router = APIRouter(include_in_schema=False)


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    await require_token_scope(request, METRICS_SCOPE)
    app_metrics: AppMetrics = request.app.state.app_metrics
    snapshot = await app_metrics.snapshot()
    # (the workers' files are read from disk: off the event loop)
    body = await asyncio.to_thread(exposition, [AppsCollector(snapshot)])
    return Response(body, media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})
