"""The Hub's services as the caller may see them (upstream's ``GET /services/``)."""

from __future__ import annotations

from typing import Any

from hubapps.service.errors import NotFound
from hubapps.service.hub_answers import raise_for
from hubapps.service.operations.caller import Caller

__all__ = ["hub_services"]


async def hub_services(caller: Caller) -> dict[str, Any]:
    """The Hub's ``GET /services``, read with the caller's own token: the Hub shows each user what its
    RBAC lets them list and read (``list:services``, ``read:services``); none when it lets them list
    nothing."""
    response = await caller.hub.request("GET", "services", caller.token)
    try:
        raise_for(response, "list the services")
    except NotFound:
        return {}
    body = response.json()
    return body if isinstance(body, dict) else {}
