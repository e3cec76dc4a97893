"""The runtime contexts' boundaries, statically: the import-linter contracts of ``pyproject.toml``.

One test per contract (``lint-imports --contract ID``), so a broken one names itself. The contracts see
every import statement, inside functions and under ``TYPE_CHECKING`` too, which an import in a clean
interpreter does not (``tests/integration/test_contexts.py`` checks what is really loaded at run time,
including what third-party packages pull in). The proxy's contract lists what it must not import; the
last test here checks the other way round, that it imports nothing but the standard library,
``httptools``, ``uvloop`` and ``hubapps.core``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = ROOT / "pyproject.toml"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

CONTRACTS: list[str] = [c["id"] for c in tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]["contracts"]]
#: Contracts that the code does not keep yet; each one's check is a strict xfail, so it fails once kept.
NOT_YET: dict[str, str] = {}

#: All the proxy may import besides itself (docs/proxy.md, "Inside").
PROXY_ALLOWED = frozenset({*sys.stdlib_module_names, "__future__", "httptools", "uvloop"})


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _lint(contract: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), str(PYPROJECT), "--contract", contract, "--no-cache", "--no-logo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_contracts_are_the_ones_documented() -> None:
    assert CONTRACTS == ["core", "contexts", "launchers", "routes", "proxy"]


@pytest.mark.parametrize(
    "contract",
    [
        pytest.param(c, marks=pytest.mark.xfail(strict=True, reason=NOT_YET[c])) if c in NOT_YET else c
        for c in CONTRACTS
    ],
)
def test_import_contract_is_kept(contract: str) -> None:
    result = _lint(contract)
    assert "Contracts: 1 kept, 0 broken." in result.stdout, result.stdout[-4000:] + result.stderr[-2000:]
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def proxy_imports_outside() -> list[str]:
    """What the proxy (and the core modules it reaches) import beyond the standard library, httptools,
    uvloop and core, from grimp's import graph."""
    graph = grimp.build_graph("hubapps", include_external_packages=True, cache_dir=None)
    proxy = {"hubapps.proxy", *graph.find_descendants("hubapps.proxy")}
    problems: list[str] = []
    for module in sorted(proxy):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if _within(imported, "hubapps.proxy") or _within(imported, "hubapps.core"):
                continue
            if imported.split(".")[0] not in PROXY_ALLOWED or _within(imported, "hubapps"):
                problems.append(f"{module} -> {imported}")
    # (hubapps.core is the proxy's only way into the rest of the package: what it imports there counts too)
    used_core = {
        imported
        for module in proxy
        for imported in graph.find_modules_directly_imported_by(module)
        if _within(imported, "hubapps.core")
    }
    for module in sorted(used_core):
        for imported in sorted(graph.find_upstream_modules(module)):
            top = imported.split(".")[0]
            if not (top in PROXY_ALLOWED or _within(imported, "hubapps.core")):
                problems.append(f"{module} -> {imported}")
    return problems


def test_proxy_imports_only_the_standard_library_httptools_uvloop_and_core() -> None:
    # In a process of its own: grimp parses modules in threads, and CPython 3.11's AST constructor then
    # fails later in the same process ("AST constructor recursion depth mismatch", CPython gh-106905).
    code = (
        "import json; from tests.unit.test_import_contracts import proxy_imports_outside as f; print(json.dumps(f()))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
