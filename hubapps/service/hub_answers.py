"""The Hub's refusals in the service's words: a JupyterHub REST API answer → :mod:`hubapps.service.errors`.

403 and 404 both become :class:`NotFound`, so a caller cannot tell "not yours" from "does not
exist"; a per-user limit the Hub enforced becomes :class:`LimitReached` naming it; the Hub's own text
is logged (truncated), never passed on.
"""

from __future__ import annotations

import logging

import httpx

from hubapps.core.limits import APPS_LIMIT, LIMIT_NAMES, NAMED_SERVER_LIMIT, PUBLIC_LIMIT, RUNNING_LIMIT
from hubapps.service.errors import (
    BadRequest,
    Conflict,
    HubUnavailable,
    LimitReached,
    NotFound,
    ServiceError,
    Throttled,
    safe_log,
)

__all__ = ["DEFAULT_RETRY_AFTER", "StartFailed", "raise_for", "raise_start"]

log = logging.getLogger("hubapps.service.hub_client")

#: Seconds suggested to the client when the Hub throttles spawns without saying how long.
DEFAULT_RETRY_AFTER = 10


class StartFailed(ServiceError):
    """The Hub tried to start the app and the start failed (the app's status and logs say why)."""

    status_code = 502
    code = "start_failed"


def raise_for(response: httpx.Response, what: str) -> None:
    """Raise the service's error for a refusal of the Hub (``what`` it was asked to do); nothing below 400."""
    status = response.status_code
    if status < 400:
        return
    text = response.text
    log.info("Hub refused %s: %s %s", what, status, safe_log(text))
    if status in (401, 403, 404):
        raise NotFound()
    if status in (400, 409):
        _raise_for_limit(status, text)
    if status == 409:
        raise Conflict(f"{what}: it already exists")
    if status == 429:
        raise Throttled(_retry_after(response))
    if status == 400:
        lowered = text.lower()
        if "already running" in lowered:
            raise Conflict("the app is already running")
        if "pending" in lowered:
            raise Conflict("the app is starting or stopping; try again when it has finished")
        if "is active" in lowered or "stop it before" in lowered:
            raise Conflict("the app is running; stop it first, or ask for a restart")
        raise BadRequest(f"the Hub refused to {what}")
    raise HubUnavailable(f"the Hub failed to {what}; try again shortly")


def raise_start(response: httpx.Response, what: str) -> None:
    """Like :func:`raise_for`, and a failed start (the Hub's 500) is :class:`StartFailed`."""
    if response.status_code == 500:
        log.warning("Hub could not %s: %s", what, safe_log(response.text))
        raise StartFailed("the app failed to start; its status and logs say why")
    raise_for(response, what)


_LIMIT_HINTS = {
    APPS_LIMIT: ("", "delete an app first"),
    RUNNING_LIMIT: ("start", "stop an app first"),
    PUBLIC_LIMIT: ("public", "make another app private first"),
    NAMED_SERVER_LIMIT: ("", "delete a server or app first"),
}


def _raise_for_limit(status: int, text: str) -> None:
    """The Hub refused because of a per-user limit (the spawner mixin's 409, or the Hub's own
    named-server limit, a 400): say which, in our words (the Hub's text is not passed on). Only those
    exact shapes count, so a spec whose text names a limit cannot pass for one."""
    name = None
    if status == 409 and "limit reached: " in text:
        name = next((n for n in LIMIT_NAMES if f"({n})" in text), None)
    elif status == 400 and "already has the maximum of" in text and "named servers" in text:
        name = NAMED_SERVER_LIMIT
    if name is None:
        return
    field, hint = _LIMIT_HINTS[name]
    raise LimitReached(f"limit reached: the Hub refused ({name}); {hint}", limit=name, field=field or None)


def _retry_after(response: httpx.Response) -> int:
    value = response.headers.get("Retry-After", "")
    try:
        return max(1, int(float(value)))
    except ValueError:
        return DEFAULT_RETRY_AFTER
