"""Admin settings, declared once as traitlets (``c.HubApps.*`` in ``jupyterhub_config.py``).

Pure declarations (traitlets only), shared by the Hub side (:class:`hubapps.hub.config.HubApps`) and
the launcher service, whose settings model is generated from them (:mod:`hubapps.service.settings`).

The service and the proxy never re-read ``jupyterhub_config.py``: :meth:`AdminSettings.service_settings`
is the JSON the Hub hands the service in its environment.

Each admin setting is declared here once. Metadata tags say where it goes:

- ``service=True``: the launcher service reads it; :class:`hubapps.service.settings.ServiceSettings`
  has a field of that name generated from the trait (type, default, bounds), and
  :meth:`AdminSettings.service_settings` passes it on. ``service_type`` / ``to_service`` name the field's
  type and the conversion when the service needs another form than the trait's (``environments``: a
  mapping here, the list of names there).
- ``gt=`` / ``ge=``: the bound, checked here (:func:`hubapps.core.service_limits.check_bound`) and by the
  service's field.
- ``install=True``: applied by ``hubapps.install()`` at once (the service's command line, its OAuth
  client, the Hub's roles and pages); a value set in ``jupyterhub_config.py`` after ``install()``
  stops the Hub at start with an error naming it (see :mod:`hubapps.hub.install`).
"""

from __future__ import annotations

import copy
import re
from typing import Any, Literal

from traitlets import Bool, Callable, Dict, Enum, Float, Integer, List, TraitType, Unicode, Union, default, validate

from hubapps.core.limits import UserLimits
from hubapps.core.service_limits import ServiceLimits, bounded, check_bound

__all__ = ["AdminSettings", "service_value"]

_SERVICE_NAME = re.compile(r"[a-z][a-z0-9-]{0,62}")
#: Git transports an admin may allow the service to clone with (never ``ext``, which runs commands).
GIT_PROTOCOLS = frozenset({"https", "http", "ssh", "git", "file"})


def _is_link(url: str) -> bool:
    """A path on this site or an http(s) URL: never javascript:, data: or file:."""
    return (url.startswith("/") and not url.startswith("//")) or url.startswith(("https://", "http://"))


