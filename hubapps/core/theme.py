"""The Hub's theme as upstream JHub Apps reads it: ``c.JupyterHub.template_vars`` keys → one theme.

Pure data and functions, shared by the Hub side (template variables) and the service (its pages,
``/config.json``, ``/theme``, ``/theme.css``). Defaults never point off this Hub: the launcher works
offline, so there is no web font and no remote logo unless the admin sets one.

The values are the admin's, but they end up inside CSS, HTML attributes and a page's
Content-Security-Policy, so each is read as data of one kind and refused (left out, with a reason)
otherwise: a colour must be a CSS colour (a hex value, a named colour or a colour function of
numbers), an address a path on this site or an ``http(s)`` URL, a font family a list of names.
Nothing the admin wrote is ever pasted into CSS unchecked, so ``red; } body { display: none`` or
``</style><script>`` cannot become a rule or a tag.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlsplit

__all__ = [
    "COLOR_KEYS",
    "DEFAULT_THEME",
    "TEXT_KEYS",
    "THEME_KEYS",
    "UPSTREAM_CSS_VARIABLES",
    "URL_KEYS",
    "clean_theme",
    "css_color",
    "css_variables",
    "font_family",
    "runtime_config",
    "theme_css",
    "theme_url",
]

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

COLOR_KEYS: Final = tuple(k for k in THEME_KEYS if k.endswith("_color") or "_color_" in k)
URL_KEYS: Final = ("logo", "favicon", "font_url")
#: Plain text shown on pages (always escaped there; ``welcome`` is text, not HTML as upstream had it).
TEXT_KEYS: Final = ("hub_title", "hub_subtitle", "welcome")
#: The longest text value kept (longer ones are refused, not cut).
MAX_TEXT = 500
MAX_URL = 2000

#: CSS named colours (CSS Color 4) and the keywords that stand for a colour.
_COLOR_NAMES = """aliceblue antiquewhite aqua aquamarine azure beige bisque black blanchedalmond blue blueviolet brown
    burlywood cadetblue chartreuse chocolate coral cornflowerblue cornsilk crimson cyan darkblue darkcyan
    darkgoldenrod darkgray darkgreen darkgrey darkkhaki darkmagenta darkolivegreen darkorange darkorchid
    darkred darksalmon darkseagreen darkslateblue darkslategray darkslategrey darkturquoise darkviolet
    deeppink deepskyblue dimgray dimgrey dodgerblue firebrick floralwhite forestgreen fuchsia gainsboro
    ghostwhite gold goldenrod gray green greenyellow grey honeydew hotpink indianred indigo ivory khaki
    lavender lavenderblush lawngreen lemonchiffon lightblue lightcoral lightcyan lightgoldenrodyellow
    lightgray lightgreen lightgrey lightpink lightsalmon lightseagreen lightskyblue lightslategray
    lightslategrey lightsteelblue lightyellow lime limegreen linen magenta maroon mediumaquamarine
    mediumblue mediumorchid mediumpurple mediumseagreen mediumslateblue mediumspringgreen
    mediumturquoise mediumvioletred midnightblue mintcream mistyrose moccasin navajowhite navy oldlace
    olive olivedrab orange orangered orchid palegoldenrod palegreen paleturquoise palevioletred
    papayawhip peachpuff peru pink plum powderblue purple rebeccapurple red rosybrown royalblue
    saddlebrown salmon sandybrown seagreen seashell sienna silver skyblue slateblue slategray slategrey
    snow springgreen steelblue tan teal thistle tomato turquoise violet wheat white whitesmoke yellow
    yellowgreen transparent currentcolor"""
_NAMED_COLORS: Final = frozenset(_COLOR_NAMES.split())
_HEX = re.compile(r"#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})")


def _colour_functions() -> re.Pattern[str]:
    """CSS Color 4's colour functions of plain numbers, as browsers read them (no ``var()``, ``calc()``,
    relative colours or ``from``): the modern space-separated forms with an optional ``/ alpha``, and
    the legacy comma-separated ``rgb()``/``hsl()`` forms."""
    n = r"[+-]?(?:\d*\.\d+|\d+)(?:e[+-]?\d+)?"
    p, hue = f"{n}%", f"{n}(?:deg|grad|rad|turn)?"
    np_, none = f"(?:{n}%?|none)", "none"
    alpha = rf"(?:\s*/\s*{np_})?"
    sep = r"\s*,\s*"

    def modern(first: str, third: str) -> str:
        return rf"(?:{first}|{none})\s+{np_}\s+(?:{third}|{none}){alpha}"

    forms = {
        "rgba?": [
            modern(f"{n}%?", f"{n}%?"),
            f"{n}{sep}{n}{sep}{n}(?:{sep}{n}%?)?",
            f"{p}{sep}{p}{sep}{p}(?:{sep}{n}%?)?",
        ],
        "hsla?": [modern(hue, f"{n}%?"), f"{hue}{sep}{p}{sep}{p}(?:{sep}{n}%?)?"],
        "hwb": [modern(hue, f"{n}%?")],
        "(?:ok)?lab": [modern(f"{n}%?", f"{n}%?")],
        "(?:ok)?lch": [modern(f"{n}%?", hue)],
    }
    alternatives = [rf"{name}\(\s*(?:{'|'.join(args)})\s*\)" for name, args in forms.items()]
    return re.compile("|".join(alternatives), re.IGNORECASE | re.ASCII)  # digits 0-9 and ASCII spaces only


_FUNCTION = _colour_functions()
#: One font family: a bare name (letters, digits, spaces, dashes) or a quoted one.
_FAMILY = re.compile(r"\s*(?:-?[A-Za-z][A-Za-z0-9 _-]*|'[A-Za-z0-9 _.-]+'|\"[A-Za-z0-9 _.-]+\")\s*")
#: Characters that never appear in a theme address (they would end a CSS string, an HTML attribute
#: or a CSP source, or start a CSS escape).
_URL_UNSAFE = re.compile(r"[\s\"'<>\\`(){}\x00-\x1f\x7f]")


def css_color(value: object) -> str:
    """``value`` if it is one CSS colour (hex, named, or a colour function of numbers); else ValueError."""
    if not isinstance(value, str):
        raise ValueError("is not a string")
    text = value.strip()
    if _HEX.fullmatch(text) or text.lower() in _NAMED_COLORS or _FUNCTION.fullmatch(text):
        return text
    raise ValueError("is not a CSS colour (#rrggbb, a colour name, or rgb()/hsl()/oklch() of numbers)")


def theme_url(value: object) -> str:
    """``value`` if it is a path on this site (``/static/logo.svg``) or an ``http(s)`` URL; else ValueError."""
    if not isinstance(value, str):
        raise ValueError("is not a string")
    text = value.strip()
    if len(text) > MAX_URL:
        raise ValueError(f"is longer than {MAX_URL} characters")
    if _URL_UNSAFE.search(text):
        raise ValueError("holds a quote, bracket, backslash, space or control character")
    parts = urlsplit(text)
    if parts.scheme:
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValueError("must be a path on this site or an http(s) URL")
        if "@" in parts.netloc:
            raise ValueError("must not hold a user name or password")
        try:
            parts.port  # noqa: B018 (raises on a port that is not a number in range)
        except ValueError:
            raise ValueError("has a port that is not a number from 0 to 65535") from None
        return text
    if not text.startswith("/") or text.startswith("//"):
        raise ValueError("must be a path on this site (starting with one /) or an http(s) URL")
    return text


def font_family(value: object) -> str:
    """``value`` if it is a comma-separated list of font family names; else ValueError."""
    if not isinstance(value, str):
        raise ValueError("is not a string")
    names = value.split(",")
    if len(value) > MAX_TEXT or not all(_FAMILY.fullmatch(name) for name in names):
        raise ValueError("is not a list of font names (letters, digits, spaces, dashes; quoted or not)")
    return ", ".join(name.strip() for name in names)


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("is not a string")
    if len(value) > MAX_TEXT:
        raise ValueError(f"is longer than {MAX_TEXT} characters")
    return value


_READERS = {
    **dict.fromkeys(COLOR_KEYS, css_color),
    **dict.fromkeys(URL_KEYS, theme_url),
    **dict.fromkeys(TEXT_KEYS, _text),
    "font_family": font_family,
}


def clean_theme(template_vars: Mapping[str, Any] | None) -> tuple[dict[str, str], dict[str, str]]:
    """The theme keys of ``template_vars`` that hold what they should: ``(theme, refused)``.

    ``theme`` maps each accepted key to its value (empty values and keys not set are left out, so
    every page keeps its own look for them); ``refused`` maps each refused key to the reason, for the
    Hub's log. Other template variables are ignored.
    """
    theme: dict[str, str] = {}
    refused: dict[str, str] = {}
    for key in THEME_KEYS:
        value = (template_vars or {}).get(key)
        if value is None or value == "":
            continue
        try:
            theme[key] = _READERS[key](value)
        except ValueError as error:
            refused[key] = f"{key} = {_short(value)} {error}"
    return theme, refused


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# --- upstream's shapes ----------------------------------------------------------------------------

#: Upstream's CSS variables, each from a theme key (``jhub_apps.service.utils.THEME_CSS_VARIABLES``).
UPSTREAM_CSS_VARIABLES: Final[dict[str, tuple[str, ...]]] = {
    "font_family": ("--app-font-family", "--base-font-family", "--headings-font-family"),
    "h1_color": ("--heading-color",),
    "h2_color": ("--h2-color",),
    "text_color": ("--text-color", "--link-text-color"),
    "primary_color": ("--primary-color",),
    "primary_color_dark": ("--primary-color-dark",),
    "primary_color_light": ("--primary-color-light", "--primary-light"),
    "secondary_color": ("--secondary-color",),
    "secondary_color_dark": ("--secondary-color-dark", "--secondary-dark"),
    "accent_color": ("--accent-color", "--link-hover-color"),
    "accent_color_dark": ("--accent-color-dark",),
    "accent_text_color": ("--accent-text-color",),
    "navbar_color": ("--navbar-background-color",),
    "navbar_text_color": ("--navbar-text-color",),
    "navbar_hover_color": ("--navbar-hover-color",),
}

#: Upstream's ``theme.colors`` names, each from a theme key.
_UPSTREAM_COLORS: Final = {
    "primary": "primary_color",
    "primaryLight": "primary_color_light",
    "primaryDark": "primary_color_dark",
    "secondary": "secondary_color",
    "secondaryDark": "secondary_color_dark",
    "accent": "accent_color",
    "accentDark": "accent_color_dark",
    "text": "text_color",
    "heading": "h1_color",
    "heading2": "h2_color",
    "navbar": "navbar_color",
    "navbarText": "navbar_text_color",
    "navbarHover": "navbar_hover_color",
}


def css_variables(theme: Mapping[str, str]) -> dict[str, str]:
    """Upstream's CSS custom properties for the keys ``theme`` sets (upstream's names)."""
    out: dict[str, str] = {}
    for key, names in UPSTREAM_CSS_VARIABLES.items():
        if theme.get(key):
            out.update(dict.fromkeys(names, theme[key]))
    return out


def runtime_config(theme: Mapping[str, str], version: str) -> dict[str, Any]:
    """Upstream's ``/config.json``: ``{"banners", "theme", "version"}`` in its shape (``None`` for unset)."""
    merged = {**DEFAULT_THEME, **theme}

    def get(key: str) -> str | None:
        return merged.get(key) or None

    return {
        # Upstream's c.JAppsConfig.banners; hubapps has none, so both are off (empty text).
        "banners": {where: {"text": "", "background": None, "foreground": None} for where in ("top", "bottom")},
        "theme": {
            "logo": get("logo"),
            "favicon": get("favicon"),
            "font": {"family": get("font_family"), "url": get("font_url")},
            "colors": {name: get(key) for name, key in _UPSTREAM_COLORS.items()},
            "cssVariables": css_variables(merged),
        },
        "version": version,
    }


