"""The three runtime contexts stay apart: each is imported in a clean interpreter and the modules it
pulled in are checked. (No Hub needed; fast.)

The import statements themselves are checked statically by the import-linter contracts in
``pyproject.toml`` (``tests/unit/test_import_contracts.py``). This test checks what the contracts cannot:
what is really loaded at run time, third-party packages' own imports and modules loaded by name
(``importlib``) included.

- Hub side (runs inside JupyterHub): nothing from FastAPI/Starlette or the service.
- Proxy (ships into app environments): nothing from the service, FastAPI/Starlette or the Hub side, and
  no web framework or HTTP client library at all (it runs beside every app).
- CLI (``hubapps`` command, its REST client): nothing from FastAPI/Starlette or the service.
- Core (imported by all three): none of the three contexts.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

FORBIDDEN_WEB = ("fastapi", "starlette", "uvicorn")
#: The proxy runs beside every app and is kept small (docs/proxy.md#inside): no web framework, no HTTP
#: client library, nothing of JupyterHub (the spawner passes the Hub's version as ``--hub-version``).
PROXY_HEAVY = (
    "aiohttp", "tornado", "yarl", "multidict", "httpx", "sqlalchemy", "jupyterhub", "traitlets", "pydantic",
)  # fmt: skip

CASES: dict[str, tuple[str, ...]] = {
    # module to import: (forbidden module prefixes)
    "hubapps": (*FORBIDDEN_WEB, "hubapps.hub", "hubapps.service", "hubapps.proxy"),
    # the command (and its REST client) ships with the package but stays light
    "hubapps.cli": (*FORBIDDEN_WEB, "hubapps.service", "hubapps.proxy", "jupyterhub"),
    "hubapps.hub": (*FORBIDDEN_WEB, "hubapps.service", "hubapps.proxy"),
    "hubapps.proxy": (*FORBIDDEN_WEB, *PROXY_HEAVY, "hubapps.service", "hubapps.hub"),
    "hubapps.proxy.main": (*FORBIDDEN_WEB, *PROXY_HEAVY, "hubapps.service", "hubapps.hub"),
    "hubapps.proxy.server": (*FORBIDDEN_WEB, *PROXY_HEAVY, "hubapps.service", "hubapps.hub"),
    "hubapps.core.spec": (*FORBIDDEN_WEB, "hubapps.service", "hubapps.hub", "hubapps.proxy", "jupyterhub"),
    "hubapps.core.command": (*FORBIDDEN_WEB, "hubapps.service", "hubapps.hub", "hubapps.proxy", "jupyterhub"),
    "hubapps.core.frameworks": (*FORBIDDEN_WEB, "hubapps.service", "hubapps.hub", "hubapps.proxy", "jupyterhub"),
    "hubapps.core.secret_env": (*FORBIDDEN_WEB, "hubapps.service", "hubapps.hub", "hubapps.proxy", "jupyterhub"),
    "hubapps.core.scopes": (*FORBIDDEN_WEB, "hubapps.service", "hubapps.hub", "hubapps.proxy", "jupyterhub"),
    # The service: not JupyterHub's ORM (its scope check alone imported it: 10 MB of every worker's RSS).
    "hubapps.service.app": (
        "hubapps.hub",
        "hubapps.proxy",
        "jupyterhub.orm",
        "jupyterhub.scopes",
        "jupyterhub.services",
    ),
}

_PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps(sorted(sys.modules)))
"""


def _modules_after_import(module: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-I", "-c", _PROBE, module],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"importing {module} failed:\n{result.stderr[-2000:]}"
    loaded = json.loads(result.stdout)
    assert isinstance(loaded, list)
    return loaded


@pytest.mark.parametrize("module", list(CASES))
def test_context_imports_stay_apart(module: str) -> None:
    forbidden = CASES[module]
    loaded = _modules_after_import(module)
    assert module in loaded
    leaked = sorted(m for m in loaded if any(m == f or m.startswith(f + ".") for f in forbidden))
    assert not leaked, f"importing {module} loads {leaked}"
