"""hubapps-proxy: the per-app process the spawner starts in place of ``jupyterhub-singleuser``.

It starts the app on a free 127.0.0.1 port, shows a live startup page until the app answers its ready
check, then forwards HTTP and websockets to it behind Hub OAuth (one choke point:
:class:`hubapps.proxy.auth.HubAuthGate`). Modules, each with one concern (``docs/proxy.md``, "Inside"):

- the viewer side: ``listener`` (listening, the connections), ``http`` (one viewer's HTTP/1.1
  connection), ``slow_senders`` (its timeouts), ``exchange`` (one request and routing's verdict),
  ``wire`` (message types, writing heads);
- the app side: ``forward`` (request translation, the connection pool), ``upstream`` (one connection
  to the app, the answer back), ``splice`` (websocket tunnels);
- the Hub: ``auth`` and ``scopes`` (the choke point: token lookups, the scope check), ``oauth`` and
  ``cookies`` (the login, signed cookies), ``hub_client`` (the Hub's REST API), ``identity`` (what the
  app is told about the viewer), ``activity``, ``watch`` (open websockets re-checked and aged out);
- the app: ``process`` (the app process), ``checkout`` (git), ``output`` and ``applog`` (its output);
- the launcher: ``reports`` (start facts, viewer sessions and the exit, pushed with the app's own key);
- ``config`` (argv + env → :class:`ProxyConfig`), ``pages``, ``server`` (routing and wiring) and
  ``main`` (entry point; ``python -I -m hubapps.proxy``).

This package imports only the standard library, ``httptools``, ``uvloop`` and ``hubapps.core``: it runs
beside every app (see ``docs/proxy.md``, "Inside"; checked by the import-linter contracts in
``pyproject.toml``).
"""

from hubapps.proxy.config import ConfigError, ProxyConfig, parse_config

__all__ = ["ConfigError", "ProxyConfig", "parse_config"]
