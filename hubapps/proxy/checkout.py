"""Clone (or refresh) the app's git repository before the app starts.

A shallow clone of one ref keeps the transfer small. The repository URL and ref come from the launch
spec, so they are passed after ``--`` or as ``--opt=value`` where git allows it, and the ``ext::``
transport (which runs commands) is disabled. Git never prompts (no terminal): a private repository
without credentials fails fast instead of hanging. Output goes to the app's output buffer so the
startup page shows clone progress and errors.

A private repository's token reaches the proxy in ``HUBAPPS_GIT_AUTH`` (decrypted by the spawner, at
start); it is given to git in git's own environment as an ``Authorization`` header for the repository's
URL only (:func:`hubapps.core.gitproject.git_auth_env`), never in an argument, the URL or the
checkout's ``.git/config``, and the app's environment never has it.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping

from hubapps.core.errors import SpecError
from hubapps.core.gitproject import GIT_AUTH_ENV_VAR, git_auth_env

__all__ = ["GIT_AUTH_ENV_VAR", "CheckoutError", "checkout_repository"]

#: Options that apply to every git command we run.
_GIT_SAFETY = ("-c", "protocol.ext.allow=never", "-c", "core.hooksPath=/dev/null")


class CheckoutError(Exception):
    """The repository could not be cloned or refreshed; the message is safe to show."""


async def _run_git(args: list[str], env: Mapping[str, str], on_line: Callable[[str], None], time_limit: float) -> int:
    process = await asyncio.create_subprocess_exec(
        "git",
        *_GIT_SAFETY,
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=dict(env),
        start_new_session=True,
    )
    assert process.stdout is not None

    async def pump() -> None:
        assert process.stdout is not None
        while line := await process.stdout.readline():
            on_line(line.decode("utf-8", "replace").rstrip("\r\n"))

    try:
        async with asyncio.timeout(time_limit):
            await pump()
            return await process.wait()
    except TimeoutError:
        raise CheckoutError(f"git did not finish within {time_limit:g} seconds") from None
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def checkout_repository(
    url: str,
    ref: str,
    target: str,
    *,
    env: Mapping[str, str],
    on_line: Callable[[str], None],
    time_limit: float,
    token: str = "",
) -> None:
    """Make ``target`` a shallow checkout of ``url`` at ``ref`` (the default branch when empty).

    An existing checkout is fetched and hard-reset to the ref (local changes in it are discarded: the
    checkout belongs to the proxy). An existing folder that is not a checkout is left alone and is an
    error, so a typo cannot overwrite a user's folder.
    """
    if ref.startswith("-"):
        raise CheckoutError("the git ref must not start with '-'")
    git_env = {**env, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "/bin/false"}
    if token:
        try:
            git_env = git_auth_env(url, token, git_env)
        except SpecError as error:
            raise CheckoutError(error.message) from None
    if await asyncio.to_thread(os.path.isdir, os.path.join(target, ".git")):
        on_line(f"hubapps: updating the checkout in {target}")
        fetch = ["-C", target, "fetch", "--depth=1", "origin", "--", ref or "HEAD"]
        if await _run_git(fetch, git_env, on_line, time_limit) != 0:
            raise CheckoutError("git fetch failed (see the log above)")
        reset = ["-C", target, "reset", "--hard", "FETCH_HEAD"]
        if await _run_git(reset, git_env, on_line, time_limit) != 0:
            raise CheckoutError("git reset failed (see the log above)")
        return
    if await asyncio.to_thread(os.path.lexists, target):
        raise CheckoutError(f"{target!r} exists and is not a git checkout")
    await asyncio.to_thread(os.makedirs, os.path.dirname(target) or ".", exist_ok=True)
    on_line(f"hubapps: cloning the repository into {target}")
    clone = ["clone", "--depth=1", *([f"--branch={ref}"] if ref else []), "--", url, target]
    if await _run_git(clone, git_env, on_line, time_limit) != 0:
        raise CheckoutError("git clone failed (see the log above)")