# --- the stylesheet -------------------------------------------------------------------------------


def _rule(selector: str, declarations: Mapping[str, str | None]) -> list[str]:
    body = [f"  {name}: {value};" for name, value in declarations.items() if value]
    return [f"{selector} {{", *body, "}"] if body else []


def _important(value: str | None) -> str | None:
    return f"{value} !important" if value else None


def _rgb(color: str) -> str | None:
    """``r, g, b`` of a ``#rgb``/``#rrggbb`` colour (Bootstrap's ``--bs-*-rgb`` form), else None."""
    digits = color[1:] if color.startswith("#") else ""
    if len(digits) == 3:
        digits = "".join(ch * 2 for ch in digits)
    if len(digits) != 6:
        return None
    return ", ".join(str(int(digits[i : i + 2], 16)) for i in (0, 2, 4))


def theme_css(theme: Mapping[str, str]) -> str:
    """``/theme.css``: the font ``@import`` (if any), upstream's variables, and the theme on Bootstrap.

    Only the keys ``theme`` sets produce rules, so an unset key leaves the page as it was. Text and
    heading colours are light-mode colours: they apply only while the page is not in dark mode
    (``data-bs-theme="dark"``), where dark text would be unreadable; in dark mode links take
    ``primary_color_light``. The navigation bar is the brand's in both modes only when its text
    colour is set too. ``theme`` must come from :func:`clean_theme`.
    """
    get = theme.get
    primary, primary_dark = get("primary_color"), get("primary_color_dark") or get("primary_color")
    secondary, secondary_dark = get("secondary_color"), get("secondary_color_dark") or get("secondary_color")
    accent, navbar, navbar_text = get("accent_color"), get("navbar_color"), get("navbar_text_color")
    lines: list[str] = ["/* hubapps theme (c.JupyterHub.template_vars) */"]
    if get("font_url"):
        lines.append(f'@import url("{get("font_url")}");')  # checked: no quote, backslash or bracket
    hubapps_vars = {f"--hubapps-{key.replace('_', '-')}": get(key) for key in (*COLOR_KEYS, "font_family")}
    lines += _rule(":root", {**css_variables(theme), **hubapps_vars})
    light = ":root:not([data-bs-theme=dark])"
    lines += _rule(
        ":root, [data-bs-theme]",
        {
            "--bs-body-font-family": get("font_family"),
            "--bs-primary": primary,
            "--bs-primary-rgb": _rgb(primary) if primary else None,
            "--bs-secondary": secondary,
            "--bs-secondary-rgb": _rgb(secondary) if secondary else None,
        },
    )
    lines += _rule(
        light,
        {
            "--bs-body-color": get("text_color"),
            "--bs-emphasis-color": get("text_color"),
            "--bs-link-color": primary,
            "--bs-link-color-rgb": _rgb(primary) if primary else None,
            "--bs-link-hover-color": accent or primary_dark,
            "--bs-link-hover-color-rgb": _rgb(accent or primary_dark or ""),
            "--bs-heading-color": get("h1_color"),
        },
    )
    if primary and not _rgb(primary):
        # Bootstrap colours links through --bs-link-color-rgb, which only a hex colour gives.
        lines += _rule(f"{light} a:not(.btn):not(.nav-link):not(.dropdown-item)", {"color": primary})
    if get("primary_color_light"):
        lines += _rule(
            "[data-bs-theme=dark]",
            {
                "--bs-link-color": get("primary_color_light"),
                "--bs-link-color-rgb": _rgb(get("primary_color_light") or ""),
                "--bs-link-hover-color": get("primary_color_light"),
            },
        )
    lines += _rule(f"{light} h1, {light} .h1", {"color": get("h1_color")})
    lines += _rule(f"{light} h2, {light} .h2", {"color": get("h2_color")})
    for kind, color, dark in (("primary", primary, primary_dark), ("secondary", secondary, secondary_dark)):
        if not color:
            continue
        # JupyterHub's own pages use its .btn-jupyter (login, spawn) where Bootstrap has .btn-primary.
        selector = ".btn-primary, .btn-jupyter" if kind == "primary" else ".btn-secondary"
        lines += _rule(
            selector,
            {
                "--bs-btn-bg": color,
                "--bs-btn-border-color": color,
                "--bs-btn-hover-bg": dark,
                "--bs-btn-hover-border-color": dark,
                "--bs-btn-active-bg": dark,
                "--bs-btn-active-border-color": dark,
                "--bs-btn-disabled-bg": color,
                "--bs-btn-disabled-border-color": color,
            },
        )
        # Outline buttons show the colour as text: light mode only (a dark brand colour on a dark page is not).
        lines += _rule(
            f"{light} .btn-outline-{kind}",
            {
                "--bs-btn-color": color,
                "--bs-btn-border-color": color,
                "--bs-btn-hover-bg": color,
                "--bs-btn-hover-border-color": color,
                "--bs-btn-active-bg": dark,
                "--bs-btn-active-border-color": dark,
            },
        )
    if primary:
        # JupyterHub's login form: its header and the focus ring of its fields are the Hub's orange.
        lines += _rule("#login-main .auth-form-header", {"background": primary})
        lines += _rule(".progress, .progress-stacked", {"--bs-progress-bar-bg": primary})
        lines += _rule(".form-check-input:checked", {"background-color": primary, "border-color": primary})
        lines += _rule(
            ".form-control:focus",
            {
                "border-color": primary,
                "outline-color": primary,
                "box-shadow": f"inset 0 1px 1px rgba(0, 0, 0, 0.075), 0 0 8px {primary}",
            },
        )
    if accent:
        # The public and shared markers; upstream's accent_text_color is the text on the accent colour.
        lines += _rule(
            ".badge.hubapps-pub, .badge.hubapps-shr",
            {"background-color": f"{accent} !important", "color": _important(get("accent_text_color"))},
        )
    if navbar or navbar_text or get("navbar_hover_color"):
        # Both modes only when the bar's text colour is set too; else only in light mode.
        scope = ":root" if navbar and navbar_text else light
        bar = f"{scope} nav.navbar"
        lines += _rule(bar, {"background-color": f"{navbar} !important" if navbar else None, "color": navbar_text})
        lines += _rule(
            bar,
            {
                "--bs-navbar-color": navbar_text,
                "--bs-navbar-brand-color": navbar_text,
                "--bs-navbar-hover-color": get("navbar_hover_color") or navbar_text,
                "--bs-navbar-active-color": navbar_text,
                "--bs-navbar-brand-hover-color": get("navbar_hover_color") or navbar_text,
                "--bs-nav-link-color": navbar_text,
                "--bs-nav-link-hover-color": get("navbar_hover_color") or navbar_text,
            },
        )
        if navbar_text:
            # The bar's buttons (logout, dark-mode toggle) take its text colour, or vanish on a dark bar.
            lines += _rule(
                f"{bar} .btn",
                {"--bs-btn-color": navbar_text, "--bs-btn-hover-color": navbar, "--bs-btn-hover-bg": navbar_text},
            )
            lines += _rule(f"{bar} [class*=btn-outline]", {"--bs-btn-border-color": navbar_text})
    return "\n".join(lines) + "\n"
