"""The service's settings: what the Hub passed in ``HUBAPPS_SETTINGS`` plus the service env.

Admin settings (every limit the service applies among them) are declared once, as ``HubApps``
traits tagged ``service=True`` (:mod:`hubapps.core.settings`); their fields here are generated from
those traits (type, default, bound), so ``c.HubApps.<name>`` sets ``settings.<name>``. Declared here
are only what the Hub tells every managed service (``JUPYTERHUB_*``), what ``install()`` works out
from the rest of the Hub's configuration, and the secrets. Nothing is read from the environment at import time:
:meth:`ServiceSettings.from_env` is called by :func:`hubapps.service.app.create_app`.
"""

from __future__ import annotations

import copy
import functools
import inspect
import json
import os
import ssl
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, create_model, field_validator
from traitlets import Bool, Dict, Float, Integer, List, TraitType, Unicode

from hubapps.core.limits import UserLimits
from hubapps.core.settings import AdminSettings, service_value
from hubapps.core.theme import clean_theme

__all__ = ["ServiceSettings"]


class _HubProvided(BaseModel):
    """What the Hub and ``install()`` tell the service that is not an admin setting."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    # -- what the Hub tells every managed service ---------------------------------------------------
    #: URL prefix the service is mounted at (``JUPYTERHUB_SERVICE_PREFIX``).
    prefix: str = "/services/japps/"
    #: The Hub's REST API as the service reaches it (``JUPYTERHUB_API_URL``).
    hub_api_url: str = "http://127.0.0.1:8081/hub/api"
    #: The Hub's URL prefix as browsers see it (``JUPYTERHUB_BASE_URL`` + ``hub/``).
    hub_prefix: str = "/hub/"
    #: The service's own token (``JUPYTERHUB_API_TOKEN``); also the OAuth client secret.
    api_token: SecretStr = SecretStr("")
    #: OAuth client id (``JUPYTERHUB_CLIENT_ID``), usually ``service-<name>``.
    client_id: str = "service-japps"
    #: Where the Hub sends the browser back after login (``JUPYTERHUB_OAUTH_CALLBACK_URL``).
    oauth_callback_url: str = "/services/japps/oauth_callback"
    #: Scopes a token must hold to use the service (``JUPYTERHUB_OAUTH_ACCESS_SCOPES``).
    access_scopes: list[str] = ["access:services!service=japps"]
    #: Public URL of the service (``JUPYTERHUB_PUBLIC_URL``: the Hub's public origin and the service's
    #: prefix, or the service's own host under ``subdomain_host``), if the Hub knows one: https → Secure
    #: cookies.
    public_url: str = ""
    #: The Hub's public origin (``JUPYTERHUB_HOST``: ``proto://host[:port]``, "" when the Hub is on the
    #: same origin as the service). Under ``subdomain_host`` the service has a host of its own, so links
    #: and redirects to the Hub's pages need it, as ``HubOAuth.hub_host`` does.
    hub_host: str = ""
    #: JupyterHub's ``internal_ssl`` (``JUPYTERHUB_SSL_CERTFILE``, ``_KEYFILE``, ``_CLIENT_CA``): the
    #: service's certificate and key, presented to the Hub's https API, and the CA that signed the Hub's.
    ssl_certfile: str = ""
    ssl_keyfile: str = ""
    ssl_client_ca: str = ""
    #: JupyterHub's ``subdomain_host`` (passed on by ``install()``; else the Hub's host when the service
    #: has a host of its own): each user's servers are on ``<user>.<domain>``. Only used for apps the
    #: Hub gave no URL for (the public directory).
    subdomain_host: str = ""

    # -- what ``install()`` works out from the rest of the Hub's configuration ------------------------
    #: KubeSpawner's profiles (a static ``profile_list``) as the deploy form offers them.
    profiles: list[dict[str, str]] = []
    #: The Hub's ``named_server_limit_per_user`` as ``install()`` found it (0: none, or a callable).
    named_server_limit_per_user: int = Field(0, ge=0)
    #: ``conda_envs`` is a callable: each user's names come from the Hub (:mod:`hubapps.hub.conda_envs`).
    conda_envs_from_hub: bool = False
    #: The theme: upstream's keys of ``c.JupyterHub.template_vars`` that passed the Hub's checks
    #: (checked again here: :func:`hubapps.core.theme.clean_theme`).
    theme: dict[str, str] = {}

    @field_validator("theme", mode="before")
    @classmethod
    def _checked_theme(cls, value: Any) -> dict[str, str]:
        return clean_theme(value if isinstance(value, Mapping) else {})[0]

    # -- secrets (never in ``HUBAPPS_SETTINGS``, which may be logged) -----------------------------------
    #: Secret for the login and XSRF cookies. Empty: derived from ``api_token`` (cookies then end
    #: when the Hub restarts and issues the service a new token; users log in again silently).
    cookie_secret: SecretStr = SecretStr("")
    #: The Hub's ``JUPYTERHUB_CRYPT_KEY`` (passed on by ``install()``): encrypts secret env values.
    #: Empty: secret values are refused.
    crypt_key: SecretStr = SecretStr("")
    #: The status key shared with the Hub (``HUBAPPS_STATUS_KEY``, hex; see :mod:`hubapps.core.statuskey`).
    #: Empty: app status and logs are unavailable (no other credential is ever sent to an app).
    status_key: SecretStr = SecretStr("")


def _python_type(trait: TraitType[Any, Any]) -> Any:
    """The Python type of a ``HubApps`` trait's values (``service_type`` metadata, if it names one)."""
    declared = trait.metadata.get("service_type")
    if declared is not None:
        return declared
    for kind, python in _TYPES:
        if isinstance(trait, kind):
            if isinstance(trait, List):
                inner = _python_type(trait._trait) if trait._trait is not None else Any
                python = list[inner]  # type: ignore[valid-type]
            break
    else:
        raise TypeError(f"HubApps.{trait.name}: no service type for {type(trait).__name__}; tag it service_type=")
    return (python | None) if trait.allow_none else python


