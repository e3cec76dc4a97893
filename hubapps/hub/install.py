"""``install(c)``: everything ``jupyterhub_config.py`` needs to turn the Hub into an app launcher.

.. code-block:: python

    import hubapps
    hubapps.install(c, spawner_class="simple", service_workers=2)

It registers the managed launcher service with its OAuth client and the minimal role it needs,
enables named servers, and wraps the admin's spawner class with :class:`HubAppsSpawnerMixin`.
Upstream JHub Apps configurations keep working through :func:`hubapps.hub.upstream.install_jhub_apps`.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import secrets
import sys
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from jupyterhub.crypto import KEY_ENV
from traitlets.config import Config
from traitlets.utils.importstring import import_item

from hubapps.core.reports import SERVICE_CERTS_ENV_VAR
from hubapps.core.statuskey import STATUS_KEY_ENV_VAR
from hubapps.hub.conda_envs import install_conda_envs_handler
from hubapps.hub.config import HubApps
from hubapps.hub.group_shares import include_group_shares
from hubapps.hub.home_page import install_home_page, read_theme, restore_template_vars
from hubapps.hub.internal_ssl import fix_service_checks
from hubapps.hub.jappsconfig import apply_jappsconfig
from hubapps.hub.public_pages import install_public_not_running
from hubapps.hub.spawner import make_spawner_class

__all__ = [
    "SERVICE_ROLE_SCOPES",
    "STATUS_KEY_ENV_VAR",
    "USER_LISTING_SCOPES",
    "USER_SHARING_SCOPES",
    "USER_TOKEN_SCOPES",
    "install",
    "service_role_scopes",
]

log = logging.getLogger("hubapps")

#: Scopes of the launcher service's own token, and why it needs each. Nothing else: the service acts
#: on apps with the *user's* token, so the Hub's RBAC decides what each user may do, except where no
#: user's token can (a viewer starting an owner's app, the idle policy: docs/security.md).
SERVICE_ROLE_SCOPES: dict[str, str] = {
    "read:users:name": "show owners' names on shared and public apps",
    "read:groups:name": "offer group names when sharing",
    "read:groups": "offer the people in a user's own groups when they share (share_suggestions_from)",
    "read:servers": "metrics: see which running servers are apps, to read their proxies' metrics (signed with "
    "each app's key; docs/metrics.md); startup apps: see whether each configured app exists, its spec and "
    "whether it runs; "
    "read an app's stored spec and state before a viewer's start (is it public, does its "
    "owner let viewers start it), and running apps' start and last activity times (idle policy)",
    "list:users": "idle policy and metrics: list the users with running servers (GET /users?state=active), "
    "once per app_policy_check_interval by one service worker, and per metrics scrape (cached metrics_apps_ttl)",
    "start:servers": "startup apps: create the configured apps for their owners, update their spec (stopped) "
    "and start those marked start, once, when created; start an owner's stopped app, with the owner's stored "
    "spec, for someone the owner lets start it (viewers_can_start); JupyterHub 6 (before it, the servers scope)",
    "delete:servers": "stop running apps past their idle policy (app_idle_timeout, app_max_age, the "
    "app's own); JupyterHub 6 (before it, the servers scope)",
}
#: JupyterHub before 6 has no separate start and stop scopes: one scope, ``servers``, holds both.
_BEFORE_6_SERVER_SCOPES = {"start:servers": "servers", "delete:servers": "servers"}


def service_role_scopes(hub_version: tuple[int, ...] | None = None) -> list[str]:
    """:data:`SERVICE_ROLE_SCOPES` as this JupyterHub names them."""
    if hub_version is None:
        from jupyterhub._version import version_info

        hub_version = tuple(v for v in version_info if isinstance(v, int))
    if hub_version >= (6,):
        return list(SERVICE_ROLE_SCOPES)
    return list(dict.fromkeys(_BEFORE_6_SERVER_SCOPES.get(s, s) for s in SERVICE_ROLE_SCOPES))


#: The most a user's OAuth token for the launcher may carry (``oauth_client_allowed_scopes``). The Hub
#: intersects it with what the user actually holds, so this never grants anything by itself.
USER_TOKEN_SCOPES: dict[str, str] = {
    "read:users:name!user": "know who is logged in",
    "read:servers": "admins: see everyone's apps (others hold only their own, so get only their own)",
    "servers": "admins: manage everyone's apps (others hold only their own, so get only their own)",
    "read:users:groups!user": "know the user's groups (group shares)",
    "read:servers!user": "list the user's own apps and their state",
    "servers!user": "create, start, stop, edit and delete the user's own apps",
    "read:users:activity!user": "show when an app was last used",
    "read:shares": "admins: list who anyone's apps are shared with, and their share links",
    "shares": "admins: share anyone's apps and make or revoke their share links",
    "read:shares!user": "list who the user's apps are shared with",
    "shares!user": "share the user's apps with users and groups",
    "read:users:shares!user": "list apps other people shared with the user",
    "users:shares!user": "let the user leave a share",
    "read:users:name": "offer user names when sharing (if the user may see them)",
    "read:groups:name": "offer group names when sharing (if the user may see them)",
    "access:servers!user": "list the user's files on their own running, unshared JupyterLab server (the "
    "deploy form's file check and suggestions); never sent to a server anyone else can use",
    "list:users": "admins: list every user's apps; others: offer the user names the Hub lets them list",
    "list:groups": "offer the group names the Hub lets the user list, when sharing",
    "list:services": "upstream's GET /services/: list the Hub's services, for users whose role lets them",
    "read:services": "upstream's GET /services/: the services' models, for users whose role lets them read them",
}

#: What every user may list once the admin chose ``share_suggestions_from = "all"`` (with sharing).
USER_LISTING_SCOPES = ("list:users", "list:groups")

#: The service's environment variable holding the status key (hex); never in ``HUBAPPS_SETTINGS``.

#: What a user needs to share their own apps with users and groups by name.
USER_SHARING_SCOPES = ("shares!user", "read:users:name", "read:groups:name")


def _resolve_spawner_class(value: Any) -> type:
    if value is None:
        from jupyterhub.spawner import LocalProcessSpawner

        default: type = LocalProcessSpawner
        return default
    if isinstance(value, type):
        return value
    if isinstance(value, str):
        for ep in entry_points(group="jupyterhub.spawners"):
            if ep.name == value:
                loaded = ep.load()
                assert isinstance(loaded, type)
                return loaded
        imported: object = import_item(value)
        if isinstance(imported, type):
            return imported
    raise ValueError(f"spawner_class {value!r} is not a Spawner class, entry point name or import string")


def _configured(c: Config, key: str) -> list[dict[str, Any]]:
    """A list already set on ``c.JupyterHub`` (an unset key reads as a lazy value, not a list)."""
    value = c.JupyterHub.get(key, None)
    return list(value) if isinstance(value, list) else []


def install(c: Config, spawner_class: type | str | None = None, **settings: Any) -> HubApps:
    """Configure JupyterHub (``c``) to run hubapps.

    ``spawner_class`` is the spawner apps run with (a class, an entry-point name such as
    ``"simple"``, or an import string); by default the one already in
    ``c.JupyterHub.spawner_class``, else JupyterHub's default. Keyword ``settings`` are
    ``HubApps`` traits (``service_workers=2``), the same as setting ``c.HubApps.<name>``.
    Returns the resulting settings object.
    """
    known = set(HubApps.class_trait_names(config=True))
    for key, value in settings.items():
        if key not in known:
            known_list = ", ".join(sorted(known))
            raise TypeError(f"hubapps.install() got an unknown setting {key!r}; known: {known_list}")
        c.HubApps[key] = value
    # Upstream's c.JAppsConfig names are aliases of c.HubApps traits (the settings passed here win).
    japps_applied = apply_jappsconfig(c, keep=set(settings))
    proxy_url_defaulted = "proxy_url" not in c.HubApps
    if proxy_url_defaulted:
        c.HubApps.proxy_url = _default_proxy_url(c)
    _resolve_origin_policy(c)
    hubapps = HubApps(config=c)
    if not hubapps.status_key:
        # Resolved once here, so the spawner mixin (in this process) and the service share it.
        c.HubApps.status_key = hubapps.status_key = _read_or_create_key(_status_key_path(c, hubapps))

    if spawner_class is None and "spawner_class" in c.JupyterHub:
        spawner_class = c.JupyterHub.spawner_class
    c.JupyterHub.spawner_class = make_spawner_class(_resolve_spawner_class(spawner_class))
    c.JupyterHub.allow_named_servers = True

    name = hubapps.service_name
    services = [s for s in _configured(c, "services") if s.get("name") != name]
    env = dict(hubapps.service_environment)
    crypt_key = _crypt_key(c)
    if crypt_key:
        # Managed services get none of the Hub's environment: the launcher encrypts secret env values.
        env[KEY_ENV] = crypt_key
    subdomain_host = _subdomain_host(c)
    # What install() works out from the rest of the Hub's configuration (read here, as before).
    extras = {
        "profiles": _profiles(c),
        "named_server_limit_per_user": _named_server_limit(c),
        "subdomain_host": subdomain_host,
        "conda_envs_from_hub": callable(hubapps.conda_envs),
    }
    # The theme (upstream's c.JupyterHub.template_vars keys), read again once the whole file has run.
    extras["theme"] = read_theme(c, quiet=True)
    env["HUBAPPS_SETTINGS"] = json.dumps({**hubapps.service_settings(), **extras})
    if subdomain_host:
        _host_prefix_cookies(c, subdomain_host)
    env[STATUS_KEY_ENV_VAR] = hubapps.status_key
    _internal_certs(c, env)
    refresh = _late_settings(c, hubapps, dict(env), extras, japps_applied, proxy_url_defaulted)
    services.append(
        _ServiceEntry(
            {
                "name": name,
                "display": False,
                "url": _service_url(c, hubapps.service_url),
                "command": [
                    hubapps.service_python or sys.executable,
                    "-m",
                    # uvicorn's command line, after giving the run a directory for the workers' metrics
                    "hubapps.service.serve",
                    # the service stops when the Hub is gone (hubapps.service.parent)
                    "--exit-with-parent",
                    "hubapps.service.app:create_app",
                    "--factory",
                    "--host",
                    hubapps.service_host,
                    "--port",
                    str(hubapps.service_port),
                    "--workers",
                    str(hubapps.service_workers),
                    "--no-server-header",
                    # Query strings can carry tokens (?token=...); the service logs what it needs itself.
                    "--no-access-log",
                ],
                # Brought up to date with c.HubApps when JupyterHub loads its config (see _ServiceEnvironment).
                "environment": _ServiceEnvironment(env, refresh),
                "oauth_no_confirm": hubapps.oauth_no_confirm,
                "oauth_client_allowed_scopes": [f"access:services!service={name}", *USER_TOKEN_SCOPES],
                "info": {"hubapps": True, "title": hubapps.title},
            },
            hubapps.service_url,
            c,
        )
    )
    c.JupyterHub.services = services
    # A callable conda_envs runs here, in the Hub, when the service asks for a user's names.
    install_conda_envs_handler(c)

    role_name = f"{name}-service"
    roles = [r for r in _configured(c, "load_roles") if r.get("name") != role_name]
    roles.append(
        {
            "name": role_name,
            "description": "The hubapps launcher service's own permissions (see hubapps.hub.install)",
            "scopes": service_role_scopes(),
            "services": [name],
        }
    )
    # Every user may use the launcher itself; sharing only when the admin says so.
    user_scopes = [f"access:services!service={name}"]
    if hubapps.grant_user_sharing and hubapps.allow_sharing:
        user_scopes += list(USER_SHARING_SCOPES)
        if hubapps.share_suggestions_from == "all":
            user_scopes += list(USER_LISTING_SCOPES)
    elif hubapps.grant_user_sharing:
        log.warning(
            "hubapps: grant_user_sharing is ignored: sharing is off (c.HubApps.allow_sharing; see docs/security.md)"
        )
    c.JupyterHub.load_roles = _with_user_scopes(roles, user_scopes)
    if hubapps.group_share_tokens:
        include_group_shares()  # JupyterHub leaves group shares out of tokens (see the module)
    if hubapps.home_page:
        install_home_page(c, hubapps)
        # A stopped public app explains itself to anonymous visitors (its page is a home-page template).
        install_public_not_running()
    # After services in c.JupyterHub (JupyterHub applies keys in that order): the service environment's
    # refresh then puts the launcher's variables back before template_vars is applied (restore_template_vars).
    if "template_vars" in c.JupyterHub:
        c.JupyterHub.template_vars = c.JupyterHub.pop("template_vars")
    return hubapps


_UNSET = object()


def _service_url(c: Config, url: str) -> str:
    """The service's URL as the Hub and its proxy reach it: ``https`` under ``internal_ssl``, where the
    service serves TLS with the certificate the Hub makes for it (:mod:`hubapps.service.serve`)."""
    if c.JupyterHub.get("internal_ssl", False) and url.startswith("http://"):
        return "https://" + url[len("http://") :]
    return url


def _internal_certs(c: Config, env: dict[str, str]) -> None:
    """Under ``internal_ssl``, tell the service where JupyterHub's certificate store is (it trusts the
    CA of the apps' proxies from there, for their reports); else make sure it is not told."""
    if c.JupyterHub.get("internal_ssl", False):
        env[SERVICE_CERTS_ENV_VAR] = os.path.abspath(c.JupyterHub.get("internal_certs_location", "internal-ssl"))
    else:
        env.pop(SERVICE_CERTS_ENV_VAR, None)


