"""hubapps-proxy: the per-app process the spawner starts in place of ``jupyterhub-singleuser``.

It starts the app on a free 127.0.0.1 port, shows a live startup page until the app answers its ready
check, then forwards HTTP and websockets to it behind Hub OAuth (one choke point:
:class:`hubapps.proxy.auth.HubAuthGate`). Modules: ``config`` (argv + env → :class:`ProxyConfig`),
``process`` (the app process), ``checkout`` (git), ``http`` (the viewer side: HTTP/1.1 server), ``wire``
(its request and response types), ``forward`` (the app side), ``auth``, ``hubapi`` and ``scopes`` (Hub
OAuth, token lookups, the scope check), ``pages``, ``activity``, ``watch`` (open websockets re-checked and aged
out), ``server`` (routing and wiring) and ``main`` (entry point; ``python -I -m hubapps.proxy``).

This package imports nothing from ``hubapps.service`` or ``hubapps.hub``, and no web framework or HTTP
client library: it runs beside every app (see ``docs/proxy.md``, "Inside").
"""

from hubapps.proxy.config import ConfigError, ProxyConfig, parse_config

__all__ = ["ConfigError", "ProxyConfig", "parse_config"]