_TYPES: tuple[tuple[type, Any], ...] = (
    (Bool, bool),
    (Integer, int),
    (Float, float),
    (Unicode, str),
    (List, list),
    (Dict, dict[str, Any]),
)


def admin_fields() -> dict[str, tuple[Any, Any]]:
    """The service's admin fields, one per ``HubApps`` trait tagged ``service=True``: its type, its
    default (converted as :meth:`HubApps.service_settings` converts values) and its bound."""
    fields: dict[str, tuple[Any, Any]] = {}
    for name, trait in sorted(AdminSettings.class_traits(service=True).items()):
        default = service_value(trait, trait.default())
        bounds = {key: trait.metadata[key] for key in ("gt", "ge") if key in trait.metadata}
        description = inspect.cleandoc(trait.help)
        if isinstance(default, list | dict):
            field = Field(default_factory=functools.partial(copy.deepcopy, default), description=description, **bounds)
        else:
            field = Field(default, description=description, **bounds)
        fields[name] = (_python_type(trait), field)
    return fields


if TYPE_CHECKING:
    _AdminSettings = _HubProvided
else:
    _AdminSettings = create_model("_AdminSettings", __base__=_HubProvided, __module__=__name__, **admin_fields())


class ServiceSettings(_AdminSettings):
    """The Hub-provided fields of :class:`_HubProvided`, and one field per admin setting (``HubApps``
    trait tagged ``service=True``: ``max_body_bytes``, ``start_wait``, ``thumbnail_max_pixels``, ...),
    generated from the trait; see ``docs/configuration.md`` for each."""

    if TYPE_CHECKING:
        # The admin fields are generated at import; to the type checker they are Any.
        def __getattr__(self, name: str) -> Any: ...

    def user_limits(self, *, admin: bool = False) -> UserLimits:
        """The limits of one owner: the admin's settings, none for Hub admins (the Hub's own
        named-server limit holds for everyone, as the Hub applies it so)."""
        if admin:
            return UserLimits(named_servers=self.named_server_limit_per_user)
        return UserLimits(
            apps=self.max_apps_per_user,
            running=self.max_running_apps_per_user,
            public=self.max_public_apps_per_user,
            named_servers=self.named_server_limit_per_user,
        )

    @property
    def static_environment_names(self) -> list[str]:
        """The environment names every user may choose: ``environments`` and a listed ``conda_envs``."""
        return sorted({*self.environments, *self.conda_envs})

    @property
    def hub_url(self) -> str:
        """The Hub's API root without a trailing slash."""
        return self.hub_api_url.rstrip("/")

    @property
    def hub_pages(self) -> str:
        """The Hub's prefix as browsers open its pages (``/hub/``, or ``https://hub.example.org/hub/``
        when the service has a host of its own): the login, the home page, the token page."""
        return (self.hub_host.rstrip("/") + self.hub_prefix) if self.own_host else self.hub_prefix

    @property
    def own_host(self) -> bool:
        """Whether the service is on a host of its own (``subdomain_host``): its public URL and the Hub's
        differ in host, as JupyterHub made them."""
        if not self.public_url or not self.hub_host:
            return False
        return urlsplit(self.public_url).netloc.lower() != urlsplit(self.hub_host).netloc.lower()

    @property
    def host_cookies(self) -> bool:
        """The service's cookies are ``__Host-`` cookies (path ``/``, Secure, no ``Domain``): on an https
        host of its own, where no other server shares the origin. Browsers then refuse any cookie of
        that name that a sibling host (an app on ``<user>.<domain>``) tries to set for the whole domain."""
        return self.own_host and self.secure_cookies

    @property
    def app_proxy_url(self) -> str:
        """Where the service connects to reach apps, or "" when unknown.

        ``proxy_url`` if the admin set one (the request then carries the app's own ``Host``, so that
        configurable-http-proxy routes it by host under ``subdomain_host``), else the Hub's public origin.
        """
        if self.proxy_url:
            return str(self.proxy_url).rstrip("/")
        origin = self.hub_host or self.public_url
        if origin:
            parts = urlsplit(origin)
            return f"{parts.scheme}://{parts.netloc}"
        return ""

    @property
    def status_key_bytes(self) -> bytes:
        """The status key, or b"" when unset or not hex."""
        try:
            return bytes.fromhex(self.status_key.get_secret_value())
        except ValueError:
            return b""

    def hub_tls(self) -> ssl.SSLContext | bool:
        """How to verify the Hub's https API: the internal CA (and our certificate) under JupyterHub's
        ``internal_ssl``, else the system's trust store."""
        if not self.ssl_client_ca:
            return True
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.ssl_client_ca)
        if self.ssl_certfile and self.ssl_keyfile:
            context.load_cert_chain(self.ssl_certfile, self.ssl_keyfile)
        return context

    def proxy_tls(self) -> ssl.SSLContext | bool:
        """How to verify the proxy's https certificate when apps are reached at :attr:`app_proxy_url`
        (status, logs, the owner's files): ``proxy_ca_file`` if set, else as the Hub's API."""
        if not self.proxy_ca_file:
            return self.hub_tls()
        return ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.proxy_ca_file)

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https:")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServiceSettings:
        env = os.environ if environ is None else environ
        data = json.loads(env.get("HUBAPPS_SETTINGS", "{}") or "{}")
        mapping = {
            "JUPYTERHUB_SERVICE_PREFIX": "prefix",
            "JUPYTERHUB_API_URL": "hub_api_url",
            "JUPYTERHUB_API_TOKEN": "api_token",
            "JUPYTERHUB_CLIENT_ID": "client_id",
            "JUPYTERHUB_OAUTH_CALLBACK_URL": "oauth_callback_url",
            "JUPYTERHUB_PUBLIC_URL": "public_url",
            "JUPYTERHUB_HOST": "hub_host",
            "HUBAPPS_COOKIE_SECRET": "cookie_secret",
            "JUPYTERHUB_CRYPT_KEY": "crypt_key",
            "HUBAPPS_STATUS_KEY": "status_key",
            "JUPYTERHUB_SSL_CERTFILE": "ssl_certfile",
            "JUPYTERHUB_SSL_KEYFILE": "ssl_keyfile",
            "JUPYTERHUB_SSL_CLIENT_CA": "ssl_client_ca",
        }
        for var, key in mapping.items():
            if env.get(var):
                data[key] = env[var]
        if env.get("JUPYTERHUB_SERVICE_NAME"):
            data["service_name"] = env["JUPYTERHUB_SERVICE_NAME"]
        if env.get("JUPYTERHUB_BASE_URL"):
            data["hub_prefix"] = env["JUPYTERHUB_BASE_URL"].rstrip("/") + "/hub/"
        if env.get("JUPYTERHUB_OAUTH_ACCESS_SCOPES"):
            data["access_scopes"] = json.loads(env["JUPYTERHUB_OAUTH_ACCESS_SCOPES"])
        if "prefix" in data and "oauth_callback_url" not in data:
            data["oauth_callback_url"] = data["prefix"].rstrip("/") + "/oauth_callback"
        return cls.model_validate(data)
