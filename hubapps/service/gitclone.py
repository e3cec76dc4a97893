"""The launcher service's own clone of a repository: one commit, bounded, into a folder of its own.

Users give the URL, so the clone is treated as hostile on every side:

* **Transports**: only those in ``git_allowed_protocols`` (``protocol.allow=never`` and one
  ``protocol.<name>.allow=always`` each; ``ext::``, which runs commands, never); hosts in
  ``git_allowed_hosts`` when the admin lists some; redirects are not followed
  (``http.followRedirects=false``), so a URL cannot bounce the service elsewhere.
* **No configuration but ours**: ``GIT_CONFIG_NOSYSTEM``, ``GIT_CONFIG_GLOBAL=/dev/null``, ``HOME`` in
  the temporary folder, hooks off (``core.hooksPath=/dev/null``), no LFS smudge, no prompts
  (``GIT_TERMINAL_PROMPT=0``, ``GIT_ASKPASS=/bin/false``); SSH without the service's own keys or agent
  (a user must not borrow the service's identity).
* **Bounded**: one commit (``fetch --depth=1``, no tags), a time limit for everything
  (``git_clone_timeout``) and a size limit on the folder (``git_clone_max_bytes``), checked while git
  writes; over either, git's process group is killed.
* **Credentials** (a private repository's token) go to git in its environment as a header for that URL
  only (:func:`hubapps.core.gitproject.git_auth_env`): never in the URL, argv, a file or a log.
* **Errors**: git's own words are logged (truncated), not shown: they could tell a user what answers at
  an internal address.

The caller owns the temporary folder (:func:`temporary_checkout` removes it). Reading files from the
checkout goes through :func:`inside`, which refuses absolute paths, ``..`` and symlinks that leave it.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import logging
import os
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from hubapps.core.errors import SpecError
from hubapps.core.gitproject import check_relative, git_auth_env
from hubapps.service.errors import InvalidInput, TooSoon, safe_log

__all__ = ["CloneLimits", "check_url", "clone_commit", "clone_slot", "inside", "temporary_checkout"]

log = logging.getLogger("hubapps.service.git")

#: Seconds between two measures of the checkout's size while git writes it.
_SIZE_POLL = 0.2
#: Lines of git's output kept for the log.
_LOG_LINES = 20
#: Seconds a refused clone is told to wait (Retry-After).
_RETRY_AFTER = 5
#: The users whose clone this worker runs now (one each; ``git_clone_concurrency`` in all).
_CLONING: set[str] = set()


class CloneLimits:
    """What the admin allows: transports, hosts, time and size."""

    def __init__(self, protocols: Sequence[str], hosts: Sequence[str], timeout: float, max_bytes: int) -> None:
        self.protocols = tuple(p.lower() for p in protocols)
        self.hosts = tuple(h.lower() for h in hosts)
        self.timeout = timeout
        self.max_bytes = max_bytes


def _scheme(url: str) -> str:
    if "://" in url:
        return url.split("://", 1)[0].lower()
    return "ssh" if ":" in url.split("/", 1)[0] else "file"  # scp-like user@host:path, or a plain path


def check_url(url: str, limits: CloneLimits) -> None:
    """Refuse a URL whose transport or host the admin does not allow (InvalidInput on ``repository.url``)."""
    if not url or url.startswith("-") or any(c.isspace() or ord(c) < 32 for c in url):
        raise InvalidInput("is not a repository URL", field="repository.url")
    scheme = _scheme(url)
    if scheme not in limits.protocols:
        allowed = ", ".join(f"{p}://" for p in limits.protocols) or "none"
        message = f"{scheme}:// repositories are not allowed here (allowed: {allowed})"
        raise InvalidInput(message, field="repository.url")
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
        # (a URL is in git's argv, which other local users can read, and in logs)
        raise InvalidInput(
            "must not carry credentials, a query or a fragment: give the token in its own field",
            field="repository.url",
        )
    if limits.hosts and scheme != "file":
        host = (parts.hostname or "").lower()
        if not any(fnmatch.fnmatchcase(host, pattern) for pattern in limits.hosts):
            raise InvalidInput(f"the host {host!r} is not one the admin allows", field="repository.url")


def _git_env(home: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": home,
        "LANG": "C",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "/bin/false",
        "SSH_ASKPASS": "/bin/false",
        "GIT_LFS_SKIP_SMUDGE": "1",
        "GIT_SSH_COMMAND": "ssh -F /dev/null -o BatchMode=yes -o IdentityAgent=none -o IdentitiesOnly=yes "
        "-o IdentityFile=none",
    }


def _size(path: str) -> int:
    total = 0
    for folder, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(folder, name)).st_size
    return total


async def _git(
    args: list[str], *, env: dict[str, str], cwd: str, limits: CloneLimits, watch: str, deadline: float
) -> int:
    options = ["-c", "protocol.allow=never"]
    for name in limits.protocols:
        options += ["-c", f"protocol.{name}.allow=always"]
    options += ["-c", "core.hooksPath=/dev/null", "-c", "http.followRedirects=false", "-c", "core.fsmonitor=false"]
    process = await asyncio.create_subprocess_exec(
        "git",
        *options,
        *args,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    assert process.stdout is not None
    stdout = process.stdout
    output: list[str] = []

    async def read() -> None:
        while line := await stdout.readline():
            output.append(line.decode("utf-8", "replace").rstrip())
            del output[:-_LOG_LINES]

    async def watch_size() -> None:
        while True:
            await asyncio.sleep(_SIZE_POLL)
            if await asyncio.to_thread(_size, watch) > limits.max_bytes:
                return

    loop = asyncio.get_running_loop()
    reader = asyncio.create_task(read())
    watcher = asyncio.create_task(watch_size())
    waiter = asyncio.create_task(process.wait())
    try:
        done, _ = await asyncio.wait(
            {waiter, watcher}, timeout=max(0.0, deadline - loop.time()), return_when=asyncio.FIRST_COMPLETED
        )
        # Measured once more at the end: a quick step may finish between two measures.
        if watcher in done or (waiter in done and await asyncio.to_thread(_size, watch) > limits.max_bytes):
            raise InvalidInput(
                f"the repository is larger than {limits.max_bytes / (1024 * 1024):g} MiB (setting git_clone_max_bytes)",
                field="repository.url",
            )
        if waiter not in done:
            raise InvalidInput(
                f"the repository could not be read within {limits.timeout:g} s (setting git_clone_timeout)",
                field="repository.url",
            )
        code = waiter.result()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(reader, 1.0)
        if code != 0:
            log.info("git %s failed (%s): %s", args[0], code, safe_log(output[-5:], 600))
        return code
    finally:
        # git's session (its helpers: remote-http, upload-pack, ssh), then its output to the end, which
        # closes the pipe.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        for task in (reader, watcher, waiter):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await process.communicate()


@contextlib.contextmanager
def clone_slot(user: str, concurrency: int) -> Iterator[None]:
    """Hold one of the worker's ``concurrency`` clone slots for ``user`` (one per user); TooSoon (429)
    when the user has one already or none is free."""
    if user in _CLONING:
        raise TooSoon("you are reading a repository already; try again once it is done", _RETRY_AFTER)
    if len(_CLONING) >= concurrency:
        message = f"the launcher is reading {concurrency} repositories already; try again in a few seconds"
        raise TooSoon(message, _RETRY_AFTER)
    _CLONING.add(user)
    try:
        yield
    finally:
        _CLONING.discard(user)


@contextlib.asynccontextmanager
async def temporary_checkout() -> AsyncIterator[str]:
    """A new private folder for one clone, removed afterwards whatever happens."""
    folder = await asyncio.to_thread(tempfile.mkdtemp, prefix="hubapps-git-")
    try:
        yield folder
    finally:
        await asyncio.to_thread(shutil.rmtree, folder, True)


async def clone_commit(url: str, ref: str, folder: str, *, token: str, limits: CloneLimits) -> tuple[str, str]:
    """Fetch one commit of ``url`` (``ref``, else the default branch) into ``folder``/``checkout``;
    returns the checkout's path and the commit's hash. InvalidInput (safe to show) when it fails."""
    check_url(url, limits)
    if ref.startswith("-"):
        raise InvalidInput("is not a valid branch, tag or commit name", field="repository.ref")
    checkout = os.path.join(folder, "checkout")
    env = _git_env(folder)
    if token:
        try:
            env = git_auth_env(url, token, env)
        except SpecError as exc:
            raise InvalidInput(exc.message, field="repository.token") from None
    deadline = asyncio.get_running_loop().time() + limits.timeout
    fetch = ["fetch", "--quiet", "--depth=1", "--no-tags", "--no-recurse-submodules"]
    steps = [
        ["init", "--quiet", "--", checkout],
        ["-C", checkout, *fetch, "--", url, ref or "HEAD"],
        ["-C", checkout, "checkout", "--quiet", "--detach", "FETCH_HEAD"],
    ]
    for args in steps:
        if await _git(args, env=env, cwd=folder, limits=limits, watch=folder, deadline=deadline) != 0:
            what = f"at {ref!r}" if ref else ""
            raise InvalidInput(
                f"the repository could not be read {what}".rstrip()
                + ": check the URL, the branch or tag, and the token if it is private",
                field="repository.url",
            )
    head = await asyncio.to_thread((Path(checkout) / ".git" / "FETCH_HEAD").read_text, "utf-8", "replace")
    return checkout, head.split()[0] if head.split() else ""


def inside(root: str, relative: str, *, what: str) -> Path:
    """``root/relative`` if it really is inside ``root`` (symlinks followed); SpecError naming ``what``
    for an absolute path, ``..``, or a link that leaves the checkout."""
    if relative in ("", ".", "./"):
        return Path(root).resolve()
    check_relative(relative, what=what)
    base = Path(root).resolve()
    target = (base / relative).resolve()
    if target != base and base not in target.parents:
        raise SpecError(what, f"{relative[:200]!r} leads outside the repository")
    return target
