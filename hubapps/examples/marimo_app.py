import marimo

app = marimo.App(app_title="marimo demo")


@app.cell
def _():
    import marimo as mo

    mo.md("# marimo demo")
    return (mo,)


@app.cell
def _(mo):
    number = mo.ui.slider(1, 20, value=3, label="Number")
    number  # noqa: B018 - a cell shows its last expression
    return (number,)


@app.cell
def _(mo, number):
    mo.md(f"The square of {number.value} is {number.value**2}")
    return


if __name__ == "__main__":
    app.run()
