"""The Hub's readiness checks of an ``https`` service under ``internal_ssl``, made to work.

Under JupyterHub's ``internal_ssl`` the launcher service serves TLS with the certificate the Hub made for it
(:mod:`hubapps.service.serve`), so its URL is ``https``. JupyterHub (5.x and 6.x, up to its current main
branch) cannot check such a service:

- at start, ``JupyterHub.start_service`` is handed the Hub's own *server* context (made for
  ``Purpose.CLIENT_AUTH``), and connecting with it fails at once ("Cannot create a client socket with a
  PROTOCOL_TLS_SERVER context"), so the Hub stops: "Cannot connect to japps service managed";
- its periodic health check (``check_services_health``) asks with no context at all, so the internal CA is
  not trusted and every check ends in a timeout warning.

:func:`fix_service_checks` wraps ``Server.wait_up`` (what both call) so that an ``https`` check made
with a server context, or with none by a server that has no certificate files of its own, uses the client
context JupyterHub itself makes for its internal connections (``make_ssl_context`` with the Hub's internal
key, certificate and CA, ``Purpose.SERVER_AUTH``). Nothing else changes: checks of plain ``http`` URLs,
and checks given a client context (the Hub's checks of servers), pass through untouched. Applied only when
``internal_ssl`` is on, once per process.
"""

from __future__ import annotations

import functools
import ssl
from typing import Any

__all__ = ["fix_service_checks", "hub_client_context"]

_FIXED = "_hubapps_client_context_for_https_checks"


def hub_client_context() -> ssl.SSLContext | None:
    """The client context of the running Hub's internal SSL, as JupyterHub makes it; None without one."""
    from jupyterhub.app import JupyterHub
    from jupyterhub.utils import make_ssl_context

    if not JupyterHub.initialized():
        return None
    app = JupyterHub.instance()
    if not app.internal_ssl:
        return None
    context: ssl.SSLContext | None = make_ssl_context(
        app.internal_ssl_key, app.internal_ssl_cert, cafile=app.internal_ssl_ca, purpose=ssl.Purpose.SERVER_AUTH
    )
    return context


def _needs_client_context(server: Any, http: bool, context: ssl.SSLContext | None) -> bool:
    if not http or not str(getattr(server, "url", "")).startswith("https:"):
        return False
    if context is None:
        return not (getattr(server, "keyfile", "") and getattr(server, "certfile", ""))
    return context.protocol == ssl.PROTOCOL_TLS_SERVER


def fix_service_checks() -> None:
    """Wrap ``jupyterhub.objects.Server.wait_up`` (idempotent); see the module's docstring."""
    from jupyterhub.objects import Server

    original = Server.wait_up
    if getattr(original, _FIXED, False):
        return

    @functools.wraps(original)
    def wait_up(
        self: Any, timeout: float = 10, http: bool = False, ssl_context: ssl.SSLContext | None = None, **kwargs: Any
    ) -> Any:
        if _needs_client_context(self, http, ssl_context):
            ssl_context = hub_client_context() or ssl_context
        return original(self, timeout=timeout, http=http, ssl_context=ssl_context, **kwargs)

    setattr(wait_up, _FIXED, True)
    Server.wait_up = wait_up
