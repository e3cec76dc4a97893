"""The owner's files, where the launcher can see them: checked at deploy, offered in the form.

The only view the launcher has of a user's home is their own running default server (a Jupyter
server, see :mod:`hubapps.service.homefiles`). It is used only when

- the caller *is* the owner (an admin editing someone's app never sends their token to a server that
  user controls), and the owner's default server is running;
- that server is shared with nobody (whoever it is shared with can run code in it, and would see the
  owner's launcher token).

Otherwise nothing is said: the app's start then fails fast, with the reason, if the file is missing.
"""

from __future__ import annotations

import asyncio
import posixpath

from hubapps.core.errors import SpecError
from hubapps.core.spec import AppSpec
from hubapps.service.errors import ServiceError
from hubapps.service.homefiles import DirectoryListing
from hubapps.service.operations.caller import Caller

__all__ = ["check_app_file", "owner_files"]


async def _owner_server(caller: Caller, owner: str) -> str | None:
    """The URL of ``owner``'s running, unshared default server when the caller is the owner; else None."""
    if caller.identity.name != owner or not caller.home_files.available:
        return None
    model = caller.identity.servers.get("")
    if not model or not model.get("ready"):
        return None
    try:
        shared = await caller.hub.shares(owner, "", caller.token)
    except ServiceError:
        return None  # cannot tell who else uses it: say nothing
    if shared:
        return None
    return str(model.get("url") or "") or None


def _home_path(spec: AppSpec) -> str | None:
    """The app's file relative to the home, or None when it is not a plain file there."""
    if spec.repository is not None or not spec.filepath:
        return None
    path = posixpath.join(spec.working_dir, spec.filepath) if spec.working_dir else spec.filepath
    path = posixpath.normpath(path)
    if path.startswith(("/", "..")) or path == ".":
        return None
    return path


async def check_app_file(caller: Caller, owner: str, spec: AppSpec) -> None:
    """Refuse (on ``filepath``) an app whose file the owner's running server says does not exist."""
    path = _home_path(spec)
    if path is None:
        return
    url = await _owner_server(caller, owner)
    if url is None:
        return
    folder, name = posixpath.split(path)
    listing = await caller.home_files.listing(url, caller.token, folder)
    if listing is False:
        message = f"there is no folder {folder!r} in your home, so no file {path!r} (your JupyterLab server says so)"
        raise SpecError("filepath", message)
    if isinstance(listing, DirectoryListing) and name not in listing.files:
        raise SpecError("filepath", f"there is no file {path!r} in your home (your JupyterLab server says so)")


async def owner_files(caller: Caller, owner: str, suffixes: tuple[str, ...]) -> list[str]:
    """Files of the owner's home and its first-level folders that end with one of ``suffixes``
    (at most ``home_files_folders`` folders read); [] when the launcher cannot see them."""
    url = await _owner_server(caller, owner)
    if url is None or not suffixes:
        return []
    reader = caller.home_files
    top = await reader.listing(url, caller.token, "")
    if not isinstance(top, DirectoryListing):
        return []
    folders = [f for f in sorted(top.folders) if not f.startswith(".")][: caller.settings.home_files_folders]
    below = await asyncio.gather(*(reader.listing(url, caller.token, f) for f in folders))
    found = [name for name in top.files if name.endswith(suffixes)]
    for folder, listing in zip(folders, below, strict=True):
        if isinstance(listing, DirectoryListing):
            found += [f"{folder}/{name}" for name in listing.files if name.endswith(suffixes)]
    return sorted(found)
