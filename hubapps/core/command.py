"""Turn a launch spec and a framework into a command, purely.

No shell is involved anywhere: the result is an argv list. Framework templates are filled by plain
replacement of fixed tokens (see :mod:`hubapps.core.frameworks`); user text (file names, arguments,
env values) is inserted as whole arguments and never parsed as a template, so ``{0.__class__}`` in a
user argument stays exactly that. The tokens left for run time are ``{socket}`` or ``{port}`` (and
``{python}`` as a whole argument), which the proxy fills in once it has made the app's private socket
folder or picked a port: see :func:`uses_socket` for which.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from urllib.parse import unquote

from hubapps.core.errors import SpecError
from hubapps.core.frameworks import Framework
from hubapps.core.spec import AppSpec

__all__ = [
    "PROXY_LIMITS",
    "LaunchContext",
    "ProxyOptions",
    "build_command",
    "check_fits",
    "proxy_options",
    "resolve_paths",
    "uses_socket",
]

#: hubapps-proxy options an admin may set for every app (``c.HubApps.proxy_limits``): name → whether
#: the value is a whole number. Each is a non-negative number; see docs/proxy.md.
PROXY_LIMITS: dict[str, bool] = {
    "log-echo-rate": False,
    "log-echo-burst": False,
    "log-echo-line-length": True,
    "log-echo-note-interval": False,
    "request-head-timeout": False,
    "request-body-timeout": False,
    "request-body-min-rate": False,
    "start-retries": True,
    "max-restarts": True,
    "restart-window": False,
    "restart-backoff": False,
    "failure-linger": False,
    "stop-grace": False,
    "viewer-window": False,
    "viewer-session-gap": False,
    "report-timeout": False,
    "report-retries": True,
    "report-log-lines": True,
    "report-log-bytes": True,
    "activate-timeout": False,
    "git-timeout": False,
    "memory-limit": True,
    "process-limit": True,
    "activity-retry": False,
    "activity-retry-max": False,
}

#: Where, relative to the server's start folder, the proxy clones an app's git repository.
CHECKOUT_ROOT = ".hubapps/checkouts"
_ARGS_SEPARATORS = frozenset({"--", "--args"})
# A page of the server itself: /lab, /lab/tree/a%20b.ipynb, /tree/x (no scheme, no //host, no query tricks).
_URL_PATH = re.compile(r"/(?!/)[A-Za-z0-9_.~%/-]*")
#: What a decoded prefix may not hold for a framework that writes it into HTML unescaped.
_HTML_SYNTAX = re.compile(r"[<>\"'&`\\]")


@dataclass(frozen=True)
class LaunchContext:
    """What the Hub side knows about the server being started."""

    #: Public URL prefix of the server, with a trailing slash (``JUPYTERHUB_SERVICE_PREFIX``).
    prefix: str
    #: The server's name (used for the checkout folder of git apps).
    server_name: str = ""


@dataclass(frozen=True)
class ResolvedPaths:
    """Working directory and file, as the app process will see them."""

    cwd: str
    file: str
    file_dir: str
    checkout: str


@dataclass(frozen=True)
class ProxyOptions:
    """Everything the proxy needs besides the app's argv and env."""

    display_name: str
    cwd: str
    ready_path: str
    ready_timeout: float
    strip_prefix: bool
    public: bool
    keep_alive: bool
    pass_hub_token: bool
    repo_url: str = ""
    repo_ref: str = ""
    checkout: str = ""
    #: Folder of the Python or conda environment to run the app in (``bin/`` is put first on PATH).
    env_prefix: str = ""
    #: Without ``env_prefix``: a conda environment by name, which the proxy looks for in ``conda_env_dirs``.
    conda_env: str = ""
    conda_env_dirs: tuple[str, ...] = ()
    #: Admin limits (None: the proxy's own defaults).
    auth_cache_max_age: int | None = None
    websocket_max_age: float | None = None
    #: The app listens on a unix socket (``{socket}``) in a private folder, not on a loopback port.
    app_socket: bool = False
    #: The Hub's JupyterHub version, sent as ``X-JupyterHub-Version`` (empty: no header).
    hub_version: str = ""
    #: The launcher service's URL (its prefix, or a full URL on its own host): the failure page's links.
    launcher_url: str = ""
    #: The app's Python file (as the app gets it, relative to ``cwd``), compiled by the proxy as the app
    #: starts so that a syntax error fails at once, also for servers that run the file only per viewer.
    check_file: str = ""
    #: The app's file (relative to ``cwd``), whose sha256 the proxy reports to the launcher at each start.
    source_file: str = ""
    #: Where the proxy reports to the launcher service (its internal URL and prefix); empty: no reports.
    report_url: str = ""

    def to_argv(self) -> list[str]:
        """Options for ``hubapps-proxy``, as ``--name=value`` so no value can pose as an option."""
        argv = [
            f"--display-name={self.display_name}",
            f"--cwd={self.cwd}",
            f"--ready-path={self.ready_path}",
            f"--ready-timeout={self.ready_timeout:g}",
        ]
        argv.append("--strip-prefix" if self.strip_prefix else "--no-strip-prefix")
        argv.append("--app-socket" if self.app_socket else "--no-app-socket")
        if self.public:
            argv.append("--public")
        if self.keep_alive:
            argv.append("--keep-alive")
        if self.pass_hub_token:
            argv.append("--pass-hub-token")
        if self.env_prefix:
            argv.append(f"--env-prefix={self.env_prefix}")
        elif self.conda_env:
            argv.append(f"--conda-env={self.conda_env}")
            argv += [f"--conda-env-dir={folder}" for folder in self.conda_env_dirs]
        if self.repo_url:
            argv += [f"--repo={self.repo_url}", f"--repo-ref={self.repo_ref}", f"--checkout={self.checkout}"]
        if self.auth_cache_max_age is not None:
            argv.append(f"--auth-cache-max-age={self.auth_cache_max_age}")
        if self.websocket_max_age is not None:
            argv.append(f"--websocket-max-age={self.websocket_max_age:g}")
        if self.hub_version:
            argv.append(f"--hub-version={self.hub_version}")
        if self.launcher_url:
            argv.append(f"--launcher-url={self.launcher_url}")
        if self.check_file:
            argv.append(f"--check-file={self.check_file}")
        if self.source_file:
            argv.append(f"--source-file={self.source_file}")
        if self.report_url:
            argv.append(f"--report-url={self.report_url}")
        return argv


