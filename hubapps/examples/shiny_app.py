"""Shiny for Python demo: a number and its square, computed by the server over Shiny's websocket."""

from shiny import App, render, ui

app_ui = ui.page_fluid(
    ui.h2("Shiny demo"),
    ui.input_numeric("number", "Number", value=3),
    ui.output_text("square"),
    title="Shiny demo",
)


def server(input, output, session):
    @render.text
    def square():
        n = input.number()
        return f"The square of {n} is {n * n}"


app = App(app_ui, server)
