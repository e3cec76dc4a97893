"""Turn the proxy's argv and environment into one frozen :class:`ProxyConfig`, purely.

The spawner starts ``hubapps-proxy [options] -- <app argv...>``. The options are produced by
:meth:`hubapps.core.command.ProxyOptions.to_argv`, always in ``--name=value`` form; everything after the
first ``--`` belongs to the app and is kept literally (never parsed, never formatted). The environment is
the standard JupyterHub single-user environment plus ``HUBAPPS_APP_ENV`` (a JSON object of extra
variables for the app).

Nothing here reads ``os.environ`` itself: :func:`parse_config` takes the environment as a mapping, so the
whole module is testable without touching the process. Limits (restart budget, grace periods, cache
ages...) are options with safe defaults so the spawner never has to pass them, but tests can shrink them.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from hubapps.core.errors import HubAppsError
from hubapps.core.proxy_env import APP_ENV_VAR
from hubapps.core.reports import REPORT_CA_ENV_VAR
from hubapps.core.statuskey import APP_KEY_ENV_VAR, DEFAULT_MAX_SKEW

__all__ = [
    "ConfigError",
    "HubSettings",
    "ProxyConfig",
    "parse_config",
]

#: Lines of app output kept in memory for the startup page and ``_hubapps/logs``.
DEFAULT_LOG_LINES = 1000
#: Seconds between SIGTERM and SIGKILL when stopping the app's process group.
DEFAULT_STOP_GRACE = 5.0
#: Restarts allowed within :data:`DEFAULT_RESTART_WINDOW` seconds before the proxy gives up.
DEFAULT_MAX_RESTARTS = 5
DEFAULT_RESTART_WINDOW = 60.0
#: First restart delay; it doubles on each restart, capped at :data:`DEFAULT_RESTART_BACKOFF_MAX`.
DEFAULT_RESTART_BACKOFF = 1.0
DEFAULT_RESTART_BACKOFF_MAX = 16.0
#: Times an app that exits before it was ever ready is started again before it is reported failed (0:
#: it fails at once, with its own last words: a missing file or a syntax error does not fix itself).
DEFAULT_START_RETRIES = 0
#: Seconds the failure page (and the failed status the launcher shows, with its reason) stays up before
#: the proxy exits non-zero so the Hub sees the server stop; starting the app again ends it at once.
DEFAULT_FAILURE_LINGER = 300.0
#: Seconds a token lookup answered by the Hub is trusted (revocations take effect within this delay).
DEFAULT_AUTH_CACHE_MAX_AGE = 60
#: Seconds a websocket may stay open before it is closed whatever its access (0: no limit; access
#: itself is re-checked every auth cache max age).
DEFAULT_WEBSOCKET_MAX_AGE = 0.0
#: Seconds between activity reports to the Hub.
DEFAULT_ACTIVITY_INTERVAL = 60.0
#: First delay before an activity report the Hub did not take is tried again, in seconds (it doubles
#: on each failure in a row), and the longest such delay.
DEFAULT_ACTIVITY_RETRY = 1.0
DEFAULT_ACTIVITY_RETRY_MAX = 60.0
#: Timeout of each call to the Hub API (token lookup, code exchange, activity).
DEFAULT_HUB_TIMEOUT = 10.0
#: Timeout of the whole git clone or fetch.
DEFAULT_GIT_TIMEOUT = 300.0
#: Seconds a conda environment's activate.d scripts may take, all together.
DEFAULT_ACTIVATE_TIMEOUT = 60.0
#: Seconds a viewer counts as active (``hubapps_proxy_viewers_active``) after their last request.
DEFAULT_VIEWER_WINDOW = 300.0
#: Default ready timeout when ``--ready-timeout`` is not given.
DEFAULT_READY_TIMEOUT = 60.0
#: Seconds a websocket upgrade that arrives while the app starts waits for it to be ready (then 503).
DEFAULT_WEBSOCKET_START_WAIT = 60.0

#: Bytes per second of app output echoed to the server's stderr (the Hub's log for local spawners),
#: with a burst of :data:`DEFAULT_LOG_ECHO_BURST` bytes; lines over the limit are dropped (0: no limit).
DEFAULT_LOG_ECHO_RATE = 8192.0
DEFAULT_LOG_ECHO_BURST = 262144.0
#: Longest app output line echoed to stderr, in characters (the rest is cut).
DEFAULT_LOG_ECHO_LINE_LENGTH = 2000
#: Seconds between two notes of how many output lines were dropped from stderr.
DEFAULT_LOG_ECHO_NOTE_INTERVAL = 10.0
#: Seconds a request head may take from its first byte to its end (a slowloris header drip is cut: 408).
DEFAULT_REQUEST_HEAD_TIMEOUT = 60.0
#: Seconds a request body may go without a byte arriving, and its grace period (see the minimum rate).
DEFAULT_REQUEST_BODY_TIMEOUT = 60.0
#: Bytes per second a request body must average after its grace period: its deadline is
#: ``grace + received / rate`` seconds after it began (time the proxy was not reading does not count).
DEFAULT_REQUEST_BODY_MIN_RATE = 1024.0

#: Seconds a viewer may go unseen before their next request opens a new viewer session (reported to the
#: launcher as one "opened" event).
DEFAULT_VIEWER_SESSION_GAP = 1800.0
#: Seconds one report to the launcher service may take, attempts after the first one, and the bounds of
#: the log tail an exit report carries (lines, and bytes in all).
DEFAULT_REPORT_TIMEOUT = 3.0
DEFAULT_REPORT_RETRIES = 2
DEFAULT_REPORT_LOG_LINES = 50
DEFAULT_REPORT_LOG_BYTES = 8192


class ConfigError(HubAppsError, ValueError):
    """The proxy was started with options or an environment it cannot work with."""


@dataclass(frozen=True)
class HubSettings:
    """What the Hub told the server about itself, from the ``JUPYTERHUB_*`` environment."""

    api_url: str = ""
    api_token: str = field(default="", repr=False)
    client_id: str = ""
    oauth_callback_url: str = ""
    access_scopes: frozenset[str] = frozenset()
    host: str = ""
    base_url: str = "/"
    user: str = ""
    server_name: str = ""
    activity_url: str = ""
    public_url: str = ""
    cookie_host_prefix_enabled: bool = False
    #: JupyterHub's internal SSL (``internal_ssl``): client certificate, its key, and the CA that signs
    #: the Hub's certificate; used for ``https://`` API URLs.
    ssl_certfile: str = ""
    ssl_keyfile: str = ""
    ssl_client_ca: str = ""
    #: PEM of one more CA to trust for ``https://`` URLs (the launcher service's, for reports only).
    ssl_extra_ca: str = field(default="", repr=False)


@dataclass(frozen=True)
class ProxyConfig:
    """Everything the proxy needs, validated. Paths are as given (resolved when the app starts)."""

    app_argv: tuple[str, ...]
    prefix: str
    ip: str
    port: int
    hub: HubSettings
    app_env: Mapping[str, str] = field(default_factory=dict, repr=False)
    display_name: str = ""
    cwd: str = "."
    ready_path: str = ""
    ready_timeout: float = DEFAULT_READY_TIMEOUT
    websocket_start_wait: float = DEFAULT_WEBSOCKET_START_WAIT
    strip_prefix: bool = False
    app_socket: bool = False
    public: bool = False
    keep_alive: bool = False
    pass_hub_token: bool = False
    env_prefix: str = ""
    #: A conda environment by name, looked for in ``conda_env_dirs`` (when there is no ``env_prefix``).
    conda_env: str = ""
    conda_env_dirs: tuple[str, ...] = ()
    activate_timeout: float = DEFAULT_ACTIVATE_TIMEOUT
    repo_url: str = ""
    repo_ref: str = ""
    checkout: str = ""
    log_lines: int = DEFAULT_LOG_LINES
    stop_grace: float = DEFAULT_STOP_GRACE
    max_restarts: int = DEFAULT_MAX_RESTARTS
    start_retries: int = DEFAULT_START_RETRIES
    restart_window: float = DEFAULT_RESTART_WINDOW
    restart_backoff: float = DEFAULT_RESTART_BACKOFF
    restart_backoff_max: float = DEFAULT_RESTART_BACKOFF_MAX
    failure_linger: float = DEFAULT_FAILURE_LINGER
    #: Resource limits the app runs under (``RLIMIT_AS`` in bytes, ``RLIMIT_NPROC``); 0: none.
    memory_limit: int = 0
    process_limit: int = 0
    auth_cache_max_age: int = DEFAULT_AUTH_CACHE_MAX_AGE
    websocket_max_age: float = DEFAULT_WEBSOCKET_MAX_AGE
    activity_interval: float = DEFAULT_ACTIVITY_INTERVAL
    activity_retry: float = DEFAULT_ACTIVITY_RETRY
    activity_retry_max: float = DEFAULT_ACTIVITY_RETRY_MAX
    hub_timeout: float = DEFAULT_HUB_TIMEOUT
    git_timeout: float = DEFAULT_GIT_TIMEOUT
    #: This app's status key (``HUBAPPS_STATUS_APP_KEY``): the launcher's signed status and log requests.
    status_key: bytes = field(default=b"", repr=False)
    status_max_skew: float = DEFAULT_MAX_SKEW
    log_echo_rate: float = DEFAULT_LOG_ECHO_RATE
    log_echo_burst: float = DEFAULT_LOG_ECHO_BURST
    log_echo_line_length: int = DEFAULT_LOG_ECHO_LINE_LENGTH
    log_echo_note_interval: float = DEFAULT_LOG_ECHO_NOTE_INTERVAL
    request_head_timeout: float = DEFAULT_REQUEST_HEAD_TIMEOUT
    request_body_timeout: float = DEFAULT_REQUEST_BODY_TIMEOUT
    request_body_min_rate: float = DEFAULT_REQUEST_BODY_MIN_RATE
    viewer_window: float = DEFAULT_VIEWER_WINDOW
    #: The Hub's JupyterHub version (``--hub-version``), sent as ``X-JupyterHub-Version``; empty: no header.
    hub_version: str = ""
    #: The launcher service's URL (``--launcher-url``, a path or an http(s) URL ending in ``/``): the
    #: failure page links to the app's start and edit pages there; empty: no links.
    launcher_url: str = ""
    #: A Python file (relative to ``cwd``) compiled, not run, while the app starts (``--check-file``).
    check_file: str = ""
    #: The app's file (relative to ``cwd``) whose sha256 is reported at each start (``--source-file``).
    source_file: str = ""
    #: The launcher service's internal URL, prefix included (``--report-url``): where reports go; empty:
    #: none are sent.
    report_url: str = ""
    #: The CA that signs the service's certificate under ``internal_ssl`` (PEM, from
    #: :data:`~hubapps.core.reports.REPORT_CA_ENV_VAR`): trusted for reports, nowhere else.
    report_ca: str = field(default="", repr=False)
    report_timeout: float = DEFAULT_REPORT_TIMEOUT
    report_retries: int = DEFAULT_REPORT_RETRIES
    report_log_lines: int = DEFAULT_REPORT_LOG_LINES
    report_log_bytes: int = DEFAULT_REPORT_LOG_BYTES
    viewer_session_gap: float = DEFAULT_VIEWER_SESSION_GAP
    #: Tell the Hub the port once listening (``--announce-port``): ``POST {api_url}/batchspawner``, as
    #: ``batchspawner-singleuser`` does, for spawners that learn the port from the server (BatchSpawner).
    announce_port: bool = False

    @property
    def app_ready_path(self) -> str:
        """Path the readiness probe asks the app for (the app sees the prefix unless stripped)."""
        ready = self.ready_path.lstrip("/")
        return "/" + ready if self.strip_prefix else self.prefix + ready


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing usage and exiting, so callers decide what to do."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise ConfigError(message)


def _positive(kind: type[float] | type[int]) -> Callable[[str], float | int]:
    """An argparse type converter that rejects negative numbers, and NaN and infinity (a limit of NaN
    would never be reached: every ``>`` against it is false)."""

    def convert(text: str) -> float | int:
        value = kind(text)
        if not math.isfinite(value) or value < 0:
            raise argparse.ArgumentTypeError(f"must be a finite number, not negative: {text!r}")
        return value

    convert.__name__ = kind.__name__
    return convert


def build_parser() -> argparse.ArgumentParser:
    """The option parser; ``allow_abbrev=False`` so no app-side option can be mistaken for ours."""
    parser = _Parser(
        prog="hubapps-proxy",
        description="Run a web app behind JupyterHub authentication: hubapps-proxy [options] -- app argv",
        allow_abbrev=False,
    )
    add = parser.add_argument
    add("--display-name", default="", help="Name shown on the startup and failure pages.")
    add("--cwd", default=".", help="Working folder of the app, relative to the proxy's start folder.")
    add("--ready-path", default="", help="Path, relative to the app root, polled until the app answers.")
    add("--ready-timeout", type=_positive(float), default=DEFAULT_READY_TIMEOUT, help="Seconds to wait.")
    add(
        "--websocket-start-wait",
        type=_positive(float),
        default=DEFAULT_WEBSOCKET_START_WAIT,
        help="Seconds a websocket upgrade that arrives while the app starts waits for it (then 503).",
    )
    add(
        "--strip-prefix",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="Remove the server prefix from paths before forwarding (sets X-Forwarded-Prefix).",
    )
    add(
        "--app-socket",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="The app listens on a unix socket ({socket}) in a folder only this user can open, not on a "
        "127.0.0.1 port ({port}).",
    )
    add("--public", action="store_true", help="Serve the app to anyone (control endpoints stay private).")
    add("--keep-alive", action="store_true", help="Always report activity so the app is never culled.")
    add("--pass-hub-token", action="store_true", help="Give the app JUPYTERHUB_API_TOKEN.")
    add("--env-prefix", default="", help="Python/conda environment folder to run the app in.")
    add("--conda-env", default="", help="Conda environment (by name) to run the app in, found in --conda-env-dir.")
    add(
        "--conda-env-dir",
        action="append",
        default=[],
        help="A folder of conda environments by name (repeat; searched in order, like conda's envs_dirs).",
    )
    add(
        "--activate-timeout",
        type=_positive(float),
        default=DEFAULT_ACTIVATE_TIMEOUT,
        help="Seconds the conda environment's activate.d scripts may take.",
    )
    add("--repo", default="", help="Git repository to clone before starting.")
    add("--repo-ref", default="", help="Branch or tag of --repo.")
    add("--checkout", default="", help="Folder to clone --repo into.")
    add("--ip", default=None, help="Listen address (default: host of JUPYTERHUB_SERVICE_URL).")
    add("--port", type=int, default=None, help="Listen port (default: port of JUPYTERHUB_SERVICE_URL).")
    add(
        "--announce-port",
        action="store_true",
        help="Once listening, tell the Hub the port (POST {api_url}/batchspawner, as batchspawner-singleuser "
        "does): for batchspawner's spawners, which learn it from the server (listen on port 0 to get a free one).",
    )
    add("--log-lines", type=_positive(int), default=DEFAULT_LOG_LINES)
    add("--stop-grace", type=_positive(float), default=DEFAULT_STOP_GRACE)
    add(
        "--max-restarts",
        type=_positive(int),
        default=DEFAULT_MAX_RESTARTS,
        help="Restarts within --restart-window of an app that crashed after it had been ready.",
    )
    add(
        "--start-retries",
        type=_positive(int),
        default=DEFAULT_START_RETRIES,
        help="Starts again of an app that exits before it was ever ready (0: it fails at once).",
    )
    add("--restart-window", type=_positive(float), default=DEFAULT_RESTART_WINDOW)
    add("--restart-backoff", type=_positive(float), default=DEFAULT_RESTART_BACKOFF)
    add(
        "--failure-linger",
        type=_positive(float),
        default=DEFAULT_FAILURE_LINGER,
        help="Seconds the failure page and status stay up before the proxy exits non-zero.",
    )
    add(
        "--memory-limit",
        type=_positive(int),
        default=0,
        help="Bytes of address space the app may use (RLIMIT_AS); over it, allocations fail and the app "
        "is reported as out of memory. 0: no limit.",
    )
    add(
        "--process-limit",
        type=_positive(int),
        default=0,
        help="Processes and threads the app's user may have (RLIMIT_NPROC, counted per user by the kernel, "
        "not enforced for root). 0: no limit.",
    )
    add(
        "--check-file",
        default="",
        help="A Python file (relative to --cwd) to compile, not run, while the app starts: a syntax error "
        "fails the start at once with its message (Streamlit, Panel and Bokeh run the file only per viewer).",
    )
    add(
        "--launcher-url",
        default="",
        help="The launcher service's URL (a path, or http(s)://host/path/): the failure page links there.",
    )
    add("--source-file", default="", help="The app's file (relative to --cwd): its sha256 is reported at each start.")
    add(
        "--report-url",
        default="",
        help="The launcher service's internal http(s) URL with its prefix: where start, viewer and exit "
        "reports go, signed with this app's status key (empty: no reports).",
    )
    add(
        "--report-timeout",
        type=_positive(float),
        default=DEFAULT_REPORT_TIMEOUT,
        help="Seconds one report to the launcher may take.",
    )
    add(
        "--report-retries",
        type=_positive(int),
        default=DEFAULT_REPORT_RETRIES,
        help="Attempts after the first of a report the launcher did not take.",
    )
    add(
        "--report-log-lines",
        type=_positive(int),
        default=DEFAULT_REPORT_LOG_LINES,
        help="Lines of the app's output an exit report carries.",
    )
    add(
        "--report-log-bytes",
        type=_positive(int),
        default=DEFAULT_REPORT_LOG_BYTES,
        help="Bytes of the app's output an exit report carries, in all.",
    )
    add(
        "--viewer-session-gap",
        type=_positive(float),
        default=DEFAULT_VIEWER_SESSION_GAP,
        help="Seconds a viewer may go unseen before their next request opens a new viewer session.",
    )
    add(
        "--auth-cache-max-age",
        type=_positive(int),
        default=DEFAULT_AUTH_CACHE_MAX_AGE,
        help="Seconds a token lookup is trusted; open websockets are re-checked with the Hub as often.",
    )
    add(
        "--websocket-max-age",
        type=_positive(float),
        default=DEFAULT_WEBSOCKET_MAX_AGE,
        help="Seconds after which a websocket is closed whatever its access (0: no limit).",
    )
    add(
        "--activity-interval",
        type=_positive(float),
        default=None,
        help=f"Seconds between activity reports (default: $JUPYTERHUB_ACTIVITY_INTERVAL, else "
        f"{DEFAULT_ACTIVITY_INTERVAL:g}).",
    )
    add(
        "--activity-retry",
        type=_positive(float),
        default=DEFAULT_ACTIVITY_RETRY,
        help="Seconds before an activity report the Hub did not take is tried again; doubles on each failure.",
    )
    add(
        "--activity-retry-max",
        type=_positive(float),
        default=DEFAULT_ACTIVITY_RETRY_MAX,
        help="Longest delay, in seconds, between retries of an activity report.",
    )
    add(
        "--hub-version",
        default="",
        help="The Hub's JupyterHub version, sent as X-JupyterHub-Version on every answer (empty: not sent).",
    )
    add("--hub-timeout", type=_positive(float), default=DEFAULT_HUB_TIMEOUT)
    add("--git-timeout", type=_positive(float), default=DEFAULT_GIT_TIMEOUT)
    add(
        "--status-max-skew",
        type=_positive(float),
        default=DEFAULT_MAX_SKEW,
        help="Seconds a signed status request of the launcher service stays valid.",
    )
    add(
        "--log-echo-rate",
        type=_positive(float),
        default=DEFAULT_LOG_ECHO_RATE,
        help="Bytes per second of app output copied to the proxy's stderr (the Hub's log for local "
        "spawners); over it, lines are dropped there (not from _hubapps/logs). 0: no limit.",
    )
    add(
        "--log-echo-burst",
        type=_positive(float),
        default=DEFAULT_LOG_ECHO_BURST,
        help="Bytes of app output copied to stderr at once before --log-echo-rate applies.",
    )
    add(
        "--log-echo-line-length",
        type=_positive(int),
        default=DEFAULT_LOG_ECHO_LINE_LENGTH,
        help="Longest app output line copied to stderr, in characters (the rest is cut).",
    )
    add(
        "--log-echo-note-interval",
        type=_positive(float),
        default=DEFAULT_LOG_ECHO_NOTE_INTERVAL,
        help="Seconds between notes on stderr of how many lines were dropped.",
    )
    add(
        "--viewer-window",
        type=_positive(float),
        default=DEFAULT_VIEWER_WINDOW,
        help="Seconds a viewer counts as active in the proxy's metrics after their last request.",
    )
    add(
        "--request-head-timeout",
        type=_positive(float),
        default=DEFAULT_REQUEST_HEAD_TIMEOUT,
        help="Seconds a request head may take from its first byte (then 408, and the connection closes).",
    )
    add(
        "--request-body-timeout",
        type=_positive(float),
        default=DEFAULT_REQUEST_BODY_TIMEOUT,
        help="Seconds a request body may go without a byte, and its grace before --request-body-min-rate.",
    )
    add(
        "--request-body-min-rate",
        type=_positive(float),
        default=DEFAULT_REQUEST_BODY_MIN_RATE,
        help="Bytes per second a request body must average after its grace period (0: no minimum).",
    )
    return parser


def _split_argv(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """Options before the first ``--``, the app's argv (literal) after it."""
    argv = list(argv)
    if "--" not in argv:
        return argv, []
    cut = argv.index("--")
    return argv[:cut], argv[cut + 1 :]


