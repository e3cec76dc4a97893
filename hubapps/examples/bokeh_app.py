from bokeh.io import curdoc
from bokeh.layouts import column
from bokeh.models import Div, Slider

slider = Slider(start=0, end=100, value=7, step=1, title="Pick a number")
result = Div(text="The square of 7 is 49")


def update(attr, old, new):
    result.text = f"The square of {new} is {new * new}"


slider.on_change("value", update)
curdoc().add_root(column(Div(text="<h1>Bokeh demo</h1>"), slider, result))
curdoc().title = "Bokeh demo"
