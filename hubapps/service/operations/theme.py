"""The Hub's theme as upstream JHub Apps served it: ``/config.json``, ``/theme`` and ``/theme.css``.

Nothing to ask the Hub: the theme came with the service's settings (``install()`` read it from
``c.JupyterHub.template_vars`` once the config file had run, and both sides checked it with
:func:`hubapps.core.theme.clean_theme`).
"""

from __future__ import annotations

from typing import Any

from hubapps import __version__
from hubapps.core.theme import runtime_config as _runtime_config
from hubapps.core.theme import theme_css
from hubapps.service.settings import ServiceSettings

__all__ = ["runtime_config", "theme_object", "theme_stylesheet"]


def runtime_config(settings: ServiceSettings) -> dict[str, Any]:
    """Upstream's ``/config.json``: ``{"banners", "theme", "version"}``."""
    return _runtime_config(settings.theme, __version__)


def theme_object(settings: ServiceSettings) -> dict[str, Any]:
    """Upstream's ``/theme``: the ``theme`` object of ``/config.json``."""
    theme: dict[str, Any] = runtime_config(settings)["theme"]
    return theme


def theme_stylesheet(settings: ServiceSettings) -> str:
    """Upstream's ``/theme.css``, which hubapps' pages and the Hub's pages load after Bootstrap."""
    return theme_css(settings.theme)
