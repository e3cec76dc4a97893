"""Is a framework's runtime installed? Looked up, never run.

A framework names what the app's environment must have in ``Framework.requires``, each as ``kind:name``:

===============  ==========================================================================================
``python:NAME``  a top-level Python module the environment's Python finds (looked up with importlib's path
                 finder: nothing is imported, so no package code runs in the launcher)
``program:NAME`` an executable on ``PATH`` (or in an environment's ``bin``)
``r:NAME``       an R package: ``NAME/DESCRIPTION`` in one of R's library folders
===============  ==========================================================================================

:class:`RuntimeSearch` says where to look: this interpreter and ``PATH`` (on a single machine, what apps run
with) plus the admin's ``environments``. :func:`unavailable_frameworks` names, per framework that cannot run
anywhere there, the first thing it misses, in words a user can act on.
"""

from __future__ import annotations

import glob
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from hubapps.core.frameworks import Framework

__all__ = ["RuntimeSearch", "missing_requirement", "unavailable_frameworks"]

#: R's library folders on Debian and in a source install, besides those next to each ``Rscript`` found.
R_DEFAULT_LIBRARIES = (
    "/usr/local/lib/R/site-library",
    "/usr/local/lib/R/library",
    "/usr/lib/R/site-library",
    "/usr/lib/R/library",
)
#: R's variables naming more library folders (``:``-separated).
R_LIBRARY_VARIABLES = ("R_LIBS", "R_LIBS_USER", "R_LIBS_SITE")

#: What each kind of requirement is called in a reason.
_WHAT = {"python": "the Python module", "program": "the program", "r": "the R package"}


def _this_python_finds(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


@dataclass(frozen=True)
class RuntimeSearch:
    """Where requirements are looked for. An environment is the folder holding ``bin/python``."""

    #: Folders searched for programs (``PATH``, then each environment's ``bin``).
    path: tuple[str, ...] = ()
    #: Environments besides this interpreter's whose ``site-packages`` are searched for modules.
    environments: tuple[str, ...] = ()
    #: Extra R library folders (``R_LIBS``...); those beside each ``Rscript`` and the defaults are added.
    r_libraries: tuple[str, ...] = ()
    #: R's usual library folders, searched last.
    r_default_libraries: tuple[str, ...] = R_DEFAULT_LIBRARIES
    #: Whether this interpreter's own module search path counts (it does in the service).
    this_python: bool = True
    #: How this interpreter is asked (tests point it elsewhere).
    python_finds: Callable[[str], bool] = _this_python_finds

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], environments: Iterable[str] = ()) -> RuntimeSearch:
        """The search of a process with ``environ``, apps possibly in ``environments`` (prefix folders)."""
        prefixes = tuple(environments)
        # This interpreter's scripts folder first: console scripts (jupyterhub-singleuser) of the environment
        # the launcher runs in, where the Hub's are, whether or not that folder is on PATH.
        path: tuple[str, ...] = (os.path.dirname(sys.executable),)
        path += tuple(d for d in environ.get("PATH", "").split(os.pathsep) if d)
        path += tuple(os.path.join(prefix, "bin") for prefix in prefixes)
        libraries = tuple(d for name in R_LIBRARY_VARIABLES for d in environ.get(name, "").split(os.pathsep) if d)
        return cls(path=path, environments=prefixes, r_libraries=libraries)

    def finds_program(self, name: str) -> bool:
        return any(os.access(os.path.join(folder, name), os.X_OK) for folder in self.path)

    def finds_module(self, name: str) -> bool:
        if self.this_python and self.python_finds(name):
            return True
        for prefix in self.environments:
            site = glob.glob(os.path.join(glob.escape(prefix), "lib", "python3*", "site-packages"))
            try:
                if site and importlib.machinery.PathFinder.find_spec(name, site) is not None:
                    return True
            except (ImportError, ValueError):
                continue
        return False

    def _r_libraries(self) -> list[str]:
        folders = list(self.r_libraries)
        for folder in self.path:
            if os.access(os.path.join(folder, "Rscript"), os.X_OK):
                home = os.path.join(os.path.dirname(os.path.abspath(folder)), "lib", "R")
                folders += [os.path.join(home, "site-library"), os.path.join(home, "library")]
        return folders + list(self.r_default_libraries)

    def finds_r_package(self, name: str) -> bool:
        return any(os.path.isfile(os.path.join(folder, name, "DESCRIPTION")) for folder in self._r_libraries())

    def finds(self, requirement: str) -> bool:
        kind, _, name = requirement.partition(":")
        if kind == "python":
            return self.finds_module(name)
        if kind == "program":
            return self.finds_program(name)
        if kind == "r":
            return self.finds_r_package(name)
        return False


def missing_requirement(framework: Framework, search: RuntimeSearch) -> str:
    """Why ``framework`` cannot run (its first missing requirement, in words), or ``""`` when it can."""
    for requirement in framework.requires:
        if not search.finds(requirement):
            kind, _, name = requirement.partition(":")
            what = _WHAT.get(kind)
            if what is None:
                return f"its requirement {requirement!r} is of an unknown kind"
            return f"needs {what} {name}, which is not installed here"
    return ""


def unavailable_frameworks(frameworks: Iterable[Framework], search: RuntimeSearch) -> dict[str, str]:
    """Framework name → why it cannot run, for each framework that misses something."""
    found = {fw.name: missing_requirement(fw, search) for fw in frameworks}
    return {name: reason for name, reason in found.items() if reason}
