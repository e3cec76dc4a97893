"""The environments a caller may run apps in: the admin's ``environments`` and ``conda_envs`` names,
and, when ``conda_envs`` is a callable, the names the Hub works out for the caller."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from hubapps.service.errors import HubUnavailable
from hubapps.service.operations.caller import Caller

__all__ = ["environment_names", "environments_for"]

log = logging.getLogger("hubapps.service")

#: The Hub's handler that runs a callable ``conda_envs`` for the token's user (hubapps.hub.conda_envs).
HUB_CONDA_ENVS = "hubapps/conda-environments"


async def environment_names(caller: Caller) -> list[str]:
    """Sorted names the caller may choose as an app's ``python_env``.

    A callable ``conda_envs`` runs in the Hub, asked with the caller's own token (so it is given the
    caller's model, ``auth_state`` included, and nobody else's); when the Hub cannot answer, its
    names are left out (logged) rather than failing the page.
    """
    settings = caller.settings
    names = set(settings.static_environment_names)
    if settings.conda_envs_from_hub:
        try:
            response = await caller.hub.request("GET", HUB_CONDA_ENVS, caller.token)
        except HubUnavailable:
            response = None
        if response is not None and response.status_code == 200:
            answer = response.json().get("names")
            if isinstance(answer, list):
                names.update(name for name in answer if isinstance(name, str) and name)
        else:
            status = response.status_code if response is not None else "no answer"
            log.warning("the Hub's conda environments for %r: %s; none offered", caller.name[:80], status)
    return sorted(names)


async def environments_for(caller: Caller, fields: Mapping[str, Any]) -> list[str] | None:
    """The environment names the caller may choose, asked (of the Hub, for a callable conda_envs) only
    when the spec names one."""
    if not fields.get("python_env") and not fields.get("conda_env"):
        return None
    return await environment_names(caller)
