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
            protected_env=frozenset({"GUNICORN_CMD_ARGS", "FORWARDED_ALLOW_IPS"}),
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
