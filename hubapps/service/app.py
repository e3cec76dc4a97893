"""The launcher service application: ``create_app()`` is the uvicorn factory the Hub starts.

Layout (one router per resource, everything under the service prefix):

=============================  =====================================================================
``<prefix>health``             liveness (no Hub call, no auth)
``<prefix>oauth_login`` …      Hub OAuth login, callback, logout (:mod:`hubapps.service.auth`)
``<prefix>api/…``              the REST API (:mod:`hubapps.service.routes`); OpenAPI at ``api/docs``
``<prefix>api/internal/…``     reports of apps' proxies, signed with the app's key (:mod:`~.routes.reports`)
``<prefix>create-app``         the deploy form (also opened by the jupyterlab-jhub-apps extension)
``<prefix>ui/…``, ``static/``  the launcher's pages (:mod:`~.routes.ui`, :mod:`~.routes.deploy`)
``<prefix>server/…``, ``user``…  upstream JHub Apps' REST API, upstream's shapes (:mod:`~.routes.upstream`)
``<prefix>metrics``            Prometheus metrics (a Hub token with ``read:metrics``; ``docs/metrics.md``)
=============================  =====================================================================
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import logging
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.staticfiles import StaticFiles

from hubapps import __version__
from hubapps.core.frameworks import FrameworkRegistry
from hubapps.core.runtimes import RuntimeSearch, unavailable_frameworks
from hubapps.core.startup import StartupEntry, StartupError, parse_startup_apps
from hubapps.service.app_guard import AppGuard
from hubapps.service.appstatus import AppStatusReader
from hubapps.service.auth import login_router
from hubapps.service.directory import AppDirectory
from hubapps.service.errors import install_error_handlers
from hubapps.service.events import EventStore
from hubapps.service.homefiles import HomeFiles
from hubapps.service.hub_client import HubClient
from hubapps.service.lease import WorkerLease
from hubapps.service.limits import LimitGuard
from hubapps.service.metrics import RequestMetrics
from hubapps.service.middleware import BodyLimit, RequestContext
from hubapps.service.operations.app_metrics import AppMetrics
from hubapps.service.operations.as_service import ServiceActor
from hubapps.service.operations.idle import enforce_idle_policy
from hubapps.service.operations.startup import StartupApps
from hubapps.service.parent import exit_with_parent, master_to_watch
from hubapps.service.rendering import STATIC
from hubapps.service.reports import ReportGate
from hubapps.service.revisions import RevisionStore
from hubapps.service.routes import (
    admin,
    apps,
    deploy,
    from_git,
    meta,
    metrics,
    pages,
    reports,
    revisions,
    shares,
    ui,
    upstream,
)
from hubapps.service.routes import events as event_routes
from hubapps.service.routes import theme as theme_routes
from hubapps.service.routes.docs import install_docs
from hubapps.service.runs import RunStore
from hubapps.service.secrets import SecretEnvMarks, SecretSealer
from hubapps.service.security import CookieSealer
from hubapps.service.serve import FREEZE_ENV_VAR
from hubapps.service.settings import ServiceSettings
from hubapps.service.startup_records import StartupRecords
from hubapps.service.thumbnails import ThumbnailStore
from hubapps.service.upstream import status_body

__all__ = ["create_app"]

log = logging.getLogger("hubapps.service")


def _cookie_secret(settings: ServiceSettings) -> bytes:
    secret = settings.cookie_secret.get_secret_value() or settings.api_token.get_secret_value()
    if not secret:
        raise RuntimeError(
            "the service needs JUPYTERHUB_API_TOKEN or HUBAPPS_COOKIE_SECRET (is it started by the Hub?)"
        )
    return hashlib.sha256(b"hubapps-service-secret\x00" + secret.encode()).digest()


#: Seconds between two prunings of old events.
PRUNE_EVERY = 24 * 3600.0


async def prune_events(
    events: EventStore, retention_days: float, every: float = PRUNE_EVERY, *, runs: RunStore | None = None
) -> None:
    """Delete events (and remembered runs) older than ``retention_days`` now and every ``every`` seconds
    (0 days: never)."""
    if retention_days <= 0:
        return
    while True:
        try:
            older_than = time.time() - retention_days * 86400
            gone = await events.prune(older_than)
            if runs is not None:
                await runs.prune(older_than)
            if gone:
                log.info("Deleted %d app events older than %g days", gone, retention_days)
        except Exception as exc:  # a busy database: try again next time
            log.warning("Could not prune old app events: %s", exc)
        await asyncio.sleep(every)


def startup_entries(settings: ServiceSettings) -> list[StartupEntry]:
    """The admin's startup apps (checked at Hub start already; none, with an error logged, if the
    service reads them otherwise)."""
    try:
        return parse_startup_apps(settings.startup_apps)
    except StartupError as exc:
        log.error("Startup apps are not reconciled: %s", exc)
        return []


_FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


async def close_form(request: Request) -> AsyncIterator[None]:
    """Close uploaded files of a form read by the XSRF check or a route, once the request is done."""
    try:
        yield
    finally:
        if request.headers.get("content-type", "").startswith(_FORM_TYPES):
            with contextlib.suppress(Exception):
                form = await request.form()
                await form.close()


def freeze_startup_heap() -> None:
    """Keep what this worker loaded to start out of every later garbage collection (``gc.freeze``):
    the imports and the stores live as long as the worker, and walking them again made each full
    collection stop the event loop for about 50 ms (the p99 of a listing). Only for a worker process of
    its own (:data:`~hubapps.service.serve.FREEZE_ENV_VAR`): frozen objects are never freed."""
    gc.collect()
    gc.freeze()


def create_app(
    settings: ServiceSettings | None = None,
    *,
    hub_transport: httpx.AsyncBaseTransport | None = None,
    app_transport: httpx.AsyncBaseTransport | None = None,
    registry: FrameworkRegistry | None = None,
    runtime_search: RuntimeSearch | None = None,
) -> FastAPI:
    """Build the service. ``hub_transport`` lets tests put a fake Hub behind the client, and
    ``app_transport`` fake apps behind the status reader; ``runtime_search`` says where frameworks'
    runtimes are looked for (the service's own environment by default)."""
    settings = settings or ServiceSettings.from_env()
    registry = (registry or FrameworkRegistry.load()).enabled(settings.allowed_frameworks, settings.blocked_frameworks)
    prefix = settings.prefix.rstrip("/")
    hub = HubClient(
        settings.hub_url,
        timeout=settings.hub_request_timeout,
        user_cache_ttl=settings.user_cache_ttl,
        shared_cache_ttl=settings.shared_cache_ttl,
        stale_ttl=settings.cache_stale_ttl,
        refresh_rate=settings.hub_refresh_rate,
        max_entries=settings.cache_max_entries,
        max_connections=settings.hub_max_connections,
        idle_connections=settings.hub_idle_connections,
        transport=hub_transport,
        user_agent=f"hubapps-service/{__version__}",
        verify=settings.hub_tls(),
    )
    status_reader = AppStatusReader(
        settings.app_proxy_url,
        settings.status_key_bytes,
        timeout=settings.app_status_timeout,
        max_bytes=settings.app_status_max_bytes,
        cache_ttl=settings.listing_status_ttl,
        transport=app_transport,
        verify=settings.proxy_tls(),
        user_agent=f"hubapps-service/{__version__}",
    )
    home_files = HomeFiles(
        settings.app_proxy_url,
        timeout=settings.home_files_timeout,
        max_bytes=settings.home_files_max_bytes,
        transport=app_transport,
        verify=settings.proxy_tls(),
        user_agent=f"hubapps-service/{__version__}",
    )
    directory = AppDirectory(settings.database_url, cache_ttl=settings.directory_cache_ttl)
    thumbnails = ThumbnailStore(settings.database_url, decode_workers=settings.thumbnail_decode_workers)
    secret_env = SecretEnvMarks(settings.database_url)
    events = EventStore(settings.database_url)
    startup = StartupApps(
        entries=startup_entries(settings),
        hub=hub,
        token=settings.api_token.get_secret_value(),
        settings=settings,
        registry=registry,
        records=StartupRecords(settings.database_url),
        events=events,
        directory=directory,
        thumbnails=thumbnails,
    )
    started_at = time.time()
    revision_store = RevisionStore(settings.database_url)
    runs = RunStore(settings.database_url, keep=settings.runs_kept_per_app)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await directory.open()
        await thumbnails.open()
        await secret_env.open()
        await events.open()
        await startup.records.open()
        # Every worker runs the loop; only the one holding the lease checks (one Hub listing per interval).
        lease = WorkerLease(settings.database_url, "policy")
        await revision_store.open()
        await runs.open()
        pruning = asyncio.create_task(
            prune_events(events, settings.event_retention_days, settings.event_prune_interval, runs=runs)
        )
        # In the background: the service answers at once, whatever the Hub and the entries do.
        reconciling = asyncio.create_task(startup.run_at_start(started_at))
        policing = asyncio.create_task(enforce_idle_policy(ServiceActor(hub, settings), events, settings, lease))
        # A worker of a service started with --exit-with-parent: it stops once its master is gone.
        master = master_to_watch(os.environ)
        orphan_watch = [asyncio.create_task(exit_with_parent(master))] if master is not None else []
        log.info("hubapps service %s at %s", __version__, settings.prefix)
        if os.environ.get(FREEZE_ENV_VAR) == "1":  # a worker started by hubapps.service.serve
            freeze_startup_heap()
        try:
            yield
        finally:
            for task in (pruning, reconciling, policing, *orphan_watch):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            lease.close()
            await hub.aclose()
            await status_reader.aclose()
            await home_files.aclose()
            directory.close()
            thumbnails.close()
            startup.records.close()
            secret_env.close()
            events.close()
            revision_store.close()
            runs.close()
            app.state.app_guard.close()

    app = FastAPI(
        title=f"hubapps {settings.title}",
        version=__version__,
        docs_url=None,  # served offline by routes.docs
        openapi_url=f"{prefix}/api/openapi.json",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.hub = hub
    app.state.status_reader = status_reader
    app.state.home_files = home_files
    app.state.directory = directory
    app.state.registry = registry
    # Frameworks whose runtime this environment lacks: listed with the reason, never offered (docs/frameworks.md).
    app.state.unavailable_frameworks = unavailable_frameworks(
        registry, runtime_search or RuntimeSearch.from_environ(os.environ)
    )
    app.state.thumbnails = thumbnails
    app.state.secret_env = secret_env
    app.state.events = events
    app.state.app_metrics = AppMetrics(hub, status_reader, registry, settings)
    app.state.startup = startup
    app.state.revisions = revision_store
    app.state.runs = runs
    # Reports of apps' proxies, signed with each app's own key (routes/reports.py).
    app.state.report_gate = ReportGate(
        settings.status_key_bytes, max_skew=settings.status_max_skew, per_minute=settings.reports_per_minute
    )
    app.state.limits = LimitGuard()
    app.state.app_guard = AppGuard(settings.database_url)
    app.state.secret_sealer = SecretSealer(settings.crypt_key.get_secret_value())
    app.state.sealer = CookieSealer(
        _cookie_secret(settings), cache_ttl=settings.cookie_cache_ttl, cache_entries=settings.cache_max_entries
    )

    service = APIRouter(prefix=prefix)

    @service.get("/health", tags=["meta"], summary="Liveness (no Hub call)")
    async def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @service.get("/status", tags=["upstream JHub Apps"], summary="Upstream's status (no Hub call, no auth)")
    async def status() -> dict[str, str]:
        return status_body()

    api = APIRouter(prefix="/api", dependencies=[Depends(close_form)])
    api.include_router(meta.router)
    api.include_router(from_git.api_router)  # (before apps: /apps/from-git is not an app)
    api.include_router(apps.router)
    api.include_router(shares.router)
    api.include_router(admin.api_router)
    api.include_router(revisions.router)
    api.include_router(event_routes.router)
    service.include_router(api)
    service.include_router(from_git.upstream_router)
    service.include_router(metrics.router)
    service.include_router(reports.router)  # (no user: signed by an app's proxy; not in the OpenAPI document)
    service.include_router(pages.pages_router)
    service.include_router(theme_routes.router)  # upstream's /config.json, /theme, /theme.css (no login)
    service.include_router(upstream.router, dependencies=[Depends(close_form)])  # upstream JHub Apps' API
    service.include_router(ui.router, dependencies=[Depends(close_form)])
    service.include_router(admin.ui_router, dependencies=[Depends(close_form)])
    service.include_router(deploy.router, dependencies=[Depends(close_form)])  # uploads of its forms
    app.mount(f"{prefix}/static", StaticFiles(directory=STATIC), name="static")
    install_docs(app, prefix, settings.title)
    app.include_router(service)
    app.include_router(login_router(settings))

    install_error_handlers(app)
    app.add_middleware(RequestContext, api_prefix=f"{prefix}/api")
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestMetrics, prefix=prefix)  # outermost: every answer counted, 413s too
    return app
