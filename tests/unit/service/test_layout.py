"""The service's layout holds: routes → operations → Hub client / stores → core, read from the source.

Imports anywhere in a module count (top level or inside a function), not only those made at import time.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SERVICE = Path(__file__).resolve().parents[3] / "hubapps" / "service"
MODULES = sorted(p for p in SERVICE.rglob("*.py"))


def _name(path: Path) -> str:
    parts = path.relative_to(SERVICE.parent.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _touches(imports: set[str], package: str) -> set[str]:
    return {i for i in imports if i == package or i.startswith(package + ".")}


@pytest.mark.parametrize("path", [p for p in MODULES if p.parent.name == "routes"], ids=_name)
def test_no_route_module_imports_another(path: Path) -> None:
    assert not _touches(_imports(path), "hubapps.service.routes"), _name(path)


# The application itself (app.py) assembles the routers; nothing else outside them may import them.
@pytest.mark.parametrize("path", [p for p in MODULES if p.parent.name != "routes" and p.name != "app.py"], ids=_name)
def test_nothing_below_the_routes_imports_them(path: Path) -> None:
    assert not _touches(_imports(path), "hubapps.service.routes"), _name(path)


def test_the_operations_and_forms_know_no_request() -> None:
    for path in [*sorted((SERVICE / "operations").glob("*.py")), SERVICE / "forms.py"]:
        imports = _imports(path)
        assert not _touches(imports, "fastapi"), _name(path)
        assert not _touches(imports, "starlette"), _name(path)
        assert not _touches(imports, "hubapps.service.deps"), _name(path)


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_every_module_is_small_and_names_its_concern(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 500, _name(path)
    assert ast.get_docstring(ast.parse(text)), _name(path)
