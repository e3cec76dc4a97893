"""hubapps: a JupyterHub app launcher.

``hubapps.install(c)`` is the entry point for ``jupyterhub_config.py``. It is imported lazily so
that importing :mod:`hubapps` (as the proxy does) pulls in no Hub-side code.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "install", "install_jhub_apps"]


def __getattr__(name: str) -> Any:
    if name in {"install", "install_jhub_apps"}:
        from hubapps import hub

        return getattr(hub, name)
    raise AttributeError(name)