class _ServiceEntry(dict[str, Any]):
    """The launcher's entry in ``c.JupyterHub.services``, brought up to date when JupyterHub applies it.

    Like :class:`_ServiceEnvironment`: the deep copy JupyterHub takes has the URL for the final
    ``c.JupyterHub.internal_ssl`` (which configs often set after ``install(c)``), unless the file itself
    rewrote the URL.
    """

    def __init__(self, entry: dict[str, Any], url: str, c: Config) -> None:
        super().__init__(entry)
        self._written_url = entry["url"]
        self._url = url
        self._config = c

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        entry = {key: copy.deepcopy(value, memo) for key, value in self.items()}
        if entry.get("url") == self._written_url:
            entry["url"] = _service_url(self._config, self._url)
        if str(entry.get("url", "")).startswith("https:") and self._config.JupyterHub.get("internal_ssl", False):
            fix_service_checks()  # JupyterHub cannot check an https service by itself (see the module)
        return entry


class _ServiceEnvironment(dict[str, str]):
    """The launcher service's ``environment``, brought up to date when JupyterHub applies its config.

    ``install(c)`` runs in the middle of ``jupyterhub_config.py``: ``c.HubApps`` values set after it
    would never reach the service, whose settings travel as a string (``HUBAPPS_SETTINGS``; JupyterHub
    services' ``environment`` holds strings only). JupyterHub runs the whole file first, then applies
    ``c.JupyterHub.services`` to itself, and traitlets applies every config value as a deep copy
    (``Configurable._load_config``). So this dict is, until then, the environment as ``install()`` made
    it (what ``c.JupyterHub.services`` shows in the file), and its deep copy, the one JupyterHub starts
    the service with, is a plain dict made by ``refresh`` from the final ``c.HubApps``.
    """

    def __init__(self, env: dict[str, str], refresh: Callable[[dict[str, str]], dict[str, str]]) -> None:
        super().__init__(env)
        self._refresh = refresh

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, str]:
        return self._refresh(dict(self))


