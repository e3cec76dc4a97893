"""The spawner mixin: the authoritative validator of launch specs.

Users can call the Hub REST API directly with any ``user_options``, so nothing the launcher service
checked can be trusted here. On **every** start of a named server whose options describe an app,
the mixin re-validates the spec against the admin's current settings and alone turns it into the
command: ``hubapps-proxy <options> -- <framework argv>``, or ``jupyterhub-singleuser`` for
JupyterLab apps. A spec that fails is refused with HTTP 400 before any process starts.

The mixin only overrides ``start``, ``get_args`` and ``get_env``, which every spawner has, so it
works with whatever class the admin names (Simple/LocalProcess, Systemd, Kube, Batch...).

Secret environment values (``secret_env``) are decrypted here, and only here, at start, with the
Hub's own key (:mod:`jupyterhub.crypto`); the plain text goes into the app's environment and
nowhere else. Options stored for a later start (JupyterHub 6 ``PUT``/``PATCH``) are checked when
they are written, so plain text posted as a secret is refused with 400 and never stored.
"""

from __future__ import annotations

import functools
import json
import weakref
from dataclasses import replace
from pathlib import Path
from typing import Any

from jupyterhub import __version__ as jupyterhub_version
from jupyterhub.crypto import KEY_ENV, CryptKeeper, InvalidToken
from tornado import web

from hubapps.core.command import LaunchContext, build_command, proxy_options
from hubapps.core.errors import SpecError
from hubapps.core.frameworks import Framework, FrameworkRegistry
from hubapps.core.gitproject import GIT_AUTH_ENV_VAR
from hubapps.core.limits import LimitReached, check_limits, count_servers, server_facts
from hubapps.core.policy import SpecPolicy
from hubapps.core.proxy_env import APP_ENV_VAR
from hubapps.core.reports import REPORT_CA_ENV_VAR, SERVERS_CA
from hubapps.core.secret_env import REPOSITORY_TOKEN, open_payload
from hubapps.core.spec import AppSpec, is_app_options, is_sealed_value, parse_user_options
from hubapps.core.statuskey import APP_KEY_ENV_VAR, DEFAULT_MAX_SKEW, STATUS_KEY_ENV_VAR, app_key
from hubapps.hub.batch import BatchSpawnerAppsMixin, is_batch_spawner
from hubapps.hub.config import HubApps
from hubapps.hub.kube import KubeSecretEnvMixin, is_kube_spawner
from hubapps.hub.metrics import APP_FAILURES, APP_STARTS
from hubapps.hub.systemd import SystemdUnitPerServerMixin, is_systemd_spawner

__all__ = [
    "GIT_AUTH_ENV_VAR",
    "NO_KEY_MESSAGE",
    "HubAppsSpawnerMixin",
    "install_user_options_checks",
    "make_spawner_class",
    "open_repository_token",
    "open_secret_env",
]


NO_KEY_MESSAGE = (
    f"this Hub has no encryption key, so it cannot hold secret values: set {KEY_ENV} in the Hub's "
    f"environment (e.g. `export {KEY_ENV}=$(openssl rand -hex 32)`) and restart the Hub"
)


def open_secret_env(spec: AppSpec, owner: str, keeper: CryptKeeper | None = None) -> dict[str, str]:
    """Decrypt ``spec.secret_env`` (made for ``owner``) with the Hub's key; SpecError naming the
    variable when a value is not a ciphertext of this Hub for this owner and variable."""
    if not spec.secret_env:
        return {}
    keeper = keeper or CryptKeeper.instance()
    if keeper.fernet is None:  # no key (or no cryptography library)
        raise SpecError("secret_env", NO_KEY_MESSAGE)
    values: dict[str, str] = {}
    for name, token in spec.secret_env.items():
        try:
            data = json.loads(keeper.fernet.decrypt(token.encode("ascii")))
        except (InvalidToken, ValueError):
            raise SpecError(
                "secret_env",
                f"the value of {name!r} was not encrypted with this Hub's key ({KEY_ENV}); "
                "save it again through the app launcher",
            ) from None
        values[name] = open_payload(data, owner=owner, name=name)
    return values


