"""Example apps, one per built-in framework, used by ``hubapps demo`` and the integration tests.

Each shows a marker text (``<Framework> demo``) that tests look for.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["EXAMPLES", "example_path", "example_spec"]

#: framework -> (file relative to this folder, display name, description)
EXAMPLES: dict[str, tuple[str, str, str]] = {
    "streamlit": ("streamlit_app.py", "Streamlit demo", "A slider that squares a number."),
    "panel": ("panel_app.py", "Panel demo", "A slider bound to a Markdown pane."),
    "bokeh": ("bokeh_app.py", "Bokeh demo", "A plot with a slider."),
    "voila": ("voila_app.ipynb", "Voila demo", "A notebook rendered as a page."),
    "gradio": ("gradio_app.py", "Gradio demo", "Greets you by name."),
    "dash": ("dash_app.py", "Dash demo", "A Plotly Dash page with a dropdown."),
    "fastapi": ("fastapi_app.py", "FastAPI demo", "A small JSON API."),
    "flask": ("flask_app.py", "Flask demo", "A WSGI page."),
    "shiny": ("shiny_app.py", "Shiny demo", "A number and its square, from Shiny for Python."),
    "marimo": ("marimo_app.py", "marimo demo", "A marimo notebook run as an app: a slider and its square."),
    "solara": ("solara_app.py", "Solara demo", "A button that counts its clicks."),
    "nicegui": ("nicegui_app.py", "NiceGUI demo", "A button that counts its clicks."),
    "rshiny": ("rshiny-app/app.R", "R Shiny demo", "A number and its square, from R."),
    "chainlit": ("chainlit_app.py", "Chainlit demo", "A chat that counts the characters of your messages."),
    "command": ("command-site/index.html", "Command demo", "A file server on a unix socket, as a custom command."),
    "jupyterlab": ("", "JupyterLab demo", "One more JupyterLab."),
}


def example_path(name: str = "") -> Path:
    """Folder (or file) of the bundled examples on disk."""
    root = Path(str(files(__name__)))
    return root / name if name else root


def example_spec(framework: str, folder: str, *, display_name: str = "") -> dict[str, object]:
    """``user_options`` for the example of ``framework`` copied to ``folder`` (relative to home).

    ``display_name`` overrides the example's own (tests use it to make names unique).
    """
    file, name, description = EXAMPLES[framework]
    spec: dict[str, object] = {
        "spec_version": 1,
        "jhub_app": True,
        "framework": framework,
        "display_name": display_name or name,
        "description": description,
    }
    if framework == "command":
        spec["working_dir"] = f"{folder}/command-site"
        spec["command"] = ["{python}", "../socket_http_server.py", "{socket}"]
    elif file:
        spec["filepath"] = f"{folder}/{file}"
    return spec
