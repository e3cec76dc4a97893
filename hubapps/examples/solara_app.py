"""Solara demo: a button that counts its clicks, on the server, over Solara's websocket."""

import solara

clicks = solara.reactive(0)


@solara.component
def Page():
    solara.Title("Solara demo")
    solara.Markdown("# Solara demo")
    solara.Button(label=f"Clicked {clicks.value} times", on_click=lambda: clicks.set(clicks.value + 1))