def _hub_settings(env: Mapping[str, str]) -> HubSettings:
    scopes_json = env.get("JUPYTERHUB_OAUTH_ACCESS_SCOPES") or env.get("JUPYTERHUB_OAUTH_SCOPES") or "[]"
    try:
        scopes = json.loads(scopes_json)
    except ValueError as error:
        raise ConfigError("JUPYTERHUB_OAUTH_ACCESS_SCOPES is not valid JSON") from error
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise ConfigError("JUPYTERHUB_OAUTH_ACCESS_SCOPES must be a JSON list of strings")
    base_url = env.get("JUPYTERHUB_BASE_URL") or "/"
    return HubSettings(
        api_url=env.get("JUPYTERHUB_API_URL", "").rstrip("/"),
        api_token=env.get("JUPYTERHUB_API_TOKEN") or env.get("JPY_API_TOKEN", ""),
        client_id=env.get("JUPYTERHUB_CLIENT_ID", ""),
        oauth_callback_url=env.get("JUPYTERHUB_OAUTH_CALLBACK_URL", ""),
        access_scopes=frozenset(scopes),
        host=env.get("JUPYTERHUB_HOST", ""),
        base_url=base_url if base_url.endswith("/") else base_url + "/",
        user=env.get("JUPYTERHUB_USER", ""),
        server_name=env.get("JUPYTERHUB_SERVER_NAME", ""),
        activity_url=env.get("JUPYTERHUB_ACTIVITY_URL", ""),
        public_url=env.get("JUPYTERHUB_PUBLIC_URL", ""),
        cookie_host_prefix_enabled=env.get("JUPYTERHUB_COOKIE_HOST_PREFIX_ENABLED", "").lower() in {"1", "true", "yes"},
        ssl_certfile=env.get("JUPYTERHUB_SSL_CERTFILE", ""),
        ssl_keyfile=env.get("JUPYTERHUB_SSL_KEYFILE", ""),
        ssl_client_ca=env.get("JUPYTERHUB_SSL_CLIENT_CA", ""),
    )


