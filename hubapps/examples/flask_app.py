from flask import Flask, url_for

app = Flask(__name__)


@app.route("/")
def index() -> str:
    return f'<h1>Flask demo</h1><a href="{url_for("square", n=7)}">square of 7</a>'


@app.route("/square/<int:n>")
def square(n: int) -> str:
    return f"The square of {n} is {n * n}"