def _late_settings(
    c: Config,
    installed: HubApps,
    written: dict[str, str],
    extras: dict[str, Any],
    japps_applied: dict[str, Any] | None = None,
    proxy_url_defaulted: bool = False,
) -> Callable[[dict[str, str]], dict[str, str]]:
    """The service's environment from ``c.HubApps`` as the whole ``jupyterhub_config.py`` left it.

    Settings tagged ``install=True`` were turned into the Hub's own configuration by ``install()``
    (the service's command line and OAuth client, roles, the Hub's pages): a later change to one of
    them cannot be followed, and stops the Hub with an error that names it. A ``HUBAPPS_SETTINGS`` or
    status key that the config file itself rewrote after ``install()`` is kept as it wrote it. A
    ``proxy_url`` that ``install()`` derived (the admin set none) is derived again from the Hub's URL
    settings as the file left them (``bind_url``, ``ssl_cert``, ... set after ``install()``).
    """

    # What c.HubApps held when install() applied it (the names the admin wrote, not values derived
    # from them: a later service_port is named as such, not as the service_url it changes).
    applied = copy.deepcopy(dict(c.HubApps))

    def refresh(env: dict[str, str]) -> dict[str, str]:
        # c.JAppsConfig values the file set after install_jhub_apps(c) (upstream's configs do).
        apply_jappsconfig(c, japps_applied or {})
        if proxy_url_defaulted and c.HubApps.get("proxy_url", None) == applied.get("proxy_url"):
            c.HubApps.proxy_url = _default_proxy_url(c)
        _resolve_origin_policy(c, only_changed_from=installed)
        final = HubApps(config=c)
        extras["conda_envs_from_hub"] = callable(final.conda_envs)
        late = [
            name
            for name in sorted(HubApps.class_trait_names(install=True))
            if c.HubApps.get(name, _UNSET) != applied.get(name, _UNSET)
        ]
        if final.grant_user_sharing and final.allow_sharing != installed.allow_sharing:
            late.append("allow_sharing")  # install() granted the sharing scopes by the old value
        if late:
            names = ", ".join(f"c.HubApps.{name}" for name in late)
            raise ValueError(
                f"{names} set in jupyterhub_config.py after hubapps.install(c), which applied "
                f"{'it' if len(late) == 1 else 'them'} at once (the launcher service's command line, "
                f"OAuth client, roles or the Hub's pages): set {'it' if len(late) == 1 else 'them'} "
                f"before install(c), or pass {'it' if len(late) == 1 else 'them'} to install(c, ...)"
            )
        theme = read_theme(c)  # the file may have set template_vars after install() (upstream's configs do)
        if final.home_page:
            restore_template_vars(c, final, theme)
        if env.get("HUBAPPS_SETTINGS") == written["HUBAPPS_SETTINGS"]:
            env["HUBAPPS_SETTINGS"] = json.dumps({**final.service_settings(), **extras, "theme": theme})
        _internal_certs(c, env)
        if env.get(STATUS_KEY_ENV_VAR) == written[STATUS_KEY_ENV_VAR] and final.status_key:
            env[STATUS_KEY_ENV_VAR] = final.status_key
        return env

    return refresh