def _report_ca(env: Mapping[str, str]) -> str:
    pem = env.get(REPORT_CA_ENV_VAR, "").strip()
    if pem and not (pem.startswith("-----BEGIN CERTIFICATE-----") and pem.endswith("-----END CERTIFICATE-----")):
        raise ConfigError(f"{REPORT_CA_ENV_VAR} must hold PEM certificates")
    return pem


def _app_env(env: Mapping[str, str]) -> dict[str, str]:
    raw = env.get(APP_ENV_VAR, "")
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError as error:
        raise ConfigError(f"{APP_ENV_VAR} is not valid JSON") from error
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ConfigError(f"{APP_ENV_VAR} must be a JSON object of strings")
    return value


def _status_key(env: Mapping[str, str]) -> bytes:
    raw = env.get(APP_KEY_ENV_VAR, "")
    try:
        return bytes.fromhex(raw)
    except ValueError as error:
        raise ConfigError(f"{APP_KEY_ENV_VAR} is not hex") from error


def _listen_address(env: Mapping[str, str], ip: str | None, port: int | None) -> tuple[str, int]:
    service_url = env.get("JUPYTERHUB_SERVICE_URL", "")
    url_host, url_port = "127.0.0.1", None
    if service_url:
        parts = urlsplit(service_url)
        url_host = parts.hostname or url_host
        try:
            url_port = parts.port
        except ValueError as error:
            raise ConfigError("JUPYTERHUB_SERVICE_URL has an invalid port") from error
        if url_port is None:
            url_port = 443 if parts.scheme == "https" else 80
    chosen_port = port if port is not None else url_port
    if chosen_port is None:
        raise ConfigError("no port to listen on: set JUPYTERHUB_SERVICE_URL or --port")
    if not 0 <= chosen_port <= 65535:
        raise ConfigError(f"invalid port {chosen_port}")
    return (ip if ip is not None else url_host), chosen_port