def resolve_paths(spec: AppSpec, context: LaunchContext) -> ResolvedPaths:
    """Apply the path rules.

    * The base is the server's start folder (the user's home), or the git checkout plus its
      subdirectory for git apps.
    * With ``working_dir`` set, the app runs there and a relative ``filepath`` is relative to it.
    * Without it, the app runs in the file's folder and gets the file by its bare name.
    """
    checkout = ""
    base = ""
    if spec.repository is not None:
        checkout = posixpath.join(CHECKOUT_ROOT, context.server_name or "app")
        base = posixpath.join(checkout, spec.repository.subdirectory) if spec.repository.subdirectory else checkout
    if spec.working_dir:
        cwd = posixpath.join(base, spec.working_dir) if base else spec.working_dir
        file = spec.filepath
    else:
        full = posixpath.join(base, spec.filepath) if base else spec.filepath
        cwd = posixpath.dirname(full) or base or "."
        file = posixpath.basename(full) if spec.filepath else ""
    file_dir = posixpath.dirname(file) or "."
    return ResolvedPaths(cwd=posixpath.normpath(cwd), file=file, file_dir=file_dir, checkout=checkout)


def _check_file(spec: AppSpec, framework: Framework) -> None:
    if not framework.needs_file:
        return
    if not spec.filepath:
        raise SpecError("filepath", f"{framework.display_name} apps need a file to run")
    if spec.filepath.endswith("/"):
        raise SpecError("filepath", "must name a file, not a folder")
    if framework.file_suffixes and not spec.filepath.endswith(framework.file_suffixes):
        wanted = " or ".join(framework.file_suffixes)
        raise SpecError("filepath", f"{framework.display_name} apps run a {wanted} file")
    if any("{module}" in item for item in framework.argv):
        stem = posixpath.basename(spec.filepath).removesuffix(".py")
        if not stem.isidentifier():
            raise SpecError("filepath", f"the file name {stem!r} must be a valid Python module name")


def _check_options(spec: AppSpec, framework: Framework) -> None:
    """Arguments that reach an admin-configured server may only be the options it allows."""
    allowed = framework.allowed_options
    if allowed is None:
        return
    names = ", ".join(f"--{name}" for name in sorted(allowed)) or "none"
    for index, arg in enumerate(spec.args):
        field = f"args.{index}"
        name, sep, value = arg.removeprefix("--").partition("=")
        kind = allowed.get(name) if arg.startswith("--") and sep else None
        if kind is None:
            raise SpecError(
                field,
                f"{framework.display_name} takes only these options, as --option=value: {names} "
                "(its security settings are the admin's)",
            )
        if kind == "url_path" and not _URL_PATH.fullmatch(value):
            raise SpecError(field, f"--{name} must be a path on the server, such as /lab")
        if kind == "path" and (not value or value.startswith("-") or ".." in value.replace("\\", "/").split("/")):
            raise SpecError(field, f"--{name} must be a folder path without '..'")


def uses_socket(spec: AppSpec, framework: Framework) -> bool:
    """Whether the app listens on a unix socket (``{socket}``) rather than a loopback port (``{port}``).

    A framework listens on a socket when its templates say ``{socket}``. A custom command does unless it
    names ``{port}``: the safe choice is the default, and a command that can only take a port says so.
    """
    if "{command}" in framework.argv:
        return not any("{port}" in item for item in spec.command)
    return framework.listens_on_socket


#: Why a protected variable or option is refused (after what it is).
_PROTECTED_WHY = (
    "where and how the app listens (address, port, base path, websocket origins, CORS, XSRF), which hubapps sets "
    "so that the app is reached only through its login"
)


