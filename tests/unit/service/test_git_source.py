"""Apps from git in the service: repository tokens sealed for their owner, the admin's transports and
hosts, and paths kept inside a checkout. (Cloning itself is a subprocess: tests/integration/test_git_and_conda.py.)"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from hubapps.core.errors import SpecError
from hubapps.core.secret_env import REPOSITORY_TOKEN
from hubapps.core.settings import AdminSettings
from hubapps.service.errors import InvalidInput, TooSoon
from hubapps.service.forms import blank_values, spec_body, values_from_form
from hubapps.service.gitclone import CloneLimits, check_url, clone_slot, inside
from hubapps.service.settings import ServiceSettings
from tests.unit.service.conftest import FakeHub, Users
from tests.unit.service.test_secrets import KEY, opened, stored

API = "/services/japps/api"
TOKEN = "ghp_" + secrets.token_hex(16)
REPO = {"url": "https://git.example.org/team/app.git", "ref": "main", "subdirectory": "apps/demo"}
SPEC = {"framework": "streamlit", "display_name": "From git", "filepath": "app.py", "repository": REPO}


@pytest.fixture
def keyed(make_client: Callable[..., TestClient], settings: ServiceSettings) -> TestClient:
    return make_client(settings.model_copy(update={"crypt_key": SecretStr(KEY)}))


def test_a_repository_token_is_sealed_for_its_owner_and_never_shown(
    keyed: TestClient, fake_hub: FakeHub, auth: Users
) -> None:
    r = keyed.post(f"{API}/apps", headers=auth("ann"), json={**SPEC, "repository": {**REPO, "token": TOKEN}})
    assert r.status_code == 201, r.text
    assert TOKEN not in r.text
    assert r.json()["spec"]["repository"] == {**REPO, "token": None}
    repository = stored(fake_hub)["repository"]
    assert TOKEN not in json.dumps(stored(fake_hub))
    assert opened(repository["secret_token"]) == {
        "kind": "hubapps.secret_env.v1",
        "owner": "ann",
        "name": REPOSITORY_TOKEN,
        "value": TOKEN,
    }
    server = r.json()["name"]
    sealed = repository["secret_token"]
    path = f"{API}/apps/ann/{server}"
    for got in (keyed.get(path, headers=auth("ann")), keyed.get(f"{path}/revisions", headers=auth("ann"))):
        assert got.status_code == 200
        assert TOKEN not in got.text
        assert sealed not in got.text

    # Not sent (or null): kept while the URL stays; a new ref keeps it too.
    assert keyed.patch(path, headers=auth("ann"), json={"repository": {**REPO, "ref": "v2"}}).status_code == 200
    assert stored(fake_hub)["repository"]["secret_token"] == sealed
    # Another URL: the token is not carried to another repository.
    moved = {**REPO, "url": "https://elsewhere.example.org/app.git"}
    assert keyed.patch(path, headers=auth("ann"), json={"repository": moved}).status_code == 200
    assert stored(fake_hub)["repository"]["secret_token"] == ""
    # "" removes it; a new one is sealed again.
    keyed.patch(path, headers=auth("ann"), json={"repository": {**REPO, "token": "new-token"}})
    assert opened(stored(fake_hub)["repository"]["secret_token"])["value"] == "new-token"
    keyed.patch(path, headers=auth("ann"), json={"repository": {**REPO, "token": ""}})
    assert stored(fake_hub)["repository"]["secret_token"] == ""


def test_a_token_without_a_key_is_refused(client: TestClient, auth: Users) -> None:
    r = client.post(f"{API}/apps", headers=auth("ann"), json={**SPEC, "repository": {**REPO, "token": TOKEN}})
    assert r.status_code == 422
    assert "JUPYTERHUB_CRYPT_KEY" in r.json()["detail"]
    assert TOKEN not in r.text


@pytest.mark.parametrize(
    ("url", "allowed", "hosts", "refused"),
    [
        ("https://github.com/org/repo.git", ["https"], [], None),
        ("file:///srv/repos/app.git", ["https"], [], "file:// repositories are not allowed"),
        ("http://169.254.169.254/latest", ["https"], [], "http:// repositories are not allowed"),
        ("ssh://git@github.com/org/repo.git", ["https"], [], "ssh:// repositories are not allowed"),
        ("ext::sh -c id", ["https", "http", "ssh", "git", "file"], [], "is not a repository URL"),
        ("git@github.com:org/repo.git", ["https"], [], "ssh:// repositories are not allowed"),
        ("https://user:pw@github.com/org/repo.git", ["https"], [], "must not carry credentials"),
        ("https://github.com/org/repo.git?private_token=x", ["https"], [], "must not carry credentials, a query"),
        ("https://github.com/org/repo.git", ["https"], ["*.example.org"], "the host 'github.com' is not one"),
        ("https://git.example.org/org/repo.git", ["https"], ["*.example.org"], None),
        ("-uhelp", ["https"], [], "is not a repository URL"),
    ],
)
def test_the_admin_decides_which_transports_and_hosts_the_service_clones_from(
    url: str, allowed: list[str], hosts: list[str], refused: str | None
) -> None:
    limits = CloneLimits(allowed, hosts, 10, 1 << 20)
    if refused is None:
        check_url(url, limits)
        return
    with pytest.raises(InvalidInput) as caught:
        check_url(url, limits)
    assert refused in caught.value.message
    assert caught.value.field == "repository.url"


def test_ext_is_never_an_allowed_transport() -> None:
    assert AdminSettings().git_allowed_protocols == ["https"]
    with pytest.raises(ValueError, match="'ext' not among"):
        AdminSettings(git_allowed_protocols=["https", "ext"])


def test_paths_resolve_inside_the_checkout_only(tmp_path: Path) -> None:
    root = tmp_path / "checkout"
    (root / "apps" / "img").mkdir(parents=True)
    (root / "apps" / "img" / "logo.png").write_bytes(b"png")
    (tmp_path / "secret.txt").write_text("outside")
    (root / "apps" / "out.png").symlink_to(tmp_path / "secret.txt")
    (root / "apps" / "in.png").symlink_to(root / "apps" / "img" / "logo.png")
    assert inside(str(root), "apps/img/logo.png", what="thumbnail") == (root / "apps/img/logo.png").resolve()
    assert inside(str(root), "apps/in.png", what="thumbnail") == (root / "apps/img/logo.png").resolve()
    assert inside(str(root), "", what="repository.subdirectory") == root.resolve()
    for bad in ("apps/out.png", "/etc/passwd", "../secret.txt", "apps/../../secret.txt"):
        with pytest.raises(SpecError) as caught:
            inside(str(root), bad, what="thumbnail")
        assert caught.value.field == "thumbnail"


def test_clones_are_bounded_per_user_and_per_worker() -> None:
    with clone_slot("ann", 2):
        second = clone_slot("ann", 2)
        with pytest.raises(TooSoon) as caught:
            second.__enter__()
        assert (caught.value.status_code, caught.value.headers) == (429, {"Retry-After": "5"})
        with clone_slot("bob", 2):
            third = clone_slot("cid", 2)
            with pytest.raises(TooSoon, match="reading 2 repositories already"):
                third.__enter__()
        with clone_slot("cid", 2):  # bob's ended
            pass
    with clone_slot("ann", 1):  # and ann's: the slots are free again
        pass


def test_the_form_sends_a_token_only_when_typed_and_removes_it_when_asked() -> None:
    def repository(**typed: str) -> Any:
        form = {"source": "git", "repo_url": REPO["url"], "repo_has_token": "1", **typed}
        values = {**blank_values(), **{k: v for k, v in values_from_form(form).items() if k != "env"}, "env": []}
        return spec_body(values, {})["repository"]

    assert "token" not in repository()  # kept as stored
    assert repository(repo_token=f"  {TOKEN} ")["token"] == TOKEN
    assert repository(repo_token_remove="on")["token"] == ""
    assert repository(repo_token="new", repo_token_remove="on")["token"] == "new"  # a new one wins