class AdminSettings(ServiceLimits):
    """Settings of the hubapps launcher (``c.HubApps``: :class:`hubapps.hub.config.HubApps` is this
    class with its Hub-side helpers)."""

    service_name = Unicode(
        "japps",
        config=True,
        help="""Name of the launcher service; its pages live under /services/<name>/.

        The default matches upstream JHub Apps, so links made for it (for example by the
        jupyterlab-jhub-apps extension) keep working.
        """,
    ).tag(service=True, install=True)
    service_host = Unicode(
        "127.0.0.1",
        config=True,
        help="""Address the launcher service listens on. Keep the loopback default unless the Hub's
        proxy runs on another host (for example a separate configurable-http-proxy pod).""",
    ).tag(install=True)
    service_port = Integer(10202, config=True, help="Port the launcher service listens on.").tag(install=True)
    service_workers = Integer(
        1,
        config=True,
        help="""Number of uvicorn worker processes for the launcher service. More than one needs a
        shared database (see database_url) for thumbnails and audit records.""",
    ).tag(install=True, ge=1)
    service_url = Unicode(
        config=True,
        help="""URL the Hub's proxy uses to reach the launcher service. Defaults to
        http://<service_host>:<service_port>.""",
    ).tag(install=True)
    service_environment = Dict(
        key_trait=Unicode(),
        value_trait=Unicode(),
        config=True,
        help="Extra environment variables for the launcher service process.",
    ).tag(install=True)
    allowed_frameworks = List(
        Unicode(),
        config=True,
        help="""Frameworks users may deploy. Empty (the default) allows every installed framework not
        in blocked_frameworks.""",
    ).tag(service=True)
    blocked_frameworks = List(
        Unicode(),
        config=True,
        help="""Frameworks users may not deploy, even if installed (for example ["jupyterlab"] to
        stop users from running extra JupyterLab servers).""",
    ).tag(service=True)
    environments = Dict(
        key_trait=Unicode(),
        value_trait=Unicode(),
        config=True,
        help="""Python or conda environments apps may run in: a mapping of name to the
        environment's prefix folder (the folder that holds bin/python). The name is what users
        choose; an app without one runs in the server's default environment.""",
    ).tag(service=True, service_type=list[str], to_service=sorted)
    conda_env_dirs = List(
        Unicode(),
        config=True,
        help="""Folders that hold conda environments by name, searched in order as conda searches its
        envs_dirs (for example ["/opt/conda/envs", "~/.conda/envs"]; "~" is the server user's
        home). An app whose python_env is a name allowed here but not a key of environments (the
        names of conda_envs) runs in the first <folder>/<name> that is a conda environment. The
        proxy looks where the app runs, so the folders are those of the app's server (its image,
        on Kubernetes). Conda environments are activated as `conda activate` does it
        (docs/migrating.md, "Conda environments").""",
    )
    git_allowed_protocols = List(
        Unicode(),
        ["https"],
        config=True,
        help="""Git transports the launcher service may use when it reads an app's settings from a
        repository ("From git" in the deploy form, POST /api/apps/from-git): any of "https",
        "http", "ssh", "git" and "file". The service clones with its own rights and network
        position, so "file" (its own machine's files) and plain "http" are off by default; "ext"
        (which runs commands) is never allowed. Apps' own clones at start run in their server, as
        their owner, and are not limited by this.""",
    ).tag(service=True)
    git_allowed_hosts = List(
        Unicode(),
        config=True,
        help="""Hosts the launcher service may clone from when it reads an app's settings from a
        repository, as shell-style patterns of the URL's host ("github.com", "*.gitlab.example.org").
        Empty (the default): any host. Set it when the service can reach internal addresses that
        users should not make it call (cloud metadata, internal web servers): redirects are never
        followed, and git's errors are not shown to users, but a clone still connects where the URL
        says.""",
    ).tag(service=True)
    git_clone_timeout = Float(
        60.0,
        config=True,
        help="""Seconds the launcher service's clone of a repository (to read an app's settings
        from it) may take; then it is stopped and refused.""",
    ).tag(service=True, gt=0)
    git_clone_max_bytes = Integer(
        50 * 1024 * 1024,
        config=True,
        help="""Bytes the launcher service's clone of a repository (one commit, to read an app's
        settings) may take on disk; a larger clone is stopped and refused.""",
    ).tag(service=True, gt=0)
    git_clone_concurrency = Integer(
        4,
        config=True,
        help="""Clones of repositories (to read apps' settings) one launcher worker runs at once; one
        per user at a time. More are answered 429 with Retry-After until one ends.""",
    ).tag(service=True, ge=1)
    conda_envs = Union(
        [List(Unicode()), Callable()],
        default_value=[],
        config=True,
        help="""Conda environment names the deploy form and API offer (upstream JHub Apps'
        c.JAppsConfig.conda_envs): a list, or a callable given the user's Hub model (a dict:
        "name", "admin", "groups", ..., and "auth_state", which needs
        c.Authenticator.enable_auth_state) that returns the names that user may choose. The callable
        runs in the Hub's process, in a thread (an async one on the Hub's loop), each time the
        launcher asks for that user (GET /hub/api/hubapps/conda-environments, with the user's own
        token), within conda_envs_timeout; an error or a timeout offers none, and is logged. The
        launcher never re-executes jupyterhub_config.py. The names join those of environments.""",
    ).tag(service=True, service_type=list[str], to_service=lambda v: sorted(map(str, v)) if isinstance(v, list) else [])
    conda_envs_timeout = Float(
        10.0,
        config=True,
        help="Seconds a callable conda_envs may take for one user; then the user is offered none of its names.",
    ).tag(gt=0)
    allow_public_apps = Bool(
        None,
        allow_none=True,
        config=True,
        help="""Whether users may make apps public (reachable without logging in to the Hub).
        None (the default): on when c.JupyterHub.subdomain_host is set, else off. Without
        subdomain_host every app is served on the Hub's own origin, so a public app's page runs its
        owner's scripts as whoever opens it, logged in to the Hub (see docs/security.md, "Origin
        isolation"); setting True there is accepted with a warning in the Hub's log. When off, a spec
        with public=true is refused at save and at start.""",
    ).tag(service=True, service_type=bool, to_service=bool)
    allow_sharing = Bool(
        None,
        allow_none=True,
        config=True,
        help="""Whether users may share apps with other users, groups and share links. None (the
        default): on when c.JupyterHub.subdomain_host is set, else off, for the same reason as
        allow_public_apps: without subdomain_host an app's scripts run on the Hub's origin as each
        person it is shared with. Setting True there is accepted with a warning in the Hub's log.
        When off, the launcher refuses new shares and share links (existing ones can still be
        listed and revoked) and grant_user_sharing grants nothing.""",
    ).tag(service=True, service_type=bool, to_service=bool)
    proxy_command = List(
        Unicode(),
        config=True,
        help="""Command that starts the per-app proxy inside the app's server; the spawner adds the
        app's options after it. Empty (the default) means: the Hub's own Python with
        ["-I", "-m", "hubapps.proxy"] for spawners that run servers on the Hub's machine
        (LocalProcessSpawner and its subclasses), else ["python3", "-I", "-m", "hubapps.proxy"] (the
        image's python3, which must have hubapps installed, like jupyterhub-singleuser). Keep -I
        (isolated mode) in your own command: the proxy holds the server's Hub token, and without it
        the owner's user site-packages, .pth files, usercustomize and PYTHON* variables run inside
        the proxy.""",
    )
    auth_cache_max_age = Integer(
        None,
        allow_none=True,
        config=True,
        help="""Seconds each app's proxy trusts the Hub's answer about a viewer's token (None: the
        proxy's default, 60). Revoked tokens, shares and users lose access, open websockets included,
        within this time.""",
    ).tag(ge=0)
    websocket_max_age = Float(
        None,
        allow_none=True,
        config=True,
        help="""Seconds after which each app's proxy closes a websocket whatever its access (browsers
        reconnect through the login check). None or 0: no limit (the default; access is re-checked
        every auth_cache_max_age anyway).""",
    ).tag(ge=0)
    proxy_limits = Dict(
        {},
        config=True,
        help="""Limits of every app's proxy, as {"option": number}; unset ones keep the proxy's
        defaults. "log-echo-rate" (8192) bytes per second of an app's output copied to its
        server's log (the Hub's log for local spawners), with bursts of "log-echo-burst" (262144)
        bytes; over it, lines are dropped there (not from the app's log in the launcher), with a
        note every "log-echo-note-interval" (10) s; lines are cut at "log-echo-line-length" (2000)
        characters. "request-head-timeout" (60) s for a request's headers;
        "request-body-timeout" (60) s a request body may go without a byte, after which it must
        also average "request-body-min-rate" (1024) bytes per second (408 and the connection
        closes otherwise). 0 turns a limit off. "start-retries" (0) times an app that exits before
        it was ever ready is started again before it is reported failed (with its own last words);
        an app that crashes after it was ready is restarted up to "max-restarts" (5) times within
        "restart-window" (60) s, after "restart-backoff" (1) s, doubling. A failed app's failure
        page and status stay up "failure-linger" (300) s before its server stops. "stop-grace" (5)
        s between SIGTERM and SIGKILL when an app is stopped. A viewer counts as active in the
        app's metrics for "viewer-window" (300) s after their last request (docs/metrics.md).
        Reports to the launcher: each attempt takes at most "report-timeout" (3) s, "report-retries"
        (2) more attempts; an exit report carries at most "report-log-lines" (50) lines and
        "report-log-bytes" (8192) bytes of output; a viewer unseen for "viewer-session-gap" (1800) s
        starts a new viewer session ("opened" event) when they come back. An app's repository is
        cloned within "git-timeout" (300) s; a conda environment's activate.d scripts run within
        "activate-timeout" (60) s. An activity report the Hub did not take (it is restarting, say) is
        tried again after "activity-retry" (1) s, doubling (less up to a quarter at random) up to
        "activity-retry-max" (60) s.
        Resources of the app itself (0: none, the default): at most
        "memory-limit" bytes of address space (RLIMIT_AS; an app over it is reported as out of
        memory on its details page) and "process-limit" processes and threads of its user (RLIMIT_NPROC:
        the kernel counts all of that user's processes, and does not apply it to root); meant for local
        spawners, where nothing else limits an app (container spawners have mem_limit). See
        docs/proxy.md.""",
    )
    ready_timeout = Float(
        0.0,
        config=True,
        help="""Seconds an app may take to answer its ready check before its start is reported as
        failed. 0 uses each framework's own default (300 s for the built-ins).""",
    )
    grant_user_sharing = Bool(
        False,
        config=True,
        help="""Let every user share their apps: add the scopes sharing needs (shares!user,
        read:users:name, read:groups:name) to JupyterHub's `user` role. Off by default, because it
        changes the Hub's roles and lets users see the names of other users and groups; without it,
        grant these scopes to the users or groups who may share (see docs/security.md).""",
    ).tag(install=True)
    group_share_tokens = Bool(
        True,
        config=True,
        help="""Let members of a group an app is shared with open it. JupyterHub (5.x, 6.x) gives a
        token the scopes of its owner's own shares but not of the owner's groups' shares, so the
        app's server refuses group members (a Hub page, which checks the user, lets them through).
        On (the default), install() wraps jupyterhub.scopes.get_scopes_for in the Hub so that a
        user's token also gets the group shares it asks for (see hubapps/hub/group_shares.py and
        docs/security.md). False leaves JupyterHub's function as it is.""",
    ).tag(install=True)
    share_suggestions_from = Enum(
        ["groups", "all"],
        "groups",
        config=True,
        help="""Whose names the share fields suggest as a user types (a name can always be typed in
        full). "groups" (the default): the user's own groups and the people in them, plus whoever
        the Hub lets the user list (a role of yours with list:users, e.g. list:users!group=staff).
        "all": every user and group: with grant_user_sharing (and sharing on), install() adds
        list:users and list:groups to JupyterHub's `user` role, so everyone may list everyone.""",
    ).tag(service=True, install=True, service_type=Literal["groups", "all"])
    title = Unicode("Apps", config=True, help="Title of the launcher pages.").tag(service=True, install=True)
    app_icon = Unicode(
        "",
        config=True,
        help="""Icon of the launcher, shown beside its title in the navigation bar of its pages and
        the Hub's home page: a path on this Hub or an http(s):// URL. Empty (the default): none.""",
    ).tag(service=True, install=True)
    default_thumbnail = Unicode(
        "",
        config=True,
        help="""Image shown on the card of an app that has no thumbnail of its own: a path on this Hub
        or an http(s):// URL. Empty (the default): the framework's logo.""",
    ).tag(service=True)
    service_python = Unicode(
        "",
        config=True,
        help="""Python interpreter that runs the launcher service (upstream JHub Apps'
        c.JAppsConfig.python_exec); it needs hubapps with its hub extra. Empty (the default): the
        Hub's own interpreter.""",
    ).tag(install=True)
    proxy_url = Unicode(
        config=True,
        help="""URL at which the launcher service reaches apps (/user/<owner>/<app>/...) to show their
        status and logs: the Hub's public proxy as seen from the service. Defaults to
        c.JupyterHub.bind_url (or ip and port), https when c.JupyterHub.ssl_cert is set, with a
        wildcard host replaced by 127.0.0.1; on Kubernetes set it to the
        proxy's in-cluster URL (for example http://proxy-public).""",
    ).tag(service=True)
    proxy_ca_file = Unicode(
        "",
        config=True,
        help="""CA certificates (a PEM file) that verify the proxy's https certificate when the launcher
        service reaches apps at proxy_url: for a proxy with a self-signed certificate or one of an
        internal CA (an https subdomain_host, say). Empty (the default): the system's trust store (or
        JupyterHub's internal CA under internal_ssl).""",
    ).tag(service=True)
    database_url = Unicode(
        "sqlite:///hubapps.sqlite",
        config=True,
        help="""Database of the launcher service (thumbnails, the directory of shared and public apps,
        revisions, events). A relative SQLite path is relative to the folder JupyterHub runs in. Use a
        PostgreSQL URL (postgresql://user@host/database, with hubapps[postgresql]; the password in a
        libpq password file, not in the URL) when the service runs as several replicas: see
        docs/scaling.md.""",
    ).tag(service=True)
    oauth_no_confirm = Bool(
        True,
        config=True,
        help="""Skip the Hub's "authorize access" page when users log in to the launcher service.
        The launcher is configured by the admin, so asking each user to trust it adds nothing.""",
    ).tag(install=True)
    status_key = Unicode(
        "",
        config=True,
        help="""Secret (hex, at least 32 bytes) shared by the Hub and the launcher service, from which
        each app's proxy gets a key of its own for the signed status and log requests of the launcher
        (see docs/security.md). Empty (the default): read from status_key_file, which is created with
        a random key on first use. Set it (the same on every Hub replica) if the file cannot persist.""",
    )
    status_key_file = Unicode(
        "jupyterhub_hubapps_status_key",
        config=True,
        help="""File holding the status key when status_key is not set: created (mode 0600) with a
        random key if missing, so it survives Hub restarts. A relative path is relative to the folder
        of c.JupyterHub.cookie_secret_file if that is set, else to the folder JupyterHub runs in.""",
    ).tag(install=True)
    status_max_skew = Float(
        60.0,
        config=True,
        help="""Seconds a signed status request of the launcher service stays valid, before or after
        the time it names (the clocks of the service and of app servers may differ this much). The
        same bound holds for the reports app proxies send the service.""",
    ).tag(service=True, gt=0)
    report_url = Unicode(
        "",
        config=True,
        help="""The launcher service's URL as app servers reach it, with its prefix
        (http://hub.internal:10202/services/japps/): where each app's proxy reports its start, its
        viewer sessions and how it ended, signed with the app's own status key. Empty (the default):
        the service's URL and prefix as the Hub knows them (http://127.0.0.1:10202/services/japps/),
        which servers on the Hub's machine reach; set it when apps run elsewhere (KubeSpawner,
        BatchSpawner) to an address of the service they can reach. Without a reachable URL, apps run
        as before and the launcher does not remember why one stopped.""",
    )

    # -- per-user limits (hubapps.core.limits) ----------------------------------------------------------
    max_apps_per_user = Integer(
        20,
        config=True,
        help="""Most apps (named servers that hold a hubapps spec) one user may have, running or not.
        0: no limit. The launcher refuses the next one with HTTP 409 naming this setting. Hub admins
        are exempt. Servers created straight through the Hub REST API are bounded by JupyterHub's
        own c.JupyterHub.named_server_limit_per_user instead, which counts every named server (apps
        and plain JupyterLab servers, admins' too): keep it at least this high. The launcher checks
        that one as well when it is a number set before hubapps.install(), so users get the
        launcher's "limit reached" message before the Hub's refusal.""",
    ).tag(service=True, ge=0)
    max_running_apps_per_user = Integer(
        5,
        config=True,
        help="""Most apps one user may have running (or starting) at once. 0: no limit. Checked by
        the launcher and by the spawner at every start, so a start through the Hub REST API is
        refused too (HTTP 409). Hub admins are exempt.""",
    ).tag(service=True, ge=0)
    max_public_apps_per_user = Integer(
        3,
        config=True,
        help="""Most public apps one user may have (public apps appear in everyone's gallery). 0: no
        limit. Checked when an app is created, made public or started, by the launcher and by the
        spawner (options stored through the Hub REST API included). Hub admins are exempt.""",
    ).tag(service=True, ge=0)

    pinned_services = List(
        Dict(),
        config=True,
        help="""Links shown in the quick-access row of the Hub home page, next to JupyterLab: a list of
        dicts with "name", "url" (a path on this Hub, such as "/services/conda-store/", or an
        https:// URL), and optionally "description" and "thumbnail" (an image URL of the same
        kinds). Only people who may use a service can open it; the link itself is shown to all.""",
    ).tag(install=True)
    startup_apps = List(
        Dict(),
        config=True,
        help="""Apps the launcher makes for their owners (startup apps), reconciled when the launcher
        service starts and when an admin asks (the admin page, or POST /api/admin/startup-apps/reconcile).
        Each entry is a dict: "owner", "server" (optional: derived from the display name as the
        launcher does), the app's spec fields as the API's AppCreate takes them ("framework",
        "display_name", "filepath", "env", ...; not secret_env), "start" (start it once, when it is
        created; nothing restarts it later, nor on Hub restarts), "overwrite" (the entry wins over its
        owner's own edits; else they are kept and reported as drift) and "wait_for" (an absolute path,
        as the launcher's machine sees it, that must exist before the app is made). A missing app is
        created; a changed entry updates its app without starting it; an entry whose owner does not
        exist yet waits and is tried again (startup_apps_retry). Upstream JHub Apps' entries
        ("username", "servername", "user_options") are read too. Removing an entry deletes nothing.
        Checked at Hub start: a bad entry stops the Hub with an error naming it and the field.""",
    ).tag(service=True, service_type=list[dict[str, Any]])
    home_page = Bool(
        True,
        config=True,
        help="""Make the Hub home page (/hub/home) the launcher, send users there after login
        (unless c.JupyterHub.default_url is set) and add "Apps" and "Deploy app" to the Hub's
        navigation bar. Turn off to keep JupyterHub's own pages.""",
    ).tag(install=True)

    @default("service_url")
    def _default_service_url(self) -> str:
        return f"http://{self.service_host}:{self.service_port}"

    @validate("service_name")
    def _check_service_name(self, proposal: dict[str, Any]) -> str:
        value = str(proposal["value"])
        if not _SERVICE_NAME.fullmatch(value):
            raise ValueError(f"HubApps.service_name {value!r} must match {_SERVICE_NAME.pattern}")
        return value

    @validate("status_key")
    def _check_status_key(self, proposal: dict[str, Any]) -> str:
        value = str(proposal["value"]).strip().lower()
        if value and (len(value) < 64 or not re.fullmatch(r"[0-9a-f]+", value) or len(value) % 2):
            raise ValueError("HubApps.status_key must be hex, at least 64 digits (32 bytes)")
        return value

    @validate("git_allowed_protocols")
    def _check_git_protocols(self, proposal: dict[str, Any]) -> list[str]:
        value = [str(p).lower() for p in proposal["value"]]
        unknown = sorted(set(value) - GIT_PROTOCOLS)
        if unknown:
            raise ValueError(
                f"HubApps.git_allowed_protocols: {', '.join(map(repr, unknown))} not among {sorted(GIT_PROTOCOLS)}"
            )
        return value

    @validate("proxy_limits")
    def _check_proxy_limits(self, proposal: dict[str, Any]) -> dict[str, float | int]:
        from hubapps.core.command import PROXY_LIMITS

        limits: dict[str, float | int] = {}
        for name, value in proposal["value"].items():
            whole = PROXY_LIMITS.get(name)
            if whole is None:
                raise ValueError(f"HubApps.proxy_limits: unknown option {name!r} (known: {', '.join(PROXY_LIMITS)})")
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < float("inf"):
                raise ValueError(f"HubApps.proxy_limits[{name!r}] must be a finite number, not negative")
            limits[name] = int(value) if whole else float(value)
        return limits

    @validate("app_icon", "default_thumbnail")
    def _check_image_link(self, proposal: dict[str, Any]) -> str:
        value = str(proposal["value"]).strip()
        if value and not _is_link(value):
            raise ValueError(
                f"HubApps.{proposal['trait'].name} {value!r} must be a path on this Hub or an http(s):// URL"
            )
        return value

    @validate("conda_envs")
    def _check_conda_envs(self, proposal: dict[str, Any]) -> Any:
        value = proposal["value"]
        if callable(value):
            return value
        names = [str(name).strip() for name in value]
        if not all(names):
            raise ValueError("HubApps.conda_envs: an environment name is empty")
        return list(dict.fromkeys(names))

    @validate("pinned_services")
    def _check_pinned_services(self, proposal: dict[str, Any]) -> list[dict[str, str]]:
        out = []
        for item in proposal["value"]:
            name, url = str(item.get("name", "")).strip(), str(item.get("url", "")).strip()
            if not name or not _is_link(url):
                raise ValueError(f"HubApps.pinned_services: {item!r} needs a name and a path or https:// url")
            thumbnail = str(item.get("thumbnail", "")).strip()
            if thumbnail and not _is_link(thumbnail):
                raise ValueError(f"HubApps.pinned_services: thumbnail {thumbnail!r} must be a path or https:// url")
            out.append(
                {"name": name, "url": url, "description": str(item.get("description", "")), "thumbnail": thumbnail}
            )
        return out

    @validate("startup_apps")
    def _check_startup_apps(self, proposal: dict[str, Any]) -> list[dict[str, Any]]:
        from hubapps.core.startup import parse_startup_apps

        # Upstream's entries become ours here, so the service reads one format.
        return [entry.to_json() for entry in parse_startup_apps(proposal["value"])]

    @validate(*bounded(locals()))
    def _check_bounds(self, proposal: dict[str, Any]) -> Any:
        return check_bound(proposal["trait"], proposal["value"])

    def user_limits(self, *, admin: bool = False) -> UserLimits:
        """The per-user limits of an owner (none for Hub admins)."""
        if admin:
            return UserLimits()
        return UserLimits(
            apps=self.max_apps_per_user, running=self.max_running_apps_per_user, public=self.max_public_apps_per_user
        )

    def service_settings(self) -> dict[str, Any]:
        """The settings the launcher service needs, as plain JSON data: every trait tagged
        ``service=True``, converted by its ``to_service`` if it has one."""
        out: dict[str, Any] = {}
        for name, trait in sorted(self.traits(service=True).items()):
            out[name] = service_value(trait, getattr(self, name))
        return out


def service_value(trait: TraitType[Any, Any], value: Any) -> Any:
    """A trait's value as the service's field holds it (a copy: lists and dicts are not shared)."""
    convert = trait.metadata.get("to_service")
    if convert is not None:
        return convert(value)
    if isinstance(value, list | dict):
        return copy.deepcopy(value)
    return value
