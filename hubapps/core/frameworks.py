"""Frameworks as data.

A :class:`Framework` says how to run one kind of app behind a URL prefix using the framework's own
command line or settings, so that user scripts need no launcher-specific code. The argv and env are
templates made of fixed tokens, replaced by plain string replacement (never ``str.format``):

=================  ==================================================================================
``{python}``       the environment's Python (resolved by the proxy; a whole argument only)
``{socket}``       the unix socket the app must listen on, in a folder only the app's user can open
                   (made by the proxy); frameworks whose templates use it never get a TCP port
``{port}``         the port the app must listen on on 127.0.0.1 (chosen by the proxy), for frameworks
                   that cannot listen on a unix socket (``Framework.tcp_only`` says why)
``{file}``         the script or notebook, relative to the app's working directory (or absolute)
``{file_dir}``     the folder of ``{file}`` (``.`` when it is in the working directory)
``{module}``       the file's name without ``.py``, for ``module:app`` style servers
``{prefix}``       the public URL prefix of the app, with a trailing slash (``/user/ann/sales/``)
``{root_path}``    the same prefix without the trailing slash
``{decoded_root_path}``  the same, with the Hub's %-escapes of user and server names decoded, for
                   servers that route on decoded paths (Starlette-based Streamlit)
``{args}``         (whole argument) the spec's extra arguments, each passed literally
``{command}``      (whole argument) the spec's command, each argument passed literally
=================  ==================================================================================

Each framework also names what a spec may not change (``protected_env``, ``protected_args``): the
variables and options its server reads for its bind address, port, base path, websocket origins, CORS
and XSRF, so that a spec cannot put the app on another interface or take the prefix away.

Frameworks are found through the entry-point group ``hubapps.frameworks``: each entry point names a
callable returning an iterable of :class:`Framework`. A plugin that fails to load is skipped with a
warning. The built-ins are always present and come first; a plugin cannot replace them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from types import MappingProxyType
from typing import Final

from hubapps.core.errors import UnknownFramework

__all__ = [
    "ENTRY_POINT_GROUP",
    "Framework",
    "FrameworkRegistry",
    "builtin_frameworks",
]

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP: Final = "hubapps.frameworks"


def _frozen(mapping: Mapping[str, str] | None = None) -> Mapping[str, str]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class Framework:
    """How to run one kind of app.

    ``strip_prefix`` tells the proxy to remove the public prefix before forwarding (for servers that
    only serve at ``/`` and learn the prefix from ``root_path``-style settings); otherwise the app is
    configured to serve under the prefix itself. ``ready_path`` is relative to the app's root.
    ``singleuser`` frameworks run ``jupyterhub-singleuser`` (which does its own Hub OAuth) instead of
    the proxy. ``needs_hub_token`` lets the app see ``JUPYTERHUB_API_TOKEN``.
    """

    name: str
    display_name: str
    description: str
    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=_frozen)
    strip_prefix: bool = False
    ready_path: str = ""
    ready_timeout: float = 300.0
    needs_file: bool = True
    file_suffixes: tuple[str, ...] = (".py",)
    singleuser: bool = False
    needs_hub_token: bool = False
    #: Python packages the app environment needs (shown to admins and users, installed by nobody).
    packages: tuple[str, ...] = ()
    #: Used by the tests and docs: does the framework's page talk over a websocket?
    websocket: bool = False
    #: ``None``: the spec's ``args`` go to the user's own program, any are fine. Otherwise they reach a
    #: server the admin configured (``jupyterhub-singleuser``), and only ``--<option>=<value>`` with an
    #: option named here is accepted: the value is checked by the kind named (``"url_path"``, ``"path"``).
    allowed_options: Mapping[str, str] | None = None

    #: Why the app cannot listen on a unix socket and gets a loopback port (``{port}``) instead; empty for
    #: frameworks whose templates use ``{socket}`` (and for ``singleuser`` ones, which the Hub reaches itself).
    tcp_only: str = ""
    #: Environment variables a spec may not set, besides the keys of ``env`` (always protected).
    protected_env: frozenset[str] = frozenset()
    #: Prefixes of protected variable names (``STREAMLIT_SERVER_``).
    protected_env_prefixes: tuple[str, ...] = ()
    #: What the app's environment must have for the framework to run, each as ``kind:name``:
    #: ``python:<module>`` (a top-level module the environment's Python finds), ``program:<name>`` (an
    #: executable on ``PATH``), ``r:<package>`` (an installed R package). A framework missing one is
    #: listed as unavailable, with the reason (:mod:`hubapps.core.runtimes`). Empty: nothing is checked.
    requires: tuple[str, ...] = ()
    #: Shown under the framework in the deploy form: what file to give and what to expect.
    help: str = ""
    #: The server writes the app's decoded prefix into its HTML without escaping it: an address whose user or
    #: server name decodes to HTML syntax (``<>"'&``) is refused rather than served as markup.
    prefix_in_html: bool = False
    #: Options the spec's ``args`` may not contain: ``--port`` also refuses ``--port=1``, and a name
    #: ending in ``.`` refuses every option under it (``--server.``).
    protected_args: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "env", _frozen(self.env))
        object.__setattr__(self, "protected_env", frozenset(self.protected_env))
        if self.allowed_options is not None:
            object.__setattr__(self, "allowed_options", _frozen(self.allowed_options))

    @property
    def listens_on_socket(self) -> bool:
        """Whether the templates put the app on ``{socket}`` (a custom command decides for itself)."""
        return any("{socket}" in item for item in (*self.argv, *self.env.values()))

    def protects_env(self, name: str) -> bool:
        """Whether a spec may not set the environment variable ``name``."""
        return name in self.env or name in self.protected_env or name.startswith(self.protected_env_prefixes)

    def protects_arg(self, arg: str) -> bool:
        """Whether a spec may not pass ``arg`` to the app (an option of the server's own)."""
        for option in self.protected_args:
            if arg == option or arg.startswith(option + "=") or (option.endswith(".") and arg.startswith(option)):
                return True
        return False


#: Bokeh's settings read from the environment that touch where and how the server listens or whom it trusts
#: (``bokeh/settings.py``); Panel runs Bokeh's server and reads the same.
_BOKEH_ENV = frozenset(
    {
        "BOKEH_ALLOW_WS_ORIGIN",
        "BOKEH_XSRF_COOKIES",
        "BOKEH_SSL_CERTFILE",
        "BOKEH_SSL_KEYFILE",
        "BOKEH_SSL_PASSWORD",
        "BOKEH_DEFAULT_SERVER_HOST",
        "BOKEH_DEFAULT_SERVER_PORT",
    }
)
#: ``bokeh serve`` / ``panel serve`` options for the listening address, the prefix and trusted origins.
_BOKEH_ARGS = (
    "--port",
    "--address",
    "--unix-socket",
    "--prefix",
    "--allow-websocket-origin",
    "--use-xheaders",
    "--ssl-certfile",
    "--ssl-keyfile",
    "--xsrf-cookies",
)


def builtin_frameworks() -> list[Framework]:
    """The frameworks hubapps ships with."""
    local = "127.0.0.1"
    # Each argv is laid out as option-value pairs, by hand.
    # fmt: off
    return [
        Framework(
            name="streamlit",
            display_name="Streamlit",
            description="Data apps written as Python scripts.",
            argv=(
                "{python}", "-m", "streamlit", "run", "{file}",
                "--server.port", "{port}",
                "--server.address", local,
                "--server.headless", "true",
                # Streamlit's server routes on the decoded path: /user/ann%40x/app must be given as /user/ann@x/app.
                "--server.baseUrlPath", "{decoded_root_path}",
                "--browser.gatherUsageStats", "false",
                # Viewers of a launched app get no "Deploy" button or developer menu (Streamlit shows them
                # to visitors on localhost, as on a single-machine Hub).
                "--client.toolbarMode", "viewer",
                "--", "{args}",
            ),
            env={"STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"},
            ready_path="_stcore/health",
            packages=("streamlit",),
            requires=("python:streamlit",),
            websocket=True,
            tcp_only=(
                "Streamlit's server (Starlette on uvicorn, in 1.67) refuses a unix:// server.address: "
                "\"Unix sockets are not supported with Starlette currently\"."
            ),
            # Every server.* option can be set as STREAMLIT_SERVER_<OPTION> (address, port, baseUrlPath,
            # enableCORS, enableXsrfProtection, allowedHosts, corsAllowedOrigins, ...).
            protected_env=frozenset(
                {
                    "STREAMLIT_GLOBAL_DEVELOPMENT_MODE",
                    "STREAMLIT_BROWSER_SERVER_ADDRESS",
                    "STREAMLIT_BROWSER_SERVER_PORT",
                }
            ),
            protected_env_prefixes=("STREAMLIT_SERVER_",),
            protected_args=("--server.", "--global.developmentMode", "--browser.serverAddress", "--browser.serverPort"),
        ),
        Framework(
            name="panel",
            display_name="Panel",
            description="Dashboards and apps from the HoloViz Panel library.",
            argv=(
                "{python}", "-m", "panel", "serve", "{file}",
                "--unix-socket", "{socket}",
                "--prefix", "{root_path}",
                # The proxy checks the websocket Origin itself, before the app sees the request.
                "--allow-websocket-origin", "*",
                "--index", "{module}",
                "--args", "{args}",
            ),
            file_suffixes=(".py", ".ipynb"),
            packages=("panel",),
            requires=("python:panel",),
            websocket=True,
            protected_env=_BOKEH_ENV,
            protected_args=_BOKEH_ARGS,
        ),
        Framework(
            name="bokeh",
            display_name="Bokeh",
            description="Bokeh server applications.",
            argv=(
                "{python}", "-m", "bokeh", "serve", "{file}",
                "--unix-socket", "{socket}",
                "--prefix", "{root_path}",
                "--allow-websocket-origin", "*",
                "--args", "{args}",
            ),
            file_suffixes=(".py", ".ipynb"),
            packages=("bokeh",),
            requires=("python:bokeh",),
            websocket=True,
            protected_env=_BOKEH_ENV,
            protected_args=_BOKEH_ARGS,
        ),
        Framework(
            name="voila",
            display_name="Voilà",
            description="Jupyter notebooks turned into standalone web pages.",
            argv=(
                "{python}", "-m", "voila", "{file}",
                "--port={port}",
                "--no-browser",
                "--Voila.ip=" + local,
                "--Voila.base_url={prefix}",
                "--Voila.tornado_settings=allow_remote_access=True",
                "--ServerApp.allow_remote_access=True",
            ),
            file_suffixes=(".ipynb",),
            packages=("voila", "ipykernel"),
            requires=("python:voila",),
            websocket=True,
            tcp_only=(
                "Voilà's own server (voila 0.5) listens with app.listen(port, ip) and has no socket option; "
                "as a Jupyter Server extension (ServerApp.sock) it would put a whole Jupyter Server in front of "
                "the viewers."
            ),
            # VOILA_APP_IP/PORT, VOILA_SERVER_URL, VOILA_WS_BASE_URL... tell the kernels where the server is.
            protected_env_prefixes=("VOILA_",),
        ),
        Framework(
            name="gradio",
            display_name="Gradio",
            description="Machine-learning demos built with Gradio.",
            argv=("{python}", "{file}", "{args}"),
            env={
                "GRADIO_SERVER_NAME": local,
                "GRADIO_SERVER_PORT": "{port}",
                "GRADIO_ROOT_PATH": "{root_path}",
                "GRADIO_ANALYTICS_ENABLED": "False",
            },
            strip_prefix=True,
            packages=("gradio",),
            requires=("python:gradio",),
            websocket=False,
            tcp_only=(
                "Gradio starts uvicorn with a host and a port only (gradio/http_server.py start_server) and "
                "checks its own URL over TCP; the script's launch() call owns the server."
            ),
            protected_env=frozenset(
                {
                    "GRADIO_SHARE",  # a public tunnel through gradio.live
                    "GRADIO_SHARE_SERVER_ADDRESS",
                    "GRADIO_NUM_PORTS",
                    "GRADIO_SSR_MODE",  # starts a Node server on a port of its own
                    "GRADIO_NODE_SERVER_NAME",
                    "GRADIO_NODE_SERVER_PORT",
                    "GRADIO_NODE_NUM_PORTS",
                    "GRADIO_PYTHON_HOST",
                    "GRADIO_PYTHON_PORT",
                    "GRADIO_STATIC_WORKER_PORTS",
                }
            ),
        ),
        Framework(
            name="dash",
            display_name="Plotly Dash",
            description="Plotly Dash apps (the script calls app.run()).",
            argv=("{python}", "{file}", "{args}"),
            # app.run() takes HOST from the environment and hands it to werkzeug, which binds unix://PATH.
            env={"HOST": "unix://{socket}", "DASH_URL_BASE_PATHNAME": "{prefix}"},
            packages=("dash",),
            requires=("python:dash",),
            # DASH_* (DASH_PROXY, DASH_REQUESTS_PATHNAME_PREFIX, DASH_ROUTES_PATHNAME_PREFIX, DASH_DEBUG...),
            # Flask's FLASK_RUN_* and werkzeug's WERKZEUG_SERVER_FD / WERKZEUG_RUN_MAIN (an inherited socket).
            protected_env=frozenset({"PORT"}),
            protected_env_prefixes=("DASH_", "FLASK_RUN_", "WERKZEUG_"),
        ),
        Framework(
            name="fastapi",
            display_name="API service (FastAPI / ASGI)",
            description="Any ASGI app named `app` in the file, served by uvicorn.",
            argv=(
                "{python}", "-m", "uvicorn",
                "--app-dir", "{file_dir}",
                "--uds", "{socket}",
                "--root-path", "{root_path}",
                "{module}:app",
            ),
            strip_prefix=True,
            packages=("uvicorn",),
            requires=("python:uvicorn",),
            # uvicorn reads every option as UVICORN_<OPTION> (host, port, uds, fd, root_path, proxy_headers...).
            protected_env=frozenset({"FORWARDED_ALLOW_IPS"}),
            protected_env_prefixes=("UVICORN_",),
        ),
        Framework(
            name="flask",
            display_name="Flask / WSGI",
            description="Any WSGI app named `app` in the file, served by gunicorn.",
            argv=(
                "{python}", "-m", "gunicorn",
                "--pythonpath", "{file_dir}",
                "--bind", "unix:{socket}",
                "{module}:app",
            ),
            # gunicorn takes SCRIPT_NAME from the environment and strips it from PATH_INFO.
            env={"SCRIPT_NAME": "{root_path}"},
            packages=("flask", "gunicorn"),
            requires=("python:flask", "python:gunicorn"),
            protected_env=frozenset({"GUNICORN_CMD_ARGS", "FORWARDED_ALLOW_IPS"}),
        ),
        Framework(
            name="shiny",
            display_name="Shiny for Python",
            description="Reactive web apps with Shiny for Python (core apps and Shiny Express).",
            help="A .py file that defines a Shiny App named app, or a Shiny Express script.",
            # `shiny run` takes a host and port only: our launcher calls shiny.run_app() with uvicorn's uds.
            argv=(
                "{python}", "-m", "hubapps.launchers.run_shiny",
                "{socket}", "{root_path}", "{file}", "{args}",
            ),
            strip_prefix=True,
            packages=("shiny",),
            requires=("python:shiny", "python:hubapps"),
            websocket=True,
            # SHINY_DEV_MODE (tracebacks and unminified scripts), SHINY_AUTORELOAD_PORT/SECRET (a second,
            # reload server on a port), SHINY_TESTMODE, SHINY_PKG_AUTORELOAD; uvicorn's own.
            protected_env=frozenset({"FORWARDED_ALLOW_IPS"}),
            protected_env_prefixes=("SHINY_", "UVICORN_"),
        ),
        Framework(
            name="marimo",
            display_name="marimo",
            description="A marimo notebook run as an app (read-only: viewers use its controls, never its code).",
            help=(
                "A marimo notebook (.py). It runs with marimo run: viewers see the outputs and use the "
                "controls; the code is neither shown nor editable."
            ),
            argv=(
                "{python}", "-m", "marimo", "run", "{file}",
                "--headless",
                "--host", local,
                "--port", "{port}",
                # marimo's server (Starlette) routes on the decoded path, as Streamlit's does.
                "--base-url", "{decoded_root_path}",
                "--no-token",
                "--no-sandbox",
                "--", "{args}",
            ),
            # marimo asks PyPI whether a newer version exists unless told not to.
            env={"MARIMO_SKIP_UPDATE_CHECK": "1"},
            ready_path="health",
            packages=("marimo",),
            requires=("python:marimo",),
            websocket=True,
            tcp_only="`marimo run` (0.25) listens with uvicorn on --host and --port only; it has no socket option.",
            # MARIMO_* (MARIMO_TOKEN, MARIMO_SERVER_TRANSPORT, MARIMO_SANDBOX_MODE, MARIMO_ENABLE_HOST, ...).
            # The spec's args follow `--`, so they reach the notebook (mo.cli_args()), never marimo itself.
            protected_env_prefixes=("MARIMO_", "UVICORN_"),
        ),
        Framework(
            name="solara",
            display_name="Solara",
            description="Reactive web apps with Solara (ipywidgets and React-style components).",
            help="A .py file (or notebook) that defines a Solara component named Page (or page).",
            # Solara's documented self-hosting: its Starlette app under any ASGI server, the app named by
            # SOLARA_APP; uvicorn listens on the socket (`solara run` takes a host and port only).
            argv=(
                "{python}", "-m", "uvicorn",
                "--uds", "{socket}",
                # As received (%-escaped): uvicorn puts it before the (decoded) rest of the path, so Solara's
                # own prefix check matches, and the links it writes into its page stay escaped.
                "--root-path", "{root_path}",
                "--workers", "1",
                "solara.server.starlette:app",
            ),
            env={
                "SOLARA_APP": "{file}",
                "SOLARA_MODE": "production",
                # Solara sends usage events to Mixpanel by default (solara/server/settings.py, Telemetry).
                "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
            },
            strip_prefix=True,
            ready_path="readyz",
            file_suffixes=(".py", ".ipynb"),
            packages=("solara",),
            requires=("python:solara", "python:uvicorn"),
            websocket=True,
            protected_env=frozenset(
                {"SOLARA_ROOT_PATH", "SOLARA_BASE_URL", "SOLARA_HOST", "HOST", "PORT", "FORWARDED_ALLOW_IPS"}
            ),
            protected_env_prefixes=("SOLARA_TELEMETRY_", "SOLARA_SERVER_", "UVICORN_"),
        ),
        Framework(
            name="nicegui",
            display_name="NiceGUI",
            description="Web user interfaces with NiceGUI (the script calls ui.run()).",
            help=(
                "A .py script that builds its page with NiceGUI and calls ui.run(). Its host, port, reload "
                "and browser settings are replaced: the app listens only behind the Hub."
            ),
            # ui.run() binds 0.0.0.0:8080 by default: our launcher replaces it before the script runs. NiceGUI
            # learns the prefix from the proxy's X-Forwarded-Prefix (with root_path too, it would double it).
            argv=(
                "{python}", "-m", "hubapps.launchers.run_nicegui",
                "{socket}", "{file}", "{args}",
            ),
            strip_prefix=True,
            packages=("nicegui",),
            requires=("python:nicegui", "python:hubapps"),
            websocket=True,
            # NICEGUI_HOST/PORT/PROTOCOL (what a reloaded worker listens on), NICEGUI_SCREEN_TEST_PORT, ...
            protected_env=frozenset({"FORWARDED_ALLOW_IPS"}),
            protected_env_prefixes=("NICEGUI_", "UVICORN_"),
        ),
        Framework(
            name="rshiny",
            display_name="R Shiny",
            description="Shiny apps written in R.",
            help="A single-file R Shiny app (app.R) that ends with shinyApp(ui, server). Needs R on the server.",
            # A fixed R expression: the file and the port arrive as trailing arguments, never as R code.
            argv=(
                "Rscript", "-e",
                "a <- commandArgs(trailingOnly = TRUE); "
                'shiny::runApp(a[[1]], host = "127.0.0.1", port = as.integer(a[[2]]), launch.browser = FALSE)',
                "{file}", "{port}", "{args}",
            ),
            strip_prefix=True,
            file_suffixes=(".R", ".r"),
            requires=("program:Rscript", "r:shiny"),
            websocket=True,
            tcp_only=(
                "shiny::runApp() (R shiny 1.7) listens with httpuv on a host and a port; httpuv's pipe server is "
                "not reachable through runApp."
            ),
            # R reads these at startup: another profile could change shiny's options (shiny.host, shiny.port).
            protected_env=frozenset({"R_PROFILE", "R_PROFILE_USER", "R_ENVIRON", "R_ENVIRON_USER"}),
            protected_env_prefixes=("SHINY_",),
        ),
        Framework(
            name="chainlit",
            display_name="Chainlit",
            description="Chat apps built with Chainlit.",
            help=(
                "A .py file with Chainlit handlers (@cl.on_message, ...). Chainlit writes its .chainlit/ and .files/ "
                "folders and chainlit.md next to it on the first run."
            ),
            argv=(
                "{python}", "-m", "chainlit", "run", "{file}",
                "--headless",
                "--host", local,
                "--port", "{port}",
                # Chainlit's routes (FastAPI) take the prefix as a router prefix: given decoded, as Streamlit's.
                "--root-path", "{decoded_root_path}",
            ),
            # Traceloop's SDK (installed with Chainlit, used by its LiteralAI instrumentation) reports usage
            # unless told not to.
            env={"TRACELOOP_TELEMETRY": "false"},
            # chainlit/server.py get_html_template: f'<meta property="og:root_path" content="{root_path}">'.
            prefix_in_html=True,
            packages=("chainlit",),
            requires=("python:chainlit",),
            websocket=True,
            tcp_only=(
                "Chainlit 2.12 starts uvicorn with CHAINLIT_HOST and CHAINLIT_PORT only (chainlit/cli/__init__.py "
                "run_chainlit); it has no socket option."
            ),
            # CHAINLIT_HOST/PORT/ROOT_PATH/PARENT_ROOT_PATH/URL/SSL_CERT/SSL_KEY/APP_ROOT, the CLI's own
            # (auto_envvar_prefix CHAINLIT: CHAINLIT_RUN_*), and the plain names its CLI reads.
            protected_env=frozenset(
                {
                    "CHAINLIT_HOST",
                    "CHAINLIT_PORT",
                    "CHAINLIT_ROOT_PATH",
                    "CHAINLIT_PARENT_ROOT_PATH",
                    "CHAINLIT_URL",
                    "CHAINLIT_SSL_CERT",
                    "CHAINLIT_SSL_KEY",
                    "CHAINLIT_APP_ROOT",
                    "RUN_TARGET",
                    "WATCH",
                    "HEADLESS",
                    "CI",
                    "UVICORN_WS_PROTOCOL",
                    "UVICORN_WS_PER_MESSAGE_DEFLATE",
                }
            ),
            protected_env_prefixes=("CHAINLIT_RUN_",),
        ),
        Framework(
            name="command",
            display_name="Custom command",
            description=(
                "Any command that serves HTTP on the unix socket given as {socket} (also in $HUBAPPS_SOCKET); "
                "a command that names {port} instead gets a port on 127.0.0.1 (also in $PORT)."
            ),
            argv=("{command}",),
            env={"HUBAPPS_SOCKET": "{socket}", "PORT": "{port}", "HUBAPPS_PREFIX": "{prefix}"},
            strip_prefix=True,
            needs_file=False,
        ),
        Framework(
            name="jupyterlab",
            display_name="JupyterLab",
            description="One more JupyterLab, as its own server.",
            argv=("jupyterhub-singleuser", "{args}"),
            needs_file=False,
            singleuser=True,
            needs_hub_token=True,
            packages=("jupyterlab",),
            requires=("program:jupyterhub-singleuser",),
            websocket=True,
            # Which page opens and which folder it shows; never the server's security settings
            # (token, origins, XSRF, extensions, bind address), which are the admin's.
            allowed_options={
                "ServerApp.default_url": "url_path",
                "SingleUserNotebookApp.default_url": "url_path",
                "ServerApp.root_dir": "path",
                "ServerApp.preferred_dir": "path",
                "notebook-dir": "path",
            },
        ),
    ]
    # fmt: on


@dataclass(frozen=True)
class FrameworkRegistry:
    """The frameworks available on this installation, by name."""

    frameworks: Mapping[str, Framework]

    @classmethod
    def load(
        cls,
        entry_point_source: Callable[[], Iterable[EntryPoint]] | None = None,
    ) -> FrameworkRegistry:
        """Collect frameworks from the ``hubapps.frameworks`` entry points.

        A plugin whose entry point fails to import or returns bad data is skipped with a warning, so
        one broken plugin never takes the launcher down. Later plugins may not replace a name that
        is already registered (the built-ins come first).
        """
        source = entry_point_source or (lambda: entry_points(group=ENTRY_POINT_GROUP))
        found: dict[str, Framework] = {fw.name: fw for fw in builtin_frameworks()}
        for ep in sorted(source(), key=lambda e: e.name):
            try:
                provided = list(ep.load()())
                for fw in provided:
                    if not isinstance(fw, Framework):
                        raise TypeError(f"returned {type(fw).__name__}, not Framework")
            except Exception as exc:
                log.warning("Skipping framework plugin %r: %s", ep.name, exc)
                continue
            for fw in provided:
                if fw.name in found:
                    log.warning("Framework plugin %r: %r is already registered, ignored", ep.name, fw.name)
                    continue
                found[fw.name] = fw
                if not (fw.singleuser or fw.tcp_only or fw.listens_on_socket or "{command}" in fw.argv):
                    log.warning(
                        "Framework plugin %r: %r listens on a loopback port that every local user can reach; "
                        "use {socket}, or say why it cannot in tcp_only",
                        ep.name,
                        fw.name,
                    )
        return cls(MappingProxyType(found))

    def enabled(self, allowed: Iterable[str] = (), blocked: Iterable[str] = ()) -> FrameworkRegistry:
        """The registry narrowed by the admin's allow list (empty = all) and block list."""
        allow, block = set(allowed), set(blocked)
        return FrameworkRegistry(
            MappingProxyType({n: f for n, f in self.frameworks.items() if (not allow or n in allow) and n not in block})
        )

    def get(self, name: str) -> Framework:
        try:
            return self.frameworks[name]
        except KeyError:
            raise UnknownFramework(name, list(self.frameworks)) from None

    def __iter__(self) -> Iterator[Framework]:
        return iter(self.frameworks.values())

    def __contains__(self, name: object) -> bool:
        return name in self.frameworks

    def __len__(self) -> int:
        return len(self.frameworks)
