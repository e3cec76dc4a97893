"""The deploy form's "From git" in Chromium: a repository's conda-project.yml fills the form, and Enter
still deploys (the read button is not the form's default).

A Hub of this module's own allows ``file://`` for the launcher's clones (the shared Hub keeps the
default, https only); the repository is a local bare one.
"""

from __future__ import annotations

import io
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from PIL import Image

from tests.browser.conftest import login_page
from tests.integration.conftest import Hub, own_hub

pytestmark = [pytest.mark.browser, pytest.mark.integration]

USER = "gitform<'&\">"
CONFIG = """\
c = get_config()  # noqa: F821
load_subconfig({main!r})  # noqa: F821
import hubapps

c.HubApps.git_allowed_protocols = ["https", "file"]
hubapps.install(c)
"""
PROJECT = """\
name: demo
variables:
  JHUB_APP_CONFIG_display_name: "Git <demo> & co"
  JHUB_APP_CONFIG_framework: custom
  JHUB_APP_CONFIG_custom_command: "{python} -m http.server {port}"
  JHUB_APP_CONFIG_thumbnail_path: logo.png
  GREETING: "hello <b>git</b>"
"""


def _git(*args: str, cwd: Path | None = None) -> None:
    env = {"PATH": "/usr/bin:/bin", "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null", "HOME": "/tmp"}
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("gitform")
    work = root / "work" / "apps" / "demo"
    work.mkdir(parents=True)
    (work / "conda-project.yml").write_text(PROJECT)
    image = io.BytesIO()
    Image.new("RGB", (64, 48), "green").save(image, format="PNG")
    (work / "logo.png").write_bytes(image.getvalue())
    _git("init", "-q", "-b", "main", str(root / "work"))
    _git("add", "-A", cwd=root / "work")
    _git("-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "app", cwd=root / "work")
    _git("clone", "-q", "--bare", str(root / "work"), str(root / "demo.git"))
    return (root / "demo.git").as_uri()


@pytest.fixture(scope="module")
def git_hub(tmp_path_factory: pytest.TempPathFactory, hub_options: dict[str, Any]) -> Iterator[Hub]:
    with own_hub(tmp_path_factory.mktemp("gitform-hub"), CONFIG, **hub_options) as running:
        yield running


def test_the_form_reads_a_repository_and_enter_still_deploys(browser: Any, git_hub: Hub, repo: str) -> None:
    page = login_page(browser, git_hub, USER)
    try:
        page.goto(git_hub.launcher_url + "create-app")
        page.check("#source-git")
        page.fill("#repo_url", repo)
        page.fill("#repo_subdirectory", "apps/demo")
        page.click("#prefill")
        page.wait_for_selector("#repo-notes")
        assert page.input_value("#display_name") == "Git <demo> & co"
        assert page.input_value("#framework") == "command"
        assert page.input_value("#command") == "{python} -m http.server {port}"
        assert page.input_value("#repo_subdirectory") == "apps/demo"
        names = page.locator("input[name^=env_name_]")
        values = page.locator("input[name^=env_value_]")
        assert (names.nth(0).input_value(), values.nth(0).input_value()) == ("GREETING", "hello <b>git</b>")
        assert page.locator("img[src^='data:image/webp;base64,']").count() >= 1  # the repository's thumbnail
        assert page.dialogs == []
        # Enter in the name field deploys (the form's default button), it does not read again.
        page.focus("#display_name")
        page.keyboard.press("Enter")
        page.wait_for_url("**/ui/apps/**")
        servers = git_hub.api("GET", f"users/{quote(USER, safe='')}?include_stopped_servers=1").json()["servers"]
        (options,) = [s["user_options"] for s in servers.values() if s.get("user_options")]
        assert options["repository"] == {"url": repo, "ref": "", "subdirectory": "apps/demo", "secret_token": ""}
        assert options["command"] == ["{python}", "-m", "http.server", "{port}"]
        assert options["env"] == {"GREETING": "hello <b>git</b>"}
        assert options["thumbnail"].startswith("sha256:")
    finally:
        page.context.close()
        for name in git_hub.api("GET", f"users/{quote(USER, safe='')}?include_stopped_servers=1").json()["servers"]:
            if name:
                git_hub.stop_app(USER, name, remove=True)
