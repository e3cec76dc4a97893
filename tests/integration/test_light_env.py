"""An app environment needs only hubapps' base install: the proxy and the CLI, no Hub-side packages.

The test builds a virtual environment that holds exactly hubapps and the distributions its base
requirements pull in (read from hubapps' own installed metadata, so it follows ``pyproject.toml``),
linked from this environment: no JupyterHub, FastAPI, SQLAlchemy, pydantic, Pillow or cryptography.
A Hub of its own then runs every app's proxy with that environment's Python, and an app is opened
through the Hub like any other.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import Distribution, PackageNotFoundError, distribution
from pathlib import Path

import httpx
import psutil
import pytest
from packaging.requirements import Requirement

from hubapps.examples import example_spec
from tests.integration.conftest import EXAMPLES_FOLDER, REPO, Hub, own_hub

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]  # a Hub of its own

OWNER = "light-owner"
#: What the Hub's environment has and an app environment must not need.
HUB_ONLY = ("jupyterhub", "fastapi", "sqlalchemy", "pydantic", "PIL", "cryptography", "uvicorn", "traitlets")

CONFIG = """\
c = get_config()  # noqa: F821
load_subconfig({main!r})  # noqa: F821
c.HubApps.proxy_command = [{python!r}, "-I", "-m", "hubapps.proxy"]
"""


def _base_closure() -> list[Distribution]:
    """hubapps' base requirements (no extras), with their own requirements, as installed here."""
    seen: dict[str, Distribution] = {}
    todo = [r for r in (distribution("hubapps").requires or ()) if _applies(Requirement(r), extra=None)]
    while todo:
        req = Requirement(todo.pop())
        name = req.name.lower().replace("_", "-")
        if name in seen:
            continue
        try:
            dist = distribution(req.name)
        except PackageNotFoundError:
            continue  # a marker-less requirement of another platform
        seen[name] = dist
        todo += [r for r in (dist.requires or ()) if _applies(Requirement(r), extra=None)]
    return list(seen.values())


def _applies(req: Requirement, extra: str | None) -> bool:
    return req.marker is None or req.marker.evaluate({"extra": extra or ""})


def _link_distribution(dist: Distribution, site: Path) -> None:
    """Link a distribution's top-level files and folders (and its metadata) into ``site``."""
    root = Path(str(dist.locate_file("")))
    tops = {Path(str(f)).parts[0] for f in dist.files or () if not str(f).startswith("..")}
    for top in tops:
        source = root / top
        if source.exists() and not (site / top).exists() and not top.endswith(".pth") and top != "__pycache__":
            (site / top).symlink_to(source)


@pytest.fixture(scope="module")
def light_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    env = tmp_path_factory.mktemp("light-env")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    site = next(env.glob("lib/python*/site-packages"))
    closure = _base_closure()
    names = {d.metadata["Name"].lower() for d in closure}
    assert {"httptools", "httpx"} <= names, names
    for dist in closure:
        _link_distribution(dist, site)
    (site / "hubapps").symlink_to(REPO / "hubapps")  # the checkout under test (installed editable here)
    return env / "bin" / "python"


def _run(python: Path, code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(python), "-I", "-c", code], capture_output=True, text=True, timeout=60, check=False)


def test_the_light_environment_has_no_hub_side_packages(light_python: Path) -> None:
    for module in HUB_ONLY:
        assert _run(light_python, f"import {module}").returncode != 0, f"{module} is in the light environment"
    ok = _run(light_python, "import hubapps.proxy.main, hubapps.proxy.server, hubapps.cli.commands; print('ok')")
    assert ok.stdout.strip() == "ok", ok.stderr
    # The Hub side says what is missing instead of failing somewhere inside.
    hub_side = _run(light_python, "import hubapps.hub")
    assert "pip install 'hubapps[hub]'" in hub_side.stderr


@pytest.fixture(scope="module")
def light_hub(tmp_path_factory: pytest.TempPathFactory, light_python: Path) -> Iterator[Hub]:
    with own_hub(tmp_path_factory.mktemp("light-hub"), CONFIG.replace("{python!r}", repr(str(light_python)))) as hub:
        yield hub


def test_an_app_runs_behind_the_proxy_of_the_light_environment(light_hub: Hub, light_python: Path) -> None:
    token = light_hub.token_for(OWNER)
    home = light_hub.home(OWNER) / EXAMPLES_FOLDER / "command-site"
    (home / "index.html").write_text("<h1>served from the light environment</h1>")
    light_hub.create_app(OWNER, "light", example_spec("command", EXAMPLES_FOLDER), token=token)
    light_hub.wait_app(OWNER, "light", token)
    # The proxy that answers is the light environment's Python.
    proxies = [
        p.info["cmdline"] for p in psutil.process_iter(["cmdline"]) if "hubapps.proxy" in (p.info["cmdline"] or [])
    ]
    assert [str(light_python), "-I", "-m", "hubapps.proxy"] in [argv[:4] for argv in proxies], proxies
    r = httpx.get(light_hub.app_url(OWNER, "light"), headers={"Authorization": f"token {token}"}, timeout=30)
    assert r.status_code == 200, r.text
    assert "served from the light environment" in r.text
    light_hub.stop_app(OWNER, "light", remove=True)
