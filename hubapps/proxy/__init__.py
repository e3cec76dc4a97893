"""hubapps-proxy: the per-app process the spawner starts in place of ``jupyterhub-singleuser``.

It starts the app on a free 127.0.0.1 port, shows a live startup page until the app answers its ready
check, then forwards HTTP and websockets to it behind Hub OAuth (one choke point:
:class:`hubapps.proxy.auth.HubAuthGate`). Modules: ``config`` (argv + env → :class:`ProxyConfig`),
``process`` (the app process), ``checkout`` (git), ``auth``, ``forward``, ``pages``, ``activity``,
``server`` (wiring) and ``main`` (entry point).

This package imports nothing from ``hubapps.service`` or ``hubapps.hub``: it ships into app environments.
"""

from hubapps.proxy.config import ConfigError, ProxyConfig, parse_config

__all__ = ["ConfigError", "ProxyConfig", "parse_config"]