def open_repository_token(spec: AppSpec, owner: str, keeper: CryptKeeper | None = None) -> str:
    """The plain token of the app's private repository ("" without one), decrypted with the Hub's key;
    SpecError when it was not sealed by this Hub for ``owner``."""
    sealed = spec.repository.secret_token if spec.repository is not None else ""
    if not sealed:
        return ""
    keeper = keeper or CryptKeeper.instance()
    if keeper.fernet is None:
        raise SpecError("repository", NO_KEY_MESSAGE)
    try:
        data = json.loads(keeper.fernet.decrypt(sealed.encode("ascii")))
    except (InvalidToken, ValueError):
        raise SpecError(
            "repository",
            f"the repository's token was not encrypted with this Hub's key ({KEY_ENV}); save it again",
        ) from None
    return open_payload(data, owner=owner, name=REPOSITORY_TOKEN)


# Spawner wrappers by the id of their database row, to keep their user_options in step (see below).
_WRAPPERS: weakref.WeakValueDictionary[int, HubAppsSpawnerMixin] = weakref.WeakValueDictionary()
_SYNC_INSTALLED = False


def _on_user_options_set(target: Any, value: Any, oldvalue: Any, initiator: Any) -> Any:
    """Check ``user_options`` written to a Spawner's database row, and copy them onto its stopped wrapper.

    Options stored for a later start (JupyterHub 6 ``PUT`` and ``PATCH`` of a stopped server: the row
    has no server) are validated now, secrets decrypted to prove they are ciphertext, and refused
    with 400. Options saved by a start are validated by ``apply_user_options`` and ``start``; the
    copy kept in the database loses any secret entry that is not even shaped like ciphertext.

    JupyterHub 6's ``PATCH /users/{u}/servers/{s}`` writes the new options to the database row only,
    so the in-memory Spawner, which the REST API reads, keeps showing the old ones until the Hub
    restarts (starts do use the new ones). Editing a stopped app is exactly that PATCH.
    """
    wrapper = _WRAPPERS.get(id(target))
    if is_app_options(value):
        if getattr(target, "server", None) is None:
            _refuse_bad_options(target, wrapper, value, oldvalue)
        else:
            value = _without_plain_secrets(value)
    if wrapper is not None and getattr(wrapper, "orm_spawner", None) is target and not getattr(wrapper, "active", True):
        wrapper.user_options = dict(value or {})  # type: ignore[attr-defined]
    return value


def _refuse_bad_options(target: Any, wrapper: Any, value: Any, oldvalue: Any) -> None:
    user = getattr(target, "user", None)
    try:
        spec = parse_user_options(value)
        open_secret_env(spec, str(getattr(user, "name", "")))
        open_repository_token(spec, str(getattr(user, "name", "")))
        if spec.public and wrapper is not None:
            # A public spec stored through the Hub API would reach the gallery at the owner's next listing.
            others = [
                server_facts(str(s.name), s.user_options, pending=None, ready=False)
                for s in getattr(user, "_orm_spawners", ())
                if s is not target
            ]
            check_limits(
                wrapper.hubapps.user_limits(admin=bool(getattr(user, "admin", False))),
                count_servers(others),
                public=True,
            )
    except (SpecError, LimitReached) as exc:
        if wrapper is not None and getattr(wrapper, "user_options", None) == value:
            # JupyterHub's PUT sets the wrapper's options first: put them back.
            wrapper.user_options = dict(oldvalue) if isinstance(oldvalue, dict) else {}
        if isinstance(exc, LimitReached):
            raise web.HTTPError(409, "%s", exc.message) from None
        raise web.HTTPError(400, "%s", f"Invalid app spec: {exc}") from None


def _without_plain_secrets(options: dict[str, Any]) -> dict[str, Any]:
    secret_env = options.get("secret_env")
    if not isinstance(secret_env, dict):
        return options
    kept = {k: v for k, v in secret_env.items() if isinstance(v, str) and is_sealed_value(v)}
    return options if len(kept) == len(secret_env) else {**options, "secret_env": kept}


def install_user_options_checks() -> None:
    """Watch every write of ``orm.Spawner.user_options`` (see :func:`_on_user_options_set`); idempotent."""
    global _SYNC_INSTALLED
    if _SYNC_INSTALLED:
        return
    from jupyterhub import orm
    from sqlalchemy import event

    event.listen(orm.Spawner.user_options, "set", _on_user_options_set, retval=True)
    _SYNC_INSTALLED = True


#: Variables that hold the Hub's or the launcher's keys: removed from every server's environment.
_HUB_ONLY_ENV = (KEY_ENV, STATUS_KEY_ENV_VAR, APP_KEY_ENV_VAR, GIT_AUTH_ENV_VAR)