def _activity_interval(env: Mapping[str, str], option: float | None) -> float:
    if option is not None:
        return option
    raw = env.get("JUPYTERHUB_ACTIVITY_INTERVAL", "")
    try:
        value = float(raw) if raw else DEFAULT_ACTIVITY_INTERVAL
    except ValueError as error:
        raise ConfigError("JUPYTERHUB_ACTIVITY_INTERVAL is not a number") from error
    if value < 0:
        raise ConfigError("JUPYTERHUB_ACTIVITY_INTERVAL must not be negative")
    return value


def _is_launcher_url(url: str) -> bool:
    """A same-origin path (``/services/japps/``, never ``//host``) or an http(s) URL with a host; nothing
    that could carry a script (``javascript:``) or a line break into the failure page's links."""
    if any(ch in url for ch in "\r\n\t \"'<>\\"):
        return False
    if url.startswith("/"):
        return not url.startswith("//")
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def parse_config(argv: Sequence[str], env: Mapping[str, str]) -> ProxyConfig:
    """Build the config from the proxy's argv (without the program name) and an environment mapping.

    Raises :class:`ConfigError` with a message safe to print (never a token or the environment).
    """
    options_argv, app_argv = _split_argv(argv)
    ns = build_parser().parse_args(options_argv)
    if not app_argv:
        raise ConfigError("no app command given after '--'")
    if ns.repo and not ns.checkout:
        raise ConfigError("--repo needs --checkout")
    if ns.repo_ref.startswith("-"):
        raise ConfigError("--repo-ref must not start with '-'")
    if ns.conda_env and ("/" in ns.conda_env or ns.conda_env.startswith((".", "-"))):
        raise ConfigError("--conda-env must be an environment's name, not a path")
    prefix = env.get("JUPYTERHUB_SERVICE_PREFIX") or "/"
    if not prefix.startswith("/"):
        prefix = "/" + prefix
    if not prefix.endswith("/"):
        prefix += "/"
    ip, port = _listen_address(env, ns.ip, ns.port)
    launcher_url = ns.launcher_url
    if launcher_url and not _is_launcher_url(launcher_url):
        raise ConfigError("--launcher-url must be a path starting with one '/' or an http(s) URL")
    if launcher_url and not launcher_url.endswith("/"):
        launcher_url += "/"
    report_url = ns.report_url
    if report_url and (not _is_launcher_url(report_url) or report_url.startswith("/")):
        raise ConfigError("--report-url must be an http(s) URL")
    if report_url and not report_url.endswith("/"):
        report_url += "/"
    return ProxyConfig(
        app_argv=tuple(app_argv),
        prefix=prefix,
        ip=ip,
        port=port,
        hub=_hub_settings(env),
        app_env=_app_env(env),
        display_name=ns.display_name,
        cwd=ns.cwd or ".",
        ready_path=ns.ready_path,
        ready_timeout=ns.ready_timeout,
        websocket_start_wait=ns.websocket_start_wait,
        strip_prefix=ns.strip_prefix,
        app_socket=ns.app_socket,
        public=ns.public,
        keep_alive=ns.keep_alive,
        pass_hub_token=ns.pass_hub_token,
        env_prefix=ns.env_prefix,
        conda_env=ns.conda_env,
        conda_env_dirs=tuple(ns.conda_env_dir),
        activate_timeout=ns.activate_timeout,
        repo_url=ns.repo,
        repo_ref=ns.repo_ref,
        checkout=ns.checkout,
        log_lines=max(1, ns.log_lines),
        stop_grace=ns.stop_grace,
        max_restarts=ns.max_restarts,
        start_retries=ns.start_retries,
        restart_window=ns.restart_window,
        restart_backoff=ns.restart_backoff,
        failure_linger=ns.failure_linger,
        memory_limit=ns.memory_limit,
        process_limit=ns.process_limit,
        auth_cache_max_age=ns.auth_cache_max_age,
        websocket_max_age=ns.websocket_max_age,
        activity_interval=_activity_interval(env, ns.activity_interval),
        activity_retry=ns.activity_retry,
        activity_retry_max=ns.activity_retry_max,
        hub_timeout=ns.hub_timeout,
        git_timeout=ns.git_timeout,
        status_key=_status_key(env),
        status_max_skew=ns.status_max_skew,
        log_echo_rate=ns.log_echo_rate,
        log_echo_burst=ns.log_echo_burst,
        log_echo_line_length=max(1, ns.log_echo_line_length),
        log_echo_note_interval=ns.log_echo_note_interval,
        request_head_timeout=ns.request_head_timeout,
        request_body_timeout=ns.request_body_timeout,
        request_body_min_rate=ns.request_body_min_rate,
        viewer_window=ns.viewer_window,
        hub_version=ns.hub_version,
        launcher_url=launcher_url,
        check_file=ns.check_file,
        source_file=ns.source_file,
        report_url=report_url,
        report_ca=_report_ca(env),
        report_timeout=ns.report_timeout,
        report_retries=ns.report_retries,
        report_log_lines=ns.report_log_lines,
        report_log_bytes=ns.report_log_bytes,
        viewer_session_gap=ns.viewer_session_gap,
        announce_port=ns.announce_port,
    )
