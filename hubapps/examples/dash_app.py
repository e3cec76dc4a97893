from dash import Dash, Input, Output, dcc, html

app = Dash(__name__, title="Dash demo")
app.layout = html.Div(
    [
        html.H1("Dash demo"),
        dcc.Dropdown(["7", "12", "42"], "7", id="number"),
        html.Div(id="square"),
    ]
)


@app.callback(Output("square", "children"), Input("number", "value"))
def square(value: str) -> str:
    n = int(value or 0)
    return f"The square of {n} is {n * n}"


if __name__ == "__main__":
    app.run()