class HubAppsSpawnerMixin:
    """Mix into any JupyterHub Spawner class (first in the bases) to run hubapps apps."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        orm_spawner = getattr(self, "orm_spawner", None)
        if orm_spawner is not None:
            install_user_options_checks()
            _WRAPPERS[id(orm_spawner)] = self

    # Set for the duration of one start; None means "not an app, behave like the base class".
    _hubapps_args: list[str] | None = None
    _hubapps_env: dict[str, str] | None = None
    _hubapps_env_for_proxy: bool = True
    #: The app's repository token for this start (for the proxy's clone only), or "".
    _hubapps_git_token: str = ""
    #: A JupyterLab app's secret variables (for this start): plain in its environment, by these names.
    _hubapps_plain_secret_names: frozenset[str] = frozenset()
    #: The admin's command, kept at the first start: a list, or None where the spawner runs the image's
    #: own command (KubeSpawner's default).
    _hubapps_base_cmd: list[str] | None = None
    _hubapps_base_cmd_saved: bool = False
    _hubapps_registry: FrameworkRegistry | None = None
    _hubapps_settings: HubApps | None = None
    #: The framework of the app being started or running (None: not an app), for the Hub's metrics;
    #: and whether its failure was counted already.
    _hubapps_framework: str | None = None
    _hubapps_failure_counted: bool = False

    def _apply_user_options_default(self) -> Any:
        """Validate app specs when JupyterHub applies user options (5.3+), before ``start``.

        JupyterHub turns a failure here into HTTP 400 for the request that started the server. An admin's
        own ``apply_user_options`` replaces this hook; ``start`` validates again in any case. (The
        ``_<trait>_default`` name is how traitlets finds a default defined on a plain mixin.)
        """

        def apply(spawner: HubAppsSpawnerMixin, options: Any) -> None:
            if is_app_options(options) or spawner._hubapps_plain_server_refused():
                spawner._hubapps_prepare()
            elif options:
                spawner.log.warning(  # type: ignore[attr-defined]
                    "Received unhandled user_options for %s: %s",
                    spawner._log_name,  # type: ignore[attr-defined]
                    ", ".join(str(k)[:50] for k in list(options)[:20]),
                )

        return apply

    @property
    def hubapps(self) -> HubApps:
        """The admin's settings (read once per spawner: the Hub's config does not change while it runs)."""
        if self._hubapps_settings is None:
            self._hubapps_settings = HubApps(config=self.config)  # type: ignore[attr-defined]
        return self._hubapps_settings

    def hubapps_policy(self) -> SpecPolicy:
        """What this Hub allows: enabled frameworks, public apps, environments, this spawner's profiles."""
        settings = self.hubapps
        registry = type(self)._hubapps_registry
        if registry is None:
            registry = type(self)._hubapps_registry = FrameworkRegistry.load()
        profiles = getattr(self, "profile_list", None)
        return SpecPolicy(
            frameworks=registry.enabled(settings.allowed_frameworks, settings.blocked_frameworks),
            allow_public=bool(settings.allow_public_apps),
            # A callable conda_envs decides per user, in the launcher: the name must then be an
            # environment where the app runs, or its start fails there.
            environments=None
            if callable(settings.conda_envs)
            else frozenset({*settings.environments, *settings.conda_envs}),
            # A callable profile_list is resolved by KubeSpawner at start, which rejects unknown slugs itself.
            profiles=None
            if callable(profiles)
            else frozenset(str(p.get("slug")) for p in profiles or () if isinstance(p, dict) and p.get("slug")),
        )

    def hubapps_validate(self, options: object) -> tuple[AppSpec, Framework]:
        """Check a spec against the rules and this Hub's settings; raise SpecError if it breaks one.

        The spec returned has its secrets decrypted into ``env`` (so every rule on env names applies
        to them too): it is for this start only, never to be stored or logged.
        """
        spec = parse_user_options(options)
        if spec.secret_env:
            owner = str(self.user.name)  # type: ignore[attr-defined]
            spec = spec.with_secret_values(open_secret_env(spec, owner))
        return spec, self.hubapps_policy().check(spec)

    def _hubapps_plain_server_refused(self) -> bool:
        """A named server without an app spec is a plain JupyterLab: refused when the admin turned
        the ``jupyterlab`` framework off (the default server is not an app and always starts)."""
        return bool(self.name) and "jupyterlab" not in self.hubapps_policy().frameworks  # type: ignore[attr-defined]

    def _hubapps_prepare(self) -> None:
        """Work out the command for this start, or reset to the base behaviour for non-apps."""
        spawner: Any = self
        if not self._hubapps_base_cmd_saved:
            self._hubapps_base_cmd = None if spawner.cmd is None else list(spawner.cmd)
            self._hubapps_base_cmd_saved = True
        self._hubapps_args = self._hubapps_env = None
        self._hubapps_git_token = ""
        self._hubapps_plain_secret_names = frozenset()
        self._hubapps_framework = None
        spawner.cmd = None if self._hubapps_base_cmd is None else list(self._hubapps_base_cmd)
        options = self.user_options  # type: ignore[attr-defined]
        if not is_app_options(options):
            if self._hubapps_plain_server_refused():
                self.log.warning("Refusing plain named server %s: jupyterlab is not enabled", self._log_name)  # type: ignore[attr-defined]
                raise web.HTTPError(
                    400,
                    "%s",
                    "Named servers on this Hub run apps: plain JupyterLab servers are turned off by the admin "
                    "(the jupyterlab framework is not enabled). Start your default server instead.",
                )
            return
        name: str = self.name  # type: ignore[attr-defined]
        if not name:
            raise web.HTTPError(400, "%s", "Apps run as named servers, not as the default server.")
        try:
            spec, framework = self.hubapps_validate(options)
            settings = self.hubapps
            context = LaunchContext(prefix=self.server.base_url, server_name=name)  # type: ignore[attr-defined]
            argv, env = build_command(spec, framework, context)
            # JupyterLab apps clone nothing; a proxy app's token is for its proxy's clone only.
            owner = str(self.user.name)  # type: ignore[attr-defined]
            git_token = "" if framework.singleuser else open_repository_token(spec, owner)
        except SpecError as exc:
            APP_STARTS.labels(_framework_label(options, self.hubapps_policy().frameworks), "refused").inc()
            log_name = self._log_name  # type: ignore[attr-defined]
            self.log.warning("Refusing to start app %s: %s", log_name, str(exc)[:300])  # type: ignore[attr-defined]
            # The Hub shows these options (in memory) until the next start: never plain text as a secret.
            spawner.user_options = _without_plain_secrets(options)
            raise web.HTTPError(400, "%s", f"Invalid app spec: {exc}") from None
        self._hubapps_framework = framework.name
        self._hubapps_check_limits(spec)
        if framework.singleuser:
            # jupyterhub-singleuser does its own Hub OAuth; it runs as the admin configured it.
            self._hubapps_args = argv[1:]
            self._hubapps_env = env
            self._hubapps_env_for_proxy = False
            self._hubapps_plain_secret_names = frozenset(options.get("secret_env") or ())
            return
        env_prefix = settings.environments.get(spec.python_env, "")
        options_ = proxy_options(
            spec, framework, context, env_prefix=env_prefix, conda_env_dirs=tuple(settings.conda_env_dirs)
        )
        if settings.ready_timeout > 0:
            options_ = replace(options_, ready_timeout=settings.ready_timeout)
        options_ = replace(
            options_,
            auth_cache_max_age=settings.auth_cache_max_age,
            websocket_max_age=settings.websocket_max_age,
            hub_version=jupyterhub_version,  # the proxy sends it as X-JupyterHub-Version (it imports no jupyterhub)
            launcher_url=self._hubapps_launcher_url(),
            report_url=self._hubapps_report_url(),
        )
        spawner.cmd = settings.proxy_command_for(type(self))
        extra_options = []
        if settings.status_max_skew != DEFAULT_MAX_SKEW:
            extra_options.append(f"--status-max-skew={settings.status_max_skew:g}")
        extra_options += [f"--{name}={value!r}" for name, value in settings.proxy_limits.items()]
        extra_options += self._hubapps_extra_proxy_options()
        self._hubapps_args = [*options_.to_argv(), *extra_options, "--", *argv]
        self._hubapps_env = env
        self._hubapps_env_for_proxy = True
        self._hubapps_git_token = git_token

    def _hubapps_extra_proxy_options(self) -> list[str]:
        """Proxy options this kind of spawner needs (see :mod:`hubapps.hub.batch`); none by default."""
        return []

    def _hubapps_launcher_url(self) -> str:
        """Where the launcher service is, as the Hub made it (``Service.prefix``, on ``Service.host`` when
        it has a host of its own under ``subdomain_host``); the app's failure page links back there."""
        name = self.hubapps.service_name
        settings = getattr(getattr(self, "user", None), "settings", None)
        services = settings.get("services") if isinstance(settings, dict) else None
        service = services.get(name) if isinstance(services, dict) else None
        prefix = getattr(service, "prefix", "") if service is not None else ""
        if isinstance(prefix, str) and prefix.startswith("/"):
            return str(getattr(service, "host", "") or "") + prefix
        hub: Any = getattr(self, "hub", None)
        hub_base = str(getattr(hub, "base_url", "") or "/hub/")
        base = hub_base[: -len("hub/")] if hub_base.endswith("hub/") else "/"
        return f"{base}services/{name}/"

    def _hubapps_report_url(self) -> str:
        """Where the app's proxy sends its reports (:mod:`hubapps.core.reports`): ``report_url`` if the
        admin set it, else the launcher service's own URL and prefix as the Hub has them (``Service.url``,
        where the Hub's proxy sends ``Service.prefix``); "" when the Hub knows no URL (no reports)."""
        configured = self.hubapps.report_url
        if configured:
            return configured if configured.endswith("/") else configured + "/"
        settings = getattr(getattr(self, "user", None), "settings", None)
        services = settings.get("services") if isinstance(settings, dict) else None
        service = services.get(self.hubapps.service_name) if isinstance(services, dict) else None
        url = getattr(service, "url", "") if service is not None else ""
        prefix = getattr(service, "prefix", "") if service is not None else ""
        if not (isinstance(url, str) and url.startswith(("http://", "https://"))):
            return ""
        if not (isinstance(prefix, str) and prefix.startswith("/")):
            return ""
        return url.rstrip("/") + prefix if prefix.endswith("/") else url.rstrip("/") + prefix + "/"

    def _hubapps_check_limits(self, spec: AppSpec) -> None:
        """The owner's running-apps and public-apps limits, at every start of an app (HTTP 409).

        The Hub is one process and this runs without yielding, so two starts cannot both pass: a start
        in progress (``pending == "spawn"``) already counts as running for the next one.
        """
        user: Any = self.user  # type: ignore[attr-defined]
        spawners = getattr(user, "spawners", {})
        others = []
        for name, orm_spawner in getattr(user, "orm_spawners", {}).items():
            live = spawners.get(name)
            others.append(
                server_facts(
                    str(name),
                    orm_spawner.user_options,
                    pending=live.pending if live is not None else None,
                    ready=live.ready if live is not None else orm_spawner.server is not None,
                )
            )
        try:
            check_limits(
                self.hubapps.user_limits(admin=bool(getattr(user, "admin", False))),
                count_servers(others, exclude=self.name),  # type: ignore[attr-defined]
                public=spec.public,
                running=True,
            )
        except LimitReached as exc:
            self.log.warning("Refusing to start app %s: %s", self._log_name, exc.message)  # type: ignore[attr-defined]
            raise web.HTTPError(409, "%s", exc.message) from None

    async def start(self) -> Any:
        try:
            self._hubapps_prepare()
        except web.HTTPError:
            if self._hubapps_framework is not None:  # (a bad spec was counted where it was refused)
                APP_STARTS.labels(self._hubapps_framework, "refused").inc()
            raise
        framework = self._hubapps_framework
        self._hubapps_failure_counted = False
        try:
            started = await super().start()  # type: ignore[misc]
        except BaseException:
            if framework is not None:
                APP_STARTS.labels(framework, "failed").inc()
            raise
        if framework is not None:
            APP_STARTS.labels(framework, "started").inc()
        return started

    async def poll(self) -> Any:
        """The base class's poll; an app's server that ended with an error exit is counted as failed once."""
        status = await super().poll()  # type: ignore[misc]
        framework = self._hubapps_framework
        if framework is not None and status not in (None, 0) and not self._hubapps_failure_counted:
            self._hubapps_failure_counted = True
            APP_FAILURES.labels(framework).inc()
        return status

    def get_args(self) -> list[str]:
        if self._hubapps_args is None:
            return list(super().get_args())  # type: ignore[misc]
        args = [self._hubapps_literal_arg(arg) for arg in self._hubapps_args]
        if self._hubapps_env_for_proxy:
            # The admin's Spawner.args are singleuser options; they mean nothing to the proxy.
            return args
        return [*super().get_args(), *args]  # type: ignore[misc]

    def _hubapps_literal_arg(self, arg: str) -> str:
        """An argument of the app's command as the base spawner must be given it to pass it on unchanged
        (a spawner that expands templates in its args escapes them here)."""
        return arg

    def get_env(self) -> dict[str, str]:
        env: dict[str, str] = super().get_env()  # type: ignore[misc]
        # The Hub's keys never reach a server, whatever env_keep or environment say (the app key: only
        # ever the one set below).
        for name in _HUB_ONLY_ENV:
            env.pop(name, None)
        if self._hubapps_env is not None:
            if self._hubapps_env_for_proxy:
                env[APP_ENV_VAR] = json.dumps(self._hubapps_env)
                key = self._hubapps_status_app_key()
                if key:
                    env[APP_KEY_ENV_VAR] = key
                if self._hubapps_git_token:
                    # Read by the proxy alone, for its clone; it never passes it to the app.
                    env[GIT_AUTH_ENV_VAR] = self._hubapps_git_token
                report_ca = self._hubapps_report_ca()
                if report_ca:
                    env[REPORT_CA_ENV_VAR] = report_ca
            else:
                env.update(self._hubapps_env)
        return env

    def _hubapps_report_ca(self) -> str:
        """Under ``internal_ssl``, the CA of the service's certificate (PEM), for the proxy's reports.

        JupyterHub signs every server's certificate, the launcher service's included, with one CA, which
        its trust bundle for servers leaves out (servers never call each other): the proxy trusts it for
        its reports to the service alone. "" without ``internal_ssl``, or when the reports go elsewhere.
        """
        if not getattr(self, "internal_ssl", False) or not self._hubapps_report_url().startswith("https:"):
            return ""
        return _servers_ca_pem(str(getattr(self, "internal_certs_location", "")))

    def _hubapps_status_app_key(self) -> str:
        """This app's own status key (hex): signed status requests of the launcher, for this server only.

        The proxy alone reads it (it removes it from the app's environment); a server that is not a
        hubapps-proxy app (JupyterLab, the default server) never gets one, so the service never calls it.
        """
        key = self.hubapps.status_key
        owner = getattr(getattr(self, "user", None), "name", "")
        if not key or not owner:
            return ""
        return app_key(bytes.fromhex(key), str(owner), str(self.name)).hex()  # type: ignore[attr-defined]