#: What turning on public apps or sharing without ``subdomain_host`` risks (logged at every Hub start).
SAME_ORIGIN_RISK = (
    "apps are served on the Hub's own origin (c.JupyterHub.subdomain_host is not set), so an app's "
    "scripts run as whoever opens it, logged in to the Hub: a hostile app can act as its visitors "
    "(read and change their apps, call the Hub's API) wherever the browser lets a same-origin script. "
    "Set c.JupyterHub.subdomain_host to give each user's apps their own origin (see docs/security.md, "
    '"Origin isolation").'
)


def _resolve_origin_policy(c: Config, only_changed_from: HubApps | None = None) -> None:
    """Public apps and sharing: on by default only when each user's servers have their own origin.

    Unset (None) becomes ``bool(c.JupyterHub.subdomain_host)``; an explicit True without subdomains is
    kept, with a warning that says what it risks. ``only_changed_from``: the settings ``install()``
    resolved; only values set since then are resolved (and warned about) again.
    """
    subdomains = bool(_subdomain_host(c))
    for trait, what in (("allow_public_apps", "public apps are"), ("allow_sharing", "sharing is")):
        value = c.HubApps.get(trait, None)
        if only_changed_from is not None and value == getattr(only_changed_from, trait):
            continue
        if value is None:
            c.HubApps[trait] = subdomains
        elif value and not subdomains:
            log.warning("hubapps: %s turned on (c.HubApps.%s = True) although %s", what, trait, SAME_ORIGIN_RISK)


