"""The service's settings: what the Hub passed in ``HUBAPPS_SETTINGS`` plus the service env."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict

__all__ = ["ServiceSettings"]


class ServiceSettings(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    service_name: str = "japps"
    prefix: str = "/services/japps/"
    hub_api_url: str = "http://127.0.0.1:8081/hub/api"
    allowed_frameworks: list[str] = []
    blocked_frameworks: list[str] = []
    environments: list[str] = []
    allow_public_apps: bool = True
    title: str = "Apps"
    hub_request_timeout: float = 10.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServiceSettings:
        env = os.environ if environ is None else environ
        data = json.loads(env.get("HUBAPPS_SETTINGS", "{}") or "{}")
        if "JUPYTERHUB_SERVICE_PREFIX" in env:
            data["prefix"] = env["JUPYTERHUB_SERVICE_PREFIX"]
        if "JUPYTERHUB_API_URL" in env:
            data["hub_api_url"] = env["JUPYTERHUB_API_URL"]
        return cls.model_validate(data)