@functools.lru_cache(maxsize=4)
def _servers_ca_pem(certs_location: str) -> str:
    """The certificate of the CA that signs servers' certificates, from JupyterHub's certificate store
    (made when the Hub started; read once per Hub process)."""
    from certipy import Certipy  # JupyterHub's own, which made the store

    record = Certipy(store_dir=certs_location).store.get_record(SERVERS_CA)
    return Path(record["files"]["cert"]).read_text()


def _framework_label(options: object, frameworks: FrameworkRegistry) -> str:
    """The framework an app spec names, as a metrics label: an allowed one, else ``other``."""
    name = options.get("framework") if isinstance(options, dict) else None
    return name if isinstance(name, str) and name in frameworks else "other"


def make_spawner_class(base: type) -> type:
    """Return ``base`` with the hubapps mixin in front (idempotent); batchspawner's spawners also get
    :class:`~hubapps.hub.batch.BatchSpawnerAppsMixin`, a KubeSpawner
    :class:`~hubapps.hub.kube.KubeSecretEnvMixin` (credentials in a Secret, not in the pod spec), a
    SystemdSpawner :class:`~hubapps.hub.systemd.SystemdUnitPerServerMixin` (a unit per named server)."""
    if issubclass(base, HubAppsSpawnerMixin):
        return base
    bases: tuple[type, ...] = (HubAppsSpawnerMixin, base)
    if is_batch_spawner(base) and not issubclass(base, BatchSpawnerAppsMixin):
        bases = (BatchSpawnerAppsMixin, *bases)
    if is_kube_spawner(base):
        bases = (KubeSecretEnvMixin, *bases)
    if is_systemd_spawner(base):
        bases = (SystemdUnitPerServerMixin, *bases)
    return type(f"HubApps{base.__name__}", bases, {"__module__": __name__})
