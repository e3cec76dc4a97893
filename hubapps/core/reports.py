"""The app proxy → launcher service report channel: what a report is, and how it is signed.

An app's ``hubapps-proxy`` tells the launcher service a few facts about its own app (pushed, since the
service cannot ask a proxy that has exited): that a run **started** (with the sha256 of the app's file or
the commit of its checkout), that it became **ready** (and how fast), that a viewer session was
**opened**, and how the run **exited** (final state, reason, log tail) — sent before the proxy exits.

The proxy signs each report with the credential it already holds, its own app key ``K_app``
(:mod:`hubapps.core.statuskey`), never a user's token or cookie:

- ``POST <service prefix>api/internal/reports``, body a JSON object that names ``owner`` and ``server``;
- header ``X-Hubapps-Status: statuskey.sign(K_app, "POST", report_sub(body))``, where
  :func:`report_sub` binds the signature to the exact body (its sha256), so a captured header is worth
  one body only, for ``max_skew`` seconds.

The service derives ``K_app`` from the owner and server the body names (``app_key(K, owner, server)``):
a report signed with one app's key and naming another app fails. The app's own code runs as the same
uid as its proxy and may read ``K_app``, so the service takes a report as the word of that app about
itself, and nothing more (see docs/security.md).
"""

from __future__ import annotations

import hashlib

__all__ = [
    "EXIT_STATES",
    "MAX_LOG_LINE",
    "REPORT_CA_ENV_VAR",
    "REPORT_KINDS",
    "REPORT_PATH",
    "SERVERS_CA",
    "SERVICE_CERTS_ENV_VAR",
    "report_sub",
]

#: The service's endpoint, relative to its prefix.
REPORT_PATH = "api/internal/reports"
#: Under JupyterHub's ``internal_ssl``: the PEM of the CA that signs the launcher service's certificate
#: (JupyterHub's ``notebooks-ca``, which signs every server's), set by the spawner for the app's proxy. The
#: Hub's trust bundle for servers leaves it out (servers never talk to each other), so the proxy trusts it
#: for its reports alone. A CA certificate is public; the proxy still keeps it from the app.
REPORT_CA_ENV_VAR = "HUBAPPS_REPORT_CA"
#: Under ``internal_ssl``: JupyterHub's certificate store (``internal_certs_location``, absolute), where the
#: launcher service finds that same CA, to accept the client certificates the apps' proxies report with.
SERVICE_CERTS_ENV_VAR = "HUBAPPS_INTERNAL_CERTS"
#: The CA (a record of JupyterHub's certipy store) that signs every server's certificate, the service's too.
SERVERS_CA = "notebooks-ca"
#: What a report may say.
REPORT_KINDS = ("started", "ready", "opened", "exited")
#: A run's final states: stopped (by the Hub, a normal stop) or failed (the proxy gave up).
EXIT_STATES = ("stopped", "failed")
#: Longest log line a report carries, in characters (the proxy cuts; the service refuses longer).
MAX_LOG_LINE = 2000


def report_sub(body: bytes) -> str:
    """The signed "path" of a report: the endpoint and the sha256 of the exact body sent."""
    return f"{REPORT_PATH}?sha256={hashlib.sha256(body).hexdigest()}"