def _check_protected(spec: AppSpec, framework: Framework) -> None:
    # Secret variables reach the app's environment too: their names obey the same rule, checked when the
    # spec is saved (the values are ciphertext here; only the names matter).
    for field, names in (("env", spec.env), ("secret_env", spec.secret_env)):
        for name in names:
            if framework.protects_env(name):
                reason = f"{name} is reserved: {framework.display_name} reads it for {_PROTECTED_WHY}"
                raise SpecError(f"{field}.{name}", reason)
    for index, arg in enumerate(spec.args):
        if framework.protects_arg(arg):
            option = arg.split("=", 1)[0]
            raise SpecError(f"args.{index}", f"{option!r} is reserved: it sets {_PROTECTED_WHY}")


def check_fits(spec: AppSpec, framework: Framework) -> None:
    """Raise :class:`SpecError` when the spec does not fit the framework (no file, wrong file type,
    a missing or unexpected custom command, an env name or argument the framework keeps for itself)."""
    if spec.framework != framework.name:
        raise SpecError("framework", f"spec is for {spec.framework!r}, not {framework.name!r}")
    _check_file(spec, framework)
    if "{command}" in framework.argv and not spec.command:
        raise SpecError("command", "a custom command is required for this framework")
    if "{command}" not in framework.argv and spec.command:
        raise SpecError("command", f"{framework.display_name} apps do not take a custom command")
    _check_options(spec, framework)
    if "{command}" in framework.argv:
        tokens = {token for token in ("{port}", "{socket}") if any(token in item for item in spec.command)}
        if len(tokens) > 1:
            raise SpecError("command", "name either {socket} (a unix socket, preferred) or {port}, not both")
    _check_protected(spec, framework)


def build_command(spec: AppSpec, framework: Framework, context: LaunchContext) -> tuple[list[str], dict[str, str]]:
    """The app's argv and environment (before the proxy fills in ``{socket}`` or ``{port}``, and ``{python}``).

    Framework env entries for the way of listening the app does not use are left out (``PORT`` for a
    command on a socket, ``HUBAPPS_SOCKET`` for one on a port).

    Raises :class:`SpecError` when the spec does not fit the framework (see :func:`check_fits`).
    """
    check_fits(spec, framework)
    paths = resolve_paths(spec, context)
    prefix = context.prefix if context.prefix.endswith("/") else context.prefix + "/"
    if framework.prefix_in_html and _HTML_SYNTAX.search(unquote(prefix)):
        raise SpecError(
            "framework",
            f"{framework.display_name} writes the app's address into its pages unescaped, and this address "
            "(its user or server name) holds characters that would turn into markup there (<>\"'&); "
            "choose another framework",
        )
    fixed = {
        "{file}": paths.file,
        "{file_dir}": paths.file_dir,
        "{module}": posixpath.basename(paths.file).removesuffix(".py"),
        "{prefix}": prefix,
        "{root_path}": prefix.rstrip("/"),
        "{decoded_root_path}": unquote(prefix).rstrip("/"),
    }

    def fill(template: str) -> str:
        for token, value in fixed.items():
            template = template.replace(token, value)
        return template

    argv: list[str] = []
    for item in framework.argv:
        if item == "{args}":
            if not spec.args and argv and argv[-1] in _ARGS_SEPARATORS:
                argv.pop()  # "--args" with nothing after it would be an error in some CLIs
            argv.extend(spec.args)
        elif item == "{command}":
            argv.extend(spec.command)
        else:
            argv.append(fill(item))
    unused = "{port}" if uses_socket(spec, framework) else "{socket}"
    env = {key: fill(value) for key, value in framework.env.items() if unused not in value}
    env.update(spec.env)
    return argv, env


def proxy_options(
    spec: AppSpec,
    framework: Framework,
    context: LaunchContext,
    env_prefix: str = "",
    conda_env_dirs: tuple[str, ...] = (),
) -> ProxyOptions:
    """The ``hubapps-proxy`` options for this app: ``env_prefix`` is the ``python_env`` the admin mapped
    to a folder; a ``python_env`` without one is a conda environment looked for in ``conda_env_dirs``."""
    paths = resolve_paths(spec, context)
    repo = spec.repository
    return ProxyOptions(
        display_name=spec.display_name,
        cwd=paths.cwd,
        ready_path=framework.ready_path,
        ready_timeout=framework.ready_timeout,
        strip_prefix=framework.strip_prefix,
        public=spec.public,
        keep_alive=spec.keep_alive,
        pass_hub_token=framework.needs_hub_token,
        repo_url=repo.url if repo else "",
        repo_ref=repo.ref if repo else "",
        checkout=paths.checkout,
        env_prefix=env_prefix,
        conda_env="" if env_prefix else spec.python_env,
        conda_env_dirs=conda_env_dirs,
        app_socket=uses_socket(spec, framework),
        check_file=paths.file if framework.needs_file and paths.file.endswith(".py") else "",
        source_file=paths.file,
    )
