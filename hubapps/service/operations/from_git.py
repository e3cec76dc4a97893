"""An app's settings read from a git repository (its ``conda-project.yml``), to prefill a new app.

One operation for the deploy form's "From git", ``POST /api/apps/from-git`` and upstream's
``POST /app-config-from-git/``. The repository is cloned by the service itself, bounded and in a
temporary folder removed afterwards (:mod:`hubapps.service.gitclone`). The project file is the one in
the folder the user names (``subdirectory``, upstream's ``config_directory``), and every path it gives
(the thumbnail, the app's file) must stay inside the checkout: no absolute path, no ``..``, no symlink
out (upstream reads ``thumbnail_path`` wherever it points, so any file of the service's machine). The
thumbnail is checked and re-encoded like an upload, and comes back as a ``data:`` URL; it is stored
with the app when the app is saved, like an upload (nothing is kept for a prefill that is not saved).
"""

from __future__ import annotations

import asyncio
import base64
import logging

import yaml
from pydantic import ValidationError

from hubapps.core.errors import SpecError
from hubapps.core.gitproject import PROJECT_FILES, prefill_from_project
from hubapps.core.spec import GitSource
from hubapps.service.errors import InvalidInput, safe_log
from hubapps.service.gitclone import CloneLimits, check_url, clone_commit, clone_slot, inside, temporary_checkout
from hubapps.service.operations.caller import Caller
from hubapps.service.operations.images import check_image
from hubapps.service.schemas import GitPrefill, GitPrefillRequest, GitSourceIn

__all__ = ["app_config_from_git"]

log = logging.getLogger("hubapps.service.git")

#: Bytes of a project file read at most (a real one is a few hundred).
PROJECT_FILE_MAX_BYTES = 256 * 1024
#: libyaml's safe loader when PyYAML has it (fast), else PyYAML's own: plain data, no Python objects.
_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_limited(path: str, limit: int) -> bytes:
    with open(path, "rb") as file:
        return file.read(limit + 1)


def _load_project(text: bytes, name: str) -> object:
    if len(text) > PROJECT_FILE_MAX_BYTES:
        raise SpecError("repository", f"{name} is larger than {PROJECT_FILE_MAX_BYTES // 1024} KiB")
    try:
        return yaml.load(text, Loader=_SAFE_LOADER)  # noqa: S506 (a safe loader: plain data only)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise SpecError("repository", f"{name} is not valid YAML{where}") from None


async def app_config_from_git(caller: Caller, request: GitPrefillRequest) -> GitPrefill:
    """Clone ``request``'s repository and read the app's settings from it (SpecError / InvalidInput
    naming the field on a bad URL, ref, folder, file or path)."""
    settings = caller.settings
    try:
        source = GitSource(url=request.url, ref=request.ref, subdirectory=request.subdirectory.strip("/"))
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        field = ".".join(str(p) for p in first["loc"]) or "url"
        raise InvalidInput(str(first["msg"]).removeprefix("Value error, "), field=f"repository.{field}") from None
    limits = CloneLimits(
        settings.git_allowed_protocols,
        settings.git_allowed_hosts,
        settings.git_clone_timeout,
        settings.git_clone_max_bytes,
    )
    check_url(source.url, limits)  # (before the URL is logged)
    log.info("%s reads app settings from %s", safe_log(caller.name), safe_log(source.url))
    with clone_slot(caller.name, settings.git_clone_concurrency):
        return await _read_settings(caller, source, request.token or "", limits)


async def _read_settings(caller: Caller, source: GitSource, token: str, limits: CloneLimits) -> GitPrefill:
    settings = caller.settings
    async with temporary_checkout() as folder:
        checkout, commit = await clone_commit(source.url, source.ref, folder, token=token, limits=limits)
        project_dir = inside(checkout, source.subdirectory, what="repository.subdirectory")
        if not await asyncio.to_thread(project_dir.is_dir):
            raise SpecError("repository.subdirectory", f"{source.subdirectory!r} is not a folder of the repository")
        for name in PROJECT_FILES:
            path = inside(checkout, f"{source.subdirectory}/{name}".lstrip("/"), what="repository")
            if await asyncio.to_thread(path.is_file):
                break
        else:
            where = f"in {source.subdirectory!r}" if source.subdirectory else "at the top of the repository"
            raise SpecError("repository", f"there is no conda-project.yml {where}")
        text = await asyncio.to_thread(_read_limited, str(path), PROJECT_FILE_MAX_BYTES)
        project = await asyncio.to_thread(_load_project, text, name)  # (parsing is CPU work: off the loop)
        prefill = prefill_from_project(project)
        filepath = str(prefill.fields.get("filepath") or "")
        if filepath:
            target = inside(str(project_dir), filepath, what="filepath")
            if not await asyncio.to_thread(target.is_file):
                prefill.notes.append(f"the app's file {filepath!r} is not in the repository at this commit")
        thumbnail = ""
        if prefill.thumbnail_path:
            image = inside(str(project_dir), prefill.thumbnail_path, what="thumbnail")
            if not await asyncio.to_thread(image.is_file):
                raise SpecError("thumbnail", f"{prefill.thumbnail_path!r} is not a file of the repository")
            data = await asyncio.to_thread(_read_limited, str(image), settings.thumbnail_max_bytes)
            thumb = await check_image(caller, data)
            thumbnail = f"data:{thumb.content_type};base64," + base64.b64encode(thumb.data).decode("ascii")
    return GitPrefill(
        **prefill.fields,
        repository=GitSourceIn(url=source.url, ref=source.ref, subdirectory=source.subdirectory),
        thumbnail_data_url=thumbnail,
        commit=commit,
        notes=prefill.notes,
    )
