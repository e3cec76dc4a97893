import panel as pn

slider = pn.widgets.IntSlider(name="Pick a number", start=0, end=100, value=7)


def square(value: int) -> str:
    return f"The square of {value} is {value * value}"


pn.Column("# Panel demo", slider, pn.bind(square, slider)).servable(title="Panel demo")
