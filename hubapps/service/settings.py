"""The service's settings: what the Hub passed in ``HUBAPPS_SETTINGS`` plus the service env.

Every limit the service applies is a named field here with a safe default, so tests and admins can
see (and change) it in one place. Nothing is read from the environment at import time:
:meth:`ServiceSettings.from_env` is called by :func:`hubapps.service.app.create_app`.
"""

from __future__ import annotations

import json
import os
import ssl
from collections.abc import Mapping
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from hubapps.core.limits import UserLimits

__all__ = ["ServiceSettings"]


class ServiceSettings(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    # -- what the Hub tells every managed service ---------------------------------------------------
    service_name: str = "japps"
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
    #: URL at which the service reaches apps (``/user/<owner>/<app>/...``): the Hub's proxy. Empty: the
    #: origin of ``public_url``; when both are empty, app logs and live status are unavailable.
    proxy_url: str = ""
    #: JupyterHub's ``subdomain_host`` (passed on by ``install()``; else the Hub's host when the service
    #: has a host of its own): each user's servers are on ``<user>.<domain>``. Only used for apps the
    #: Hub gave no URL for (the public directory).
    subdomain_host: str = ""

    # -- admin settings (HubApps traits) --------------------------------------------------------------
    allowed_frameworks: list[str] = []
    blocked_frameworks: list[str] = []
    environments: list[str] = []
    profiles: list[dict[str, str]] = []
    #: Resolved by ``install()`` (``HubApps.allow_public_apps``/``allow_sharing``); off unless the Hub says so.
    allow_public_apps: bool = False
    allow_sharing: bool = False
    title: str = "Apps"
    #: Seconds any one Hub API call may take before the request answers 503.
    hub_request_timeout: float = Field(10.0, gt=0)
    #: Database of the app directory (public and shared apps' names and descriptions).
    database_url: str = "sqlite:///hubapps-service.sqlite"
    #: Secret for the login and XSRF cookies. Empty: derived from ``api_token`` (cookies then end
    #: when the Hub restarts and issues the service a new token; users log in again silently).
    cookie_secret: SecretStr = SecretStr("")
    #: The Hub's ``JUPYTERHUB_CRYPT_KEY`` (passed on by ``install()``): encrypts secret env values.
    #: Empty: secret values are refused.
    crypt_key: SecretStr = SecretStr("")
    #: The status key shared with the Hub (``HUBAPPS_STATUS_KEY``, hex; see :mod:`hubapps.core.statuskey`).
    #: Empty: app status and logs are unavailable (no other credential is ever sent to an app).
    status_key: SecretStr = SecretStr("")

    # -- limits ------------------------------------------------------------------------------------
    #: Largest request body accepted (bytes); larger bodies answer 413 before they are read.
    max_body_bytes: int = Field(256 * 1024, gt=0)
    #: Seconds a token's user model (identity, scopes, servers) is reused before asking the Hub again.
    user_cache_ttl: float = Field(5.0, ge=0)
    #: Seconds the list of apps shared with a user is reused.
    shared_cache_ttl: float = Field(30.0, ge=0)
    #: Seconds the public app directory is reused by a worker before re-reading the database.
    directory_cache_ttl: float = Field(5.0, ge=0)
    #: Most entries cached per cache (oldest evicted first).
    cache_max_entries: int = Field(10_000, gt=0)
    #: Most simultaneous connections to the Hub API (further calls wait for a free one).
    hub_max_connections: int = Field(100, gt=0)
    #: Idle keep-alive connections to the Hub kept for reuse. Few are needed (the Hub answers one call
    #: at a time), and each idle one is checked on every call, so a large pool costs CPU per request.
    hub_idle_connections: int = Field(8, ge=0)
    #: Seconds an opened login cookie is remembered (its payload, by the exact cookie value), so a
    #: browser's requests are not decrypted one by one; the cookie's own expiry is still checked.
    cookie_cache_ttl: float = Field(10.0, ge=0)
    #: Default and largest page size of app listings.
    page_default: int = Field(50, gt=0)
    page_max: int = Field(500, gt=0)
    #: Seconds a stop request waits for the Hub before answering 202 and letting the Hub finish.
    stop_wait: float = Field(0.5, ge=0)
    #: Seconds a start request waits for the Hub before answering 202 (the Hub goes on starting it).
    start_wait: float = Field(1.0, ge=0)
    #: Seconds a restart may wait for the old server to stop before giving up.
    restart_timeout: float = Field(120.0, gt=0)
    #: Seconds a call to an app's own status or log endpoint may take, in all.
    app_status_timeout: float = Field(5.0, gt=0)
    #: Largest answer read from an app's status or log endpoint (bytes); a larger one is dropped.
    app_status_max_bytes: int = Field(1024 * 1024, gt=0)
    #: Log lines returned by the logs endpoint at most.
    log_lines_max: int = Field(1000, gt=0)
    #: Seconds a login may take between leaving for the Hub and coming back.
    oauth_state_max_age: int = Field(600, gt=0)
    #: Lifetime of the login cookie (seconds); the Hub token inside may expire sooner.
    cookie_max_age: int = Field(8 * 3600, gt=0)

    # -- per-user limits (HubApps traits; hubapps.core.limits) ----------------------------------------
    #: Most apps, running apps and public apps per owner (0: no limit; Hub admins are exempt).
    max_apps_per_user: int = Field(20, ge=0)
    max_running_apps_per_user: int = Field(5, ge=0)
    max_public_apps_per_user: int = Field(3, ge=0)
    #: The Hub's ``named_server_limit_per_user`` as ``install()`` found it (0: none, or a callable).
    named_server_limit_per_user: int = Field(0, ge=0)

    # -- launcher pages (hubapps.service.routes.ui) ---------------------------------------------------
    #: Largest thumbnail upload (bytes) before re-encoding. The whole form must also fit in
    #: ``max_body_bytes``, so keep this below it.
    thumbnail_max_bytes: int = Field(192 * 1024, gt=0)
    #: Largest image (width times height, in pixels) a thumbnail upload may decode to, checked from the
    #: image header before decoding (decompression bombs: a 70 KB PNG can hold 24 million pixels). A
    #: 12-megapixel phone photo still fits; decoding one takes up to ~100 MB for a moment.
    thumbnail_max_pixels: int = Field(12_000_000, gt=0)
    #: Thumbnail uploads decoded at the same time (one thread each); further uploads wait their turn.
    thumbnail_decode_workers: int = Field(2, gt=0)
    #: Stored thumbnails are scaled down to fit this box (pixels).
    thumbnail_width: int = Field(480, gt=0)
    thumbnail_height: int = Field(320, gt=0)
    #: Apps per gallery page by default, and the most a page may show (``?per_page=``).
    gallery_page_size: int = Field(24, gt=0)
    gallery_page_max: int = Field(100, gt=0)
    #: Most user and group names offered for type-ahead when sharing.
    share_suggestions_max: int = Field(500, ge=0)
    #: Seconds between status polls of the start page.
    watch_poll_seconds: float = Field(1.0, gt=0)

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
            return self.proxy_url.rstrip("/")
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
