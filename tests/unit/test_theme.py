"""The Hub's theme (issue 14, requirement 8): upstream's ``c.JupyterHub.template_vars`` keys, checked as
data (:mod:`hubapps.core.theme`), in upstream's shapes, and read when the config file set them after
``install_jhub_apps(c)`` as upstream's configs do. The real pages: tests/integration/test_theme.py
(routes) and tests/browser/test_theme.py (Chromium)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jupyterhub.app import JupyterHub

from hubapps.core.theme import (
    DEFAULT_THEME,
    THEME_KEYS,
    clean_theme,
    css_color,
    font_family,
    runtime_config,
    theme_css,
    theme_url,
)
from hubapps.service.rendering import page_csp
from hubapps.service.settings import ServiceSettings

#: The theme keys upstream reads (jhub_apps/service/utils.py, its templates): none missing, none extra.
UPSTREAM_KEYS = {
    "logo", "favicon", "font_family", "font_url", "primary_color", "primary_color_light", "primary_color_dark",
    "secondary_color", "secondary_color_dark", "accent_color", "accent_color_dark", "accent_text_color",
    "text_color", "h1_color", "h2_color", "navbar_color", "navbar_text_color", "navbar_hover_color",
    "hub_title", "hub_subtitle", "welcome",
}  # fmt: skip

THEMED = {
    "logo": "/hub/static/images/jupyterhub-80.png",
    "favicon": "https://cdn.example.org/fav.ico",
    "font_family": "'Inter', sans-serif",
    "font_url": "https://fonts.example.org/css2?family=Inter:wght@300;400&display=swap",
    "primary_color": "#ba18da",
    "primary_color_light": "#f4e8f8",
    "primary_color_dark": "#8a0aa3",
    "secondary_color": "rgb(24 160 157)",
    "accent_color": "hsl(50deg 90% 45%)",
    "text_color": "#1c1d1f",
    "h1_color": "#652e8e",
    "h2_color": "darkslateblue",
    "navbar_color": "#1c1d1f",
    "navbar_text_color": "WHITE",
    "navbar_hover_color": "#eeeeef",
    "hub_title": "Welcome to <Nebari>",
    "hub_subtitle": "your platform",
    "welcome": "Hello <b>there</b>",
    "display_version": True,  # not a theme key: ignored
}


def test_the_theme_keys_are_upstreams() -> None:
    assert set(THEME_KEYS) == UPSTREAM_KEYS


def test_the_default_theme_leaves_nothing_to_fetch_off_the_hub() -> None:
    theme, refused = clean_theme(DEFAULT_THEME)
    assert refused == {}
    assert not theme.get("font_url")
    assert not theme.get("logo")
    assert "@import" not in theme_css(theme)
    assert "googleapis" not in json.dumps(DEFAULT_THEME)


@pytest.mark.parametrize(
    "value", ["#abc", "#AbCd", "#a1b2c3", "#a1b2c3d4", "rebeccapurple", "Red", "rgb(1, 2, 3)",
              "rgba(1,2,3,0.5)", "rgb(10% 20% 30% / 50%)", "hsl(210deg 50% 40%)", "oklch(0.6 0.1 30)",
              "transparent"],
)  # fmt: skip
def test_css_colours_are_accepted(value: str) -> None:
    assert css_color(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "red; } body { display: none",
        "red;}",
        "#fff</style><script>alert(1)</script>",
        "url(https://evil.example/x)",
        "expression(alert(1))",
        "var(--x)",
        "rgb(1, 2, 3); background: url(//evil)",
        "rgb(calc(1), 2, 3)",
        "rgb(\u0661 2 3)",  # an Arabic-Indic digit: a digit to Python, not to CSS
        "#12",
        "notacolour",
        "",
        "red\n}",
        12,
        None,
    ],
)
def test_anything_else_is_not_a_colour(value: object) -> None:
    with pytest.raises(ValueError, match=r"not a string|not a CSS colour"):
        css_color(value)


@pytest.mark.parametrize(
    "value", ["/hub/static/logo.svg", "/services/japps/static/x.png?v=1", "https://cdn.example.org/logo.svg",
              "http://intranet:8080/a/b.png", "https://fonts.example.org/css2?family=Inter:wght@300;400"],
)  # fmt: skip
def test_same_site_paths_and_http_urls_are_addresses(value: str) -> None:
    assert theme_url(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "javascript:alert(1)",
        "data:image/svg+xml,<svg onload=alert(1)>",
        "//evil.example/logo.png",
        "logo.png",
        "ftp://example.org/x",
        "https://",
        "https://user:secret@cdn.example.org/logo.svg",
        "https://cdn.example.org:99999/logo.svg",
        "/a'); } body { x: url('/b",
        '/a" onerror="alert(1)',
        "/a b",
        "/a\\b",
        "/a\nb",
        "https://x.example/" + "a" * 3000,
    ],
)
def test_other_addresses_are_refused(value: str) -> None:
    with pytest.raises(ValueError, match=r"path on this site|quote, bracket|longer than|user name|port"):
        theme_url(value)


def test_font_families_are_names_only() -> None:
    assert font_family("system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif").startswith("system-ui")
    for hostile in ("Inter; } body { x", "Inter</style>", "a, url(x)", "'a\\'"):
        with pytest.raises(ValueError, match="not a list of font names"):
            font_family(hostile)


def test_clean_theme_keeps_what_is_valid_and_says_why_the_rest_went() -> None:
    theme, refused = clean_theme({**THEMED, "h2_color": "red;}", "logo": "javascript:alert(1)", "welcome": 5})
    assert theme["primary_color"] == "#ba18da"
    assert theme["hub_title"] == "Welcome to <Nebari>"
    assert "h2_color" not in theme
    assert "logo" not in theme
    assert "welcome" not in theme
    assert set(refused) == {"h2_color", "logo", "welcome"}
    assert "h2_color = 'red;}' is not a CSS colour" in refused["h2_color"]
    assert "display_version" not in theme


def test_runtime_config_has_upstreams_shape() -> None:
    theme, _ = clean_theme(THEMED)
    config = runtime_config(theme, "1.2.3")
    assert set(config) == {"banners", "theme", "version"}
    assert config["version"] == "1.2.3"
    assert set(config["theme"]) == {"logo", "favicon", "font", "colors", "cssVariables"}
    assert config["theme"]["font"] == {"family": "'Inter', sans-serif", "url": THEMED["font_url"]}
    colors = config["theme"]["colors"]
    assert set(colors) == {
        "primary", "primaryLight", "primaryDark", "secondary", "secondaryDark", "accent", "accentDark",
        "text", "heading", "heading2", "navbar", "navbarText", "navbarHover",
    }  # fmt: skip
    assert colors["primary"] == "#ba18da"
    assert colors["heading"] == "#652e8e"
    assert colors["secondaryDark"] is None
    variables = config["theme"]["cssVariables"]
    assert variables["--primary-color"] == "#ba18da"
    assert variables["--navbar-background-color"] == "#1c1d1f"
    assert variables["--app-font-family"] == "'Inter', sans-serif"
    # Unthemed: upstream's keys are all there, null, and the offline default font.
    empty = runtime_config({}, "1")["theme"]
    assert empty["logo"] is None
    assert empty["font"]["url"] is None
    assert empty["colors"]["primary"] is None


def test_theme_css_imports_the_font_first_and_maps_colours_onto_bootstrap() -> None:
    theme, _ = clean_theme(THEMED)
    css = theme_css(theme)
    first_rule = next(line for line in css.splitlines() if not line.startswith("/*"))
    assert first_rule == f'@import url("{THEMED["font_url"]}");'
    assert "--primary-color: #ba18da;" in css
    assert "--bs-primary-rgb: 186, 24, 218;" in css
    assert "--bs-btn-bg: #ba18da;" in css
    assert "--bs-btn-hover-bg: #8a0aa3;" in css
    assert "background-color: #1c1d1f !important;" in css
    assert css.count("{") == css.count("}")
    # Text colours are light-mode colours: scoped away from dark mode, where links take the light tint.
    assert ":root:not([data-bs-theme=dark]) h1, :root:not([data-bs-theme=dark]) .h1 {\n  color: #652e8e;" in css
    assert "[data-bs-theme=dark] {\n  --bs-link-color: #f4e8f8;" in css


def test_accent_text_is_the_text_on_the_accent_not_on_primary_buttons() -> None:
    css = theme_css({"primary_color": "#123456", "accent_color": "gold", "accent_text_color": "black"})
    badge = ".badge.hubapps-pub, .badge.hubapps-shr {\n  background-color: gold !important;\n"
    assert f"{badge}  color: black !important;" in css
    assert "--bs-btn-color: black" not in css
    assert ".form-check-input:checked {\n  background-color: #123456;" in css


def test_links_take_a_primary_colour_that_is_not_hex_too() -> None:
    css = theme_css({"primary_color": "rebeccapurple"})
    assert "--bs-link-color-rgb" not in css
    links = ":root:not([data-bs-theme=dark]) a:not(.btn):not(.nav-link):not(.dropdown-item)"
    assert f"{links} {{\n  color: rebeccapurple;" in css


def test_an_unthemed_hub_gets_no_rules_and_a_navbar_without_text_colour_stays_light_only() -> None:
    assert "{" not in theme_css({})
    css = theme_css({"navbar_color": "#123456"})
    assert ":root:not([data-bs-theme=dark]) nav.navbar {\n  background-color: #123456 !important;" in css


def test_hostile_values_never_reach_the_stylesheet() -> None:
    hostile = "red; } body { display: none } x {"
    theme, refused = clean_theme({"primary_color": hostile, "font_url": "/x'); @import url('//evil"})
    assert theme == {}
    assert len(refused) == 2
    assert "display" not in theme_css(theme)


def test_the_page_csp_names_exactly_the_theme_files() -> None:
    theme, _ = clean_theme(THEMED)
    csp = dict(
        d.split(" ", 1)
        for d in page_csp("n", host="hub.test", prefix="/services/japps/", hub_prefix="/hub/", theme=theme).split("; ")
    )
    assert "hub.test/services/japps/theme.css" in csp["style-src"].split()
    assert "https://fonts.example.org/css2" in csp["style-src"].split()  # the file, not the query
    assert {"hub.test/hub/static/images/jupyterhub-80.png", "https://cdn.example.org/fav.ico"} <= set(
        csp["img-src"].split()
    )
    assert "https:" in csp["font-src"].split()
    assert "'self'" not in " ".join(csp.values())
    assert "*" not in " ".join(csp.values())
    plain = page_csp("n", host="hub.test", prefix="/services/japps/", hub_prefix="/hub/")
    assert "theme.css" not in plain
    assert "https:" not in plain


def test_a_forged_host_leaves_only_the_themes_remote_files_and_never_none_beside_a_source() -> None:
    theme, _ = clean_theme(THEMED)
    header = page_csp("n", host="evil example", prefix="/services/japps/", hub_prefix="/hub/", theme=theme)
    csp = dict(d.split(" ", 1) for d in header.split("; "))
    assert csp["style-src"] == "https://fonts.example.org/css2"
    assert csp["img-src"] == "https://cdn.example.org/fav.ico data:"  # the same-site logo needs a host
    assert csp["connect-src"] == "'none'"
    assert "evil" not in header


def test_the_service_checks_the_theme_it_is_given_again() -> None:
    settings = ServiceSettings.model_validate({"theme": {"primary_color": "red;}", "navbar_color": "#000"}})
    assert settings.theme == {"navbar_color": "#000"}


def _load(tmp_path: Path, body: str) -> JupyterHub:
    path = tmp_path / "jupyterhub_config.py"
    path.write_text(
        "from hubapps.jhub_apps import install_jhub_apps\n"
        "from hubapps.core.theme import DEFAULT_THEME\n"
        f"c = get_config()  # noqa: F821\nc.HubApps.status_key = {'ab' * 32!r}\n{body}\n"
    )
    app = JupyterHub()
    app.load_config_file(str(path))
    return app


def test_a_theme_set_after_install_jhub_apps_reaches_the_service_and_the_hub_pages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Upstream's configs set template_vars after install_jhub_apps(c), replacing the dict install filled."""
    monkeypatch.chdir(tmp_path)
    with caplog.at_level("WARNING", logger="hubapps"):
        app = _load(
            tmp_path,
            "install_jhub_apps(c, 'simple')  # upstream: c = install_jhub_apps(...)\n"
            "c.JupyterHub.template_vars = {'hub_title': 'Nebari', 'navbar_color': '#1c1d1f',\n"
            "    'h1_color': 'red; } body { display: none', **DEFAULT_THEME}\n",
        )
    (service,) = app.services
    settings = ServiceSettings.from_env(service["environment"])
    assert settings.theme["hub_title"] == "Nebari"
    assert settings.theme["navbar_color"] == "#1c1d1f"
    assert "h1_color" not in settings.theme
    assert "h1_color = 'red; } body { display: none' is not a CSS colour" in caplog.text
    # The Hub's templates get the launcher's variables back, and the checked theme (not the raw keys).
    assert app.template_vars["hubapps_service"] == "japps"
    assert app.template_vars["hubapps_theme"] == settings.theme
    assert app.template_vars["hub_title"] == "Nebari"


