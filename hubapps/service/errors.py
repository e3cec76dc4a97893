"""The service's errors, and the one place that turns errors into HTTP responses.

Every error body has the same shape::

    {"detail": "<readable message>", "field": "<dotted field or null>", "code": "<machine name>"}

(plus, for a few errors, a field of their own: ``existing`` of :class:`AppExists`).

Messages are written here or in :mod:`hubapps.core` and are safe to show: they never carry a token,
a cookie, the environment or a Hub model. The Hub's own error text is not passed on (it may name
other users or servers); it is logged, truncated and repr'd.
"""

from __future__ import annotations

import errno
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from hubapps.core.errors import HubAppsError, SpecError
from hubapps.core.limits import LimitReached as CoreLimitReached

__all__ = [
    "AppExists",
    "BadRequest",
    "Busy",
    "Conflict",
    "DatabaseUnavailable",
    "Forbidden",
    "HubUnavailable",
    "InvalidInput",
    "LimitReached",
    "NotAuthenticated",
    "NotFound",
    "PayloadTooLarge",
    "ServiceError",
    "StorageFull",
    "Throttled",
    "TooSoon",
    "install_error_handlers",
    "safe_log",
    "storage_error",
]

log = logging.getLogger("hubapps.service")


def safe_log(value: object, limit: int = 200) -> str:
    """An untrusted value made fit for a log line: repr'd (no newlines) and truncated."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


class ServiceError(HubAppsError):
    """Base of the errors the service answers with on purpose."""

    status_code = 500
    code = "error"

    def __init__(self, message: str, *, field: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.headers = headers or {}

    def extra(self) -> dict[str, str]:
        """Fields an error adds to the common body (safe to show, like the message)."""
        return {}


class BadRequest(ServiceError):
    """The request as a whole cannot be read (bad JSON, bad encoding, bad form)."""

    status_code = 400
    code = "bad_request"


class InvalidInput(ServiceError):
    """The request was read, but a field broke a rule."""

    status_code = 422
    code = "invalid"


class NotAuthenticated(ServiceError):
    """No valid credentials (JupyterHub answers 403 here too; there is no WWW-Authenticate scheme)."""

    status_code = 403
    code = "not_authenticated"


class Forbidden(ServiceError):
    """Credentials are fine, but the request is not allowed as sent (missing XSRF token, cross-site)."""

    status_code = 403
    code = "forbidden"


class NotFound(ServiceError):
    """The thing does not exist, or the caller may not see it: the two are never told apart."""

    status_code = 404
    code = "not_found"

    def __init__(self, message: str = "not found", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)


class Conflict(ServiceError):
    """The app is in a state that does not allow this now (already running, still stopping, ...)."""

    status_code = 409
    code = "conflict"


class Busy(Conflict):
    """Another change to the same app is under way (a restart, an edit, a deletion): the caller sends
    this one again once it has finished (:mod:`hubapps.service.app_guard`)."""

    code = "busy"


class LimitReached(Conflict):
    """One more app, running app or public app would break a per-user limit (:mod:`hubapps.core.limits`).

    409 like other "not in this state" answers: deleting, stopping or unpublishing an app makes room.
    ``limit`` names the setting; the message names it too, with the owner's current count.
    """

    code = "limit_reached"

    def __init__(self, message: str, *, limit: str, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.limit = limit

    @classmethod
    def from_core(cls, exc: CoreLimitReached) -> LimitReached:
        return cls(exc.message, limit=exc.limit, field=exc.field or None)


class AppExists(Conflict):
    """The caller already has an app of this name: the client must say whether to update it or to
    create another one (``on_conflict``), rather than get a second app with a made-up name.

    ``existing`` (``<owner>/<server>``) is added to the error body.
    """

    code = "app_exists"

    def __init__(self, owner: str, server: str, display_name: str) -> None:
        super().__init__(
            f"you already have an app called {display_name!r} ({owner}/{server}): update it, or create another"
            " one with a distinct name (on_conflict: 'update' or 'new')",
            field="display_name",
        )
        self.owner = owner
        self.server = server
        self.display_name = display_name

    def extra(self) -> dict[str, str]:
        return {"existing": f"{self.owner}/{self.server}"}


class PayloadTooLarge(ServiceError):
    status_code = 413
    code = "too_large"


class Throttled(ServiceError):
    """The Hub refused to start more servers right now."""

    status_code = 429
    code = "throttled"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"the Hub is starting too many servers; try again in {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )
        self.retry_after = retry_after


class TooSoon(ServiceError):
    """The caller did this a moment ago and must wait (a viewer's starts of other users' apps)."""

    status_code = 429
    code = "too_soon"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


class HubUnavailable(ServiceError):
    """The Hub did not answer in time, or failed."""

    status_code = 503
    code = "hub_unavailable"

    def __init__(self, message: str = "the Hub is not answering; try again shortly") -> None:
        super().__init__(message, headers={"Retry-After": "5"})


class StorageFull(ServiceError):
    """The service's storage (its database's disk) is full: nothing was written (a transaction that
    could not be written is rolled back whole), and the same request succeeds once there is room."""

    status_code = 507
    code = "storage_full"

    def __init__(
        self, message: str = "the launcher's storage is full: nothing was saved; ask your administrator to free space"
    ) -> None:
        super().__init__(message)


class DatabaseUnavailable(ServiceError):
    """The service's database could not be written or read right now (locked, unreachable, an I/O
    error); its transaction was rolled back."""

    status_code = 503
    code = "database_unavailable"

    def __init__(
        self, message: str = "the launcher's database is not answering: nothing was saved; try again shortly"
    ) -> None:
        super().__init__(message, headers={"Retry-After": "5"})


#: errno values that say the disk (or the user's quota, or the file size limit) is full.
_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
#: SQLite's primary result code for "database or disk is full" (SQLITE_FULL).
_SQLITE_FULL = 13
#: PostgreSQL's SQLSTATE disk_full.
_PG_DISK_FULL = "53100"


def storage_error(exc: BaseException) -> ServiceError | None:
    """The service's error for a failure of its own storage (None: not one).

    A full disk, quota or file-size limit (``ENOSPC``, ``EDQUOT``, ``EFBIG``; SQLite's ``SQLITE_FULL``,
    "database or disk is full"; PostgreSQL's ``disk_full``) is :class:`StorageFull` (507). Any other
    failure of the database itself (SQLite's "database is locked" or "disk I/O error", a PostgreSQL
    connection lost) is :class:`DatabaseUnavailable` (503). Errors of the request's own making (an
    integrity error, bad SQL) are not storage errors.
    """
    if isinstance(exc, OSError):
        return StorageFull() if exc.errno in _FULL_ERRNOS else None
    if not isinstance(exc, DBAPIError):
        return None
    original = exc.orig
    sqlite_code = getattr(original, "sqlite_errorcode", None)
    sqlstate = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if (isinstance(sqlite_code, int) and sqlite_code & 0xFF == _SQLITE_FULL) or sqlstate == _PG_DISK_FULL:
        return StorageFull()
    if isinstance(exc, OperationalError | InterfaceError) or exc.connection_invalidated:
        return DatabaseUnavailable()
    return None


def error_response(
    status: int,
    message: str,
    *,
    code: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, str] | None = None,
) -> JSONResponse:
    body = {"detail": message, "field": field, "code": code, **(extra or {})}
    return JSONResponse(body, status_code=status, headers=headers)


def _validation_error(exc: RequestValidationError) -> tuple[int, str, str | None]:
    """Pick the first problem of a FastAPI validation error, without echoing the input."""
    errors = exc.errors()
    if not errors:
        return 422, "invalid request", None
    first = errors[0]
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path", "header")]
    if first.get("type") == "json_invalid":
        return 400, "the body is not valid JSON", None
    message = str(first.get("msg", "invalid value"))
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    if first.get("type") == "extra_forbidden":
        message = "is not a known field"
    return 422, message, ".".join(loc) or None


def install_error_handlers(app: FastAPI) -> None:
    """Map every error the service can raise to its HTTP answer (the only place that does)."""

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
        return error_response(
            exc.status_code, exc.message, code=exc.code, field=exc.field, headers=exc.headers, extra=exc.extra()
        )

    @app.exception_handler(SpecError)
    async def _spec_error(request: Request, exc: SpecError) -> JSONResponse:
        return error_response(422, exc.message, code="invalid", field=exc.field or None)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        status, message, field = _validation_error(exc)
        return error_response(status, message, code="bad_request" if status == 400 else "invalid", field=field)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # Raised by the framework itself: unknown route (404), wrong method (405), body parse (400).
        messages = {400: "the body could not be read", 404: "not found", 405: "method not allowed"}
        message = messages.get(exc.status_code, "request failed")
        return error_response(exc.status_code, message, code="http_error", headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("Unexpected error on %s %s", request.method, safe_log(request.url.path), exc_info=exc)
        return error_response(500, "internal error", code="internal")

    @app.exception_handler(OSError)
    @app.exception_handler(DBAPIError)
    async def _storage(request: Request, exc: Exception) -> JSONResponse:
        # The service's own storage failed (its database, a full disk): nothing was saved.
        storage = storage_error(exc)
        if storage is None:
            return await _unexpected(request, exc)
        log.error("Storage failed on %s %s: %s", request.method, safe_log(request.url.path), safe_log(str(exc)))
        return await _service_error(request, storage)
