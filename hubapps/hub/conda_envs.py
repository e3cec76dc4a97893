"""``conda_envs`` as a callable: run in the Hub's process, for the user who asks, never by re-executing
the config.

Upstream JHub Apps' ``c.JAppsConfig.conda_envs`` may be a function of the user's Hub model (with
``auth_state``): Nebari asks conda-store which environments each user may use. The launcher service
cannot run it (it never reads ``jupyterhub_config.py``), so the Hub answers
``GET /hub/api/hubapps/conda-environments`` for the user whose token calls it: the service calls it
with the user's own OAuth token, so a user only ever learns their own names.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from typing import Any

from jupyterhub.apihandlers.base import APIHandler
from tornado import web
from traitlets.config import Config

from hubapps.hub.config import HubApps

__all__ = ["CONDA_ENVS_PATH", "CondaEnvironmentsHandler", "conda_envs_for", "install_conda_envs_handler"]

log = logging.getLogger("hubapps")

#: Where the handler is, under the Hub's prefix (``/hub/``).
CONDA_ENVS_PATH = "/api/hubapps/conda-environments"


async def conda_envs_for(settings: HubApps, user_model: dict[str, Any]) -> list[str]:
    """``settings.conda_envs`` for one user: the list itself, or what the callable returns for
    ``user_model`` within ``conda_envs_timeout`` (a plain function runs in a thread, so a slow one does
    not hold up the Hub). Anything but a list of names, an error or a timeout gives none, logged."""
    source = settings.conda_envs
    if not callable(source):
        return list(source)
    name = str(user_model.get("name", ""))[:80]
    try:
        async with asyncio.timeout(settings.conda_envs_timeout):
            if inspect.iscoroutinefunction(source):
                result = await source(user_model)
            else:
                result = await asyncio.to_thread(source, user_model)
                if inspect.isawaitable(result):
                    result = await result
    except TimeoutError:
        log.warning("hubapps: conda_envs for %r took more than %g s; none offered", name, settings.conda_envs_timeout)
        return []
    except Exception:
        log.exception("hubapps: conda_envs failed for %r; none offered", name)
        return []
    if not isinstance(result, list | tuple) or not all(isinstance(item, str) for item in result):
        log.warning("hubapps: conda_envs for %r returned %s, not a list of names; none offered", name, type(result))
        return []
    return [item for item in dict.fromkeys(result) if item.strip()]


class CondaEnvironmentsHandler(APIHandler):  # type: ignore[misc]
    """The caller's own conda environment names (a JSON list of strings); users only, not services."""

    async def get(self) -> None:
        user = self.current_user
        if user is None or getattr(user, "kind", "") != "user":
            raise web.HTTPError(403, "conda environments are listed for users")
        model: dict[str, Any] = {
            "kind": "user",
            "name": user.name,
            "admin": bool(user.admin),
            "roles": [role.name for role in user.roles],
            "groups": [group.name for group in user.groups],
            # None unless c.Authenticator.enable_auth_state (and JUPYTERHUB_CRYPT_KEY) are set.
            "auth_state": await user.get_auth_state(),
        }
        self.write({"names": await conda_envs_for(self._hubapps(), model)})

    def _hubapps(self) -> HubApps:
        """The admin's settings, read from the Hub's config once per Hub process (not per request)."""
        settings = self.settings.get("hubapps_settings")
        if not isinstance(settings, HubApps):
            settings = self.settings["hubapps_settings"] = HubApps(config=self.settings["config"])
        return settings


def install_conda_envs_handler(c: Config) -> None:
    """Register :class:`CondaEnvironmentsHandler` with the Hub (``c.JupyterHub.extra_handlers``)."""
    configured = c.JupyterHub.get("extra_handlers", None)
    handlers = [h for h in configured if h[0] != CONDA_ENVS_PATH] if isinstance(configured, list) else []
    c.JupyterHub.extra_handlers = [*handlers, (CONDA_ENVS_PATH, CondaEnvironmentsHandler)]