def _subdomain_host(c: Config) -> str:
    """``c.JupyterHub.subdomain_host`` as JupyterHub reads it (``https://`` added when it has no scheme)."""
    value = c.JupyterHub.get("subdomain_host", None)
    if not isinstance(value, str) or not value:
        return ""
    return value if "://" in value else "https://" + value


def _host_prefix_cookies(c: Config, subdomain_host: str) -> None:
    """Under an https ``subdomain_host``, JupyterHub's ``__Host-`` cookies (``cookie_host_prefix_enabled``)
    unless the admin chose: an app on ``<user>.<domain>`` can then toss no login cookie onto the Hub
    or another user's servers (browsers refuse ``__Host-`` cookies with a ``Domain``)."""
    if "cookie_host_prefix_enabled" in c.JupyterHub:
        if not c.JupyterHub.cookie_host_prefix_enabled and subdomain_host.startswith("https:"):
            log.warning(
                "hubapps: subdomain_host is https but c.JupyterHub.cookie_host_prefix_enabled = False: an app "
                "on a user's subdomain can set login cookies for the whole domain (cookie tossing); "
                "set it to True (docs/security.md, Origin isolation)"
            )
        return
    if subdomain_host.startswith("https:"):
        c.JupyterHub.cookie_host_prefix_enabled = True
        log.info("hubapps: subdomain_host is https: c.JupyterHub.cookie_host_prefix_enabled = True (__Host- cookies)")
    else:
        log.warning(
            "hubapps: subdomain_host is plain http: login cookies cannot be __Host- cookies, so an app on a "
            "user's subdomain can set cookies for the whole domain (cookie tossing); use https "
            "(docs/security.md, Origin isolation)"
        )


