"""The Hub's theme as upstream JHub Apps reads it: ``c.JupyterHub.template_vars`` keys → one theme.

Pure data and functions, shared by the Hub side (template variables) and the service (its pages,
``/config.json``, ``/theme``, ``/theme.css``). Defaults never point off this Hub: the launcher works
offline, so there is no web font and no remote logo unless the admin sets one.
"""

from __future__ import annotations

from typing import Any, Final

__all__ = ["DEFAULT_THEME", "THEME_KEYS"]

#: The ``template_vars`` keys upstream JHub Apps reads as its theme.
THEME_KEYS: Final = (
    "logo",
    "favicon",
    "font_family",
    "font_url",
    "primary_color",
    "primary_color_light",
    "primary_color_dark",
    "secondary_color",
    "secondary_color_dark",
    "accent_color",
    "accent_color_dark",
    "accent_text_color",
    "text_color",
    "h1_color",
    "h2_color",
    "navbar_color",
    "navbar_text_color",
    "navbar_hover_color",
    "hub_title",
    "hub_subtitle",
    "welcome",
)

#: What ``themes.DEFAULT_THEME`` gives an upstream config: nothing that leaves this Hub.
DEFAULT_THEME: Final[dict[str, Any]] = {
    "logo": "",
    "favicon": "",
    "font_family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    "font_url": "",
}