def test_a_theme_set_before_install_is_read_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    app = _load(
        tmp_path,
        "c.JupyterHub.template_vars = {'primary_color': '#ba18da'}\nimport hubapps\nhubapps.install(c, 'simple')\n",
    )
    (service,) = app.services
    assert ServiceSettings.from_env(service["environment"]).theme == {"primary_color": "#ba18da"}
    assert app.template_vars["hubapps_theme"] == {"primary_color": "#ba18da"}


#: Pieces of colour syntax and of attacks, for generated values.
_PIECES = ["#", "a", "f", "0", "9", "1.5", "%", "deg", " ", ",", "/", "(", ")", "rgb", "hsl", "oklch", "red",
           ";", "}", "{", "<", ">", "'", '"', "\\", "url", "var(--x)", "\n", "e", "-", "+", "none", "/*"]  # fmt: skip


def test_whatever_is_accepted_holds_nothing_that_ends_a_rule_a_string_or_a_tag() -> None:
    """Generated values (seeded): any accepted colour, address or font list is free of the characters
    that would let it out of its CSS declaration, quoted string or HTML attribute."""
    import random

    rng = random.Random(14)  # noqa: S311 (seeded test data, not a secret)
    accepted = 0
    for _ in range(20000):
        value = "".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 12)))
        for check, forbidden in (
            (css_color, set(";{}<>'\"\\\n") | {"/*", "url", "var"}),
            (theme_url, set(";{}<>'\"\\\n ()") - {";"}),
            (font_family, set(";{}<>\\\n()")),
        ):
            try:
                out = check(value)
            except ValueError:
                continue
            accepted += 1
            assert not any(bad in out for bad in forbidden), (check.__name__, value)
    assert accepted > 50  # the generator does reach valid values
