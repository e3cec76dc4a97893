"""Framework runtimes: looked up (never run) in a search that tests point at folders of their own, and
third-party frameworks found through the entry point of an installed plugin."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hubapps.core.frameworks import Framework, FrameworkRegistry, builtin_frameworks
from hubapps.core.runtimes import RuntimeSearch, missing_requirement, unavailable_frameworks

PLUGIN = Path(__file__).resolve().parents[1] / "resources" / "hubapps_plugin_example"
BY_NAME = {fw.name: fw for fw in builtin_frameworks()}


def _executable(folder: Path, name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("#!/bin/sh\n")
    (folder / name).chmod(0o755)


def _nothing(module: str) -> bool:
    return False


def test_every_builtin_says_what_it_requires() -> None:
    for fw in builtin_frameworks():
        if fw.name != "command":  # (the command is the user's own)
            assert fw.requires, fw.name
        for requirement in fw.requires:
            assert requirement.partition(":")[0] in {"python", "program", "r"}, requirement


def test_an_environment_without_r_makes_r_shiny_unavailable_with_the_reason(tmp_path: Path) -> None:
    search = RuntimeSearch(path=(str(tmp_path),))
    reason = missing_requirement(BY_NAME["rshiny"], search)
    assert reason == "needs the program Rscript, which is not installed here"
    # The Python frameworks are found by this interpreter, as in the service.
    assert missing_requirement(BY_NAME["shiny"], search) == ""


def test_r_without_its_shiny_package_is_named(tmp_path: Path) -> None:
    _executable(tmp_path / "r" / "bin", "Rscript")
    # (not this machine's own R library folders, which may have shiny)
    search = RuntimeSearch(path=(str(tmp_path / "r" / "bin"),), r_default_libraries=())
    assert missing_requirement(BY_NAME["rshiny"], search) == "needs the R package shiny, which is not installed here"


def test_r_packages_are_found_beside_rscript_and_in_r_libs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _executable(tmp_path / "conda" / "bin", "Rscript")
    package = tmp_path / "conda" / "lib" / "R" / "library" / "hubappsfakepkg"
    package.mkdir(parents=True)
    (package / "DESCRIPTION").write_text("Package: hubappsfakepkg\n")
    search = RuntimeSearch(path=(str(tmp_path / "conda" / "bin"),))
    assert search.finds("r:hubappsfakepkg")
    assert not search.finds("r:hubappsotherpkg")
    other = tmp_path / "site" / "hubappsotherpkg"
    other.mkdir(parents=True)
    (other / "DESCRIPTION").write_text("Package: hubappsotherpkg\n")
    environ = {"PATH": str(tmp_path / "conda" / "bin"), "R_LIBS_USER": str(tmp_path / "site")}
    assert RuntimeSearch.from_environ(environ).finds("r:hubappsotherpkg")


def test_modules_are_looked_up_in_environments_without_running_them(tmp_path: Path) -> None:
    site = tmp_path / "env" / "lib" / "python3.99" / "site-packages" / "hubapps_fake_framework"
    site.mkdir(parents=True)
    (site / "__init__.py").write_text("raise SystemExit('imported!')\n")
    search = RuntimeSearch(environments=(str(tmp_path / "env"),), this_python=False)
    assert search.finds("python:hubapps_fake_framework")
    assert not search.finds("python:hubapps_other_framework")
    assert "hubapps_fake_framework" not in sys.modules


def test_programs_must_be_executable(tmp_path: Path) -> None:
    (tmp_path / "Rscript").write_text("not executable")
    assert not RuntimeSearch(path=(str(tmp_path),)).finds("program:Rscript")
    _executable(tmp_path / "bin", "Rscript")
    environ = {"PATH": os.pathsep.join([str(tmp_path), str(tmp_path / "bin")])}
    assert RuntimeSearch.from_environ(environ).finds("program:Rscript")


def test_unavailable_lists_every_framework_with_its_first_missing_requirement(tmp_path: Path) -> None:
    search = RuntimeSearch(path=(str(tmp_path),), this_python=False, python_finds=_nothing)
    missing = unavailable_frameworks(builtin_frameworks(), search)
    assert "command" not in missing  # nothing to check
    assert missing["marimo"] == "needs the Python module marimo, which is not installed here"
    assert missing["jupyterlab"] == "needs the program jupyterhub-singleuser, which is not installed here"
    odd = Framework(name="odd", display_name="Odd", description="", argv=("x",), requires=("java:x",))
    assert unavailable_frameworks([odd], search) == {"odd": "its requirement 'java:x' is of an unknown kind"}


# -- a third-party plugin, installed the way pip installs one -------------------------------------


@pytest.fixture
def installed_plugin(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """tests/resources/hubapps_plugin_example on sys.path: its dist-info's entry point is then visible."""
    monkeypatch.syspath_prepend(str(PLUGIN))
    yield
    sys.modules.pop("hubapps_plugin_example", None)


@pytest.mark.usefixtures("installed_plugin")
def test_an_installed_plugin_adds_its_framework_through_the_entry_point() -> None:
    registry = FrameworkRegistry.load()
    mesop = registry.get("mesop")
    assert mesop.display_name == "Mesop"
    assert mesop.requires == ("python:mesop",)
    assert list(registry)[: len(BY_NAME)] == list(BY_NAME.values())  # the built-ins first, unchanged
    # Its runtime is not installed here: listed, unavailable, with the reason.
    assert unavailable_frameworks([mesop], RuntimeSearch.from_environ({}))["mesop"].startswith(
        "needs the Python module mesop"
    )


def test_without_the_plugin_on_the_path_there_is_no_such_framework() -> None:
    assert "mesop" not in FrameworkRegistry.load()
