from fastapi import FastAPI

app = FastAPI(title="FastAPI demo")


@app.get("/")
def root() -> dict[str, str]:
    return {"message": "FastAPI demo"}


@app.get("/square/{n}")
def square(n: int) -> dict[str, int]:
    return {"n": n, "square": n * n}
