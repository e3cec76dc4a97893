"""NiceGUI demo: a button that counts its clicks. ui.run() is called as usual; hubapps decides where it listens."""

from nicegui import ui

clicks = {"count": 0}


def click() -> None:
    clicks["count"] += 1
    label.set_text(f"Clicked {clicks['count']} times")


ui.label("NiceGUI demo").classes("text-h4")
ui.button("Click me", on_click=click)
label = ui.label("Clicked 0 times")

ui.run(title="NiceGUI demo")