def _with_user_scopes(roles: list[dict[str, Any]], added: list[str]) -> list[dict[str, Any]]:
    """Add scopes to JupyterHub's ``user`` role, keeping whatever the admin put in it.

    Roles apply to all users only through the ``user`` role, so this is the one place to grant them.
    An admin who defines the ``user`` role after calling ``install()`` must include these scopes.
    """
    out = [dict(r) for r in roles]
    user_role = next((r for r in out if r.get("name") == "user"), None)
    if user_role is None:
        user_role = {"name": "user", "description": "Standard user privileges, and using the app launcher"}
        out.append(user_role)
    scopes = list(user_role.get("scopes") or ["self"])
    scopes += [s for s in added if s not in scopes]
    user_role["scopes"] = scopes
    return out


def _crypt_key(c: Config) -> str:
    """The Hub's encryption keys as ``JUPYTERHUB_CRYPT_KEY`` holds them (``;``-separated, first encrypts).

    From the Hub's environment, or from ``c.CryptKeeper.keys`` when the admin set them (before
    ``install()``) in the config instead.
    """
    configured = c.CryptKeeper.get("keys", None) if "CryptKeeper" in c else None
    if isinstance(configured, list) and configured:
        return ";".join(_key_text(k) for k in configured)
    return os.environ.get(KEY_ENV, "")


def _key_text(key: object) -> str:
    if isinstance(key, bytes):
        return key.hex() if len(key) == 32 else key.decode("ascii")  # raw, or already hex/base64
    return str(key)


def _named_server_limit(c: Config) -> int:
    """JupyterHub's ``named_server_limit_per_user`` when it is a number set before ``install()``; else 0
    (the Hub still applies it, with its own message)."""
    value = c.JupyterHub.get("named_server_limit_per_user", 0)
    return value if isinstance(value, int) and value > 0 else 0


def _profiles(c: Config) -> list[dict[str, str]]:
    """KubeSpawner profiles (a static list) as the service offers them; a callable list stays Hub-side."""
    profiles = c.KubeSpawner.get("profile_list", None) if "KubeSpawner" in c else None
    if not isinstance(profiles, list):
        return []
    out = []
    for profile in profiles:
        if isinstance(profile, dict) and profile.get("slug"):
            out.append(
                {
                    "slug": str(profile["slug"]),
                    "display_name": str(profile.get("display_name", profile["slug"])),
                    "description": str(profile.get("description", "")),
                }
            )
    return out


def _status_key_path(c: Config, hubapps: HubApps) -> Path:
    """``status_key_file``; a relative one next to the Hub's cookie secret file (else in the Hub's folder)."""
    path = Path(hubapps.status_key_file).expanduser()
    if path.is_absolute():
        return path
    cookie_file = c.JupyterHub.get("cookie_secret_file", None)
    if isinstance(cookie_file, str) and cookie_file:
        return Path(cookie_file).expanduser().parent / path
    return Path.cwd() / path


def _read_or_create_key(path: Path) -> str:
    """The hex key in ``path``; a new random one, written with mode 0600, if the file does not exist.

    Like JupyterHub's cookie secret file, a file others may read is refused.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            raise ValueError(f"{path} is readable by other users; make it private (chmod 600)") from None
        value = path.read_text().strip().lower()
        if len(value) < 64 or any(ch not in "0123456789abcdef" for ch in value) or len(value) % 2:
            raise ValueError(f"{path} does not hold a hex status key of at least 32 bytes") from None
        return value
    value = secrets.token_hex(32)
    with os.fdopen(fd, "w") as file:
        file.write(value + "\n")
    log.info("hubapps: wrote a new status key to %s", path)
    return value


def _default_proxy_url(c: Config) -> str:
    """Where the service reaches apps: the Hub's public proxy, from ``bind_url`` (or ip/port/base_url)."""
    hub = c.JupyterHub
    bind_url = hub.get("bind_url", None)
    if not isinstance(bind_url, str) or not bind_url:
        ip = hub.get("ip", None)
        port = hub.get("port", None)
        base_url = hub.get("base_url", None)
        bind_url = f"http://{ip if isinstance(ip, str) else ''}:{port if isinstance(port, int) else 8000}"
        bind_url += base_url if isinstance(base_url, str) else "/"
    parts = urlsplit(bind_url)
    host = parts.hostname or ""
    if host in {"", "0.0.0.0", "::", "*"}:
        host = "127.0.0.1"
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:
        netloc += f":{parts.port}"
    scheme = parts.scheme or "http"
    if scheme == "http" and hub.get("ssl_cert", None):
        scheme = "https"  # as JupyterHub reads its bind_url when the proxy has a certificate
    return urlunsplit((scheme, netloc, "", "", "")).rstrip("/")
