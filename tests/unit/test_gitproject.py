"""Apps from git, the pure parts: conda-project.yml → spec fields, paths kept inside, the token's header."""

from __future__ import annotations

import base64

import pytest
from cryptography.fernet import Fernet

from hubapps.core.errors import SpecError
from hubapps.core.gitproject import git_auth_env, prefill_from_project
from hubapps.core.spec import GitSource, parse_user_options


def test_upstream_variables_become_fields_and_the_rest_env() -> None:
    prefill = prefill_from_project(
        {
            "name": "demo",
            "variables": {
                "JHUB_APP_CONFIG_display_name": "Sales dashboard",
                "JHUB_APP_CONFIG_description": "Numbers",
                "JHUB_APP_CONFIG_framework": "custom",
                "JHUB_APP_CONFIG_custom_command": "{python} 'my app.py' --port={port}",
                "JHUB_APP_CONFIG_public": "true",
                "JHUB_APP_CONFIG_keep_alive": True,
                "JHUB_APP_CONFIG_thumbnail_path": "img/logo.png",
                "JHUB_APP_CONFIG_profile_image": "evil/image:latest",
                "GREETING": "hello",
                "RETRIES": 3,
                "DEBUG": False,
                "NESTED": {"a": 1},
            },
        }
    )
    assert prefill.fields == {
        "display_name": "Sales dashboard",
        "description": "Numbers",
        "framework": "command",
        "command": ["{python}", "my app.py", "--port={port}"],
        "public": True,
        "keep_alive": True,
        "idle_policy": "keep",
        "env": {"GREETING": "hello", "RETRIES": "3", "DEBUG": "false"},
    }
    assert prefill.thumbnail_path == "img/logo.png"
    # Nothing is dropped silently: what was left out is said.
    assert any(n.startswith("JHUB_APP_CONFIG_profile_image:") for n in prefill.notes)
    assert any(n.startswith("NESTED:") for n in prefill.notes)


def test_plotlydash_is_dash_and_no_variables_is_an_empty_prefill() -> None:
    dash = prefill_from_project({"variables": {"JHUB_APP_CONFIG_framework": "plotlydash"}})
    assert dash.fields["framework"] == "dash"
    assert prefill_from_project({"name": "x"}).fields == {"env": {}}


@pytest.mark.parametrize(
    "path", ["/etc/passwd", "../../etc/passwd", "img/../../x.png", "~/.ssh/id_rsa", "..\\..\\x.png", ""]
)
def test_thumbnail_and_file_paths_must_stay_inside(path: str) -> None:
    if path:
        with pytest.raises(SpecError) as caught:
            prefill_from_project({"variables": {"JHUB_APP_CONFIG_thumbnail_path": path}})
        assert caught.value.field == "thumbnail"
        with pytest.raises(SpecError) as caught:
            prefill_from_project({"variables": {"JHUB_APP_CONFIG_filepath": path}})
        assert caught.value.field == "filepath"
    else:
        assert prefill_from_project({"variables": {"JHUB_APP_CONFIG_thumbnail_path": path}}).thumbnail_path == ""


@pytest.mark.parametrize("project", [["a"], "text", {"variables": ["A=1"]}])
def test_a_project_file_of_the_wrong_shape_is_refused(project: object) -> None:
    with pytest.raises(SpecError):
        prefill_from_project(project)


def test_the_token_becomes_a_header_for_that_url_only() -> None:
    env = git_auth_env("https://git.example.org/team/repo.git", "s3cret", {"PATH": "/bin", "GIT_CONFIG_COUNT": "1"})
    assert env["PATH"] == "/bin"
    assert env["GIT_CONFIG_COUNT"] == "3"
    # A reset of any header configured elsewhere, then ours, both scoped to the repository's URL.
    assert (
        env["GIT_CONFIG_KEY_1"] == env["GIT_CONFIG_KEY_2"] == "http.https://git.example.org/team/repo.git.extraHeader"
    )
    assert env["GIT_CONFIG_VALUE_1"] == ""
    scheme, _, encoded = env["GIT_CONFIG_VALUE_2"].removeprefix("Authorization: ").partition(" ")
    assert (scheme, base64.b64decode(encoded)) == ("Basic", b"x-access-token:s3cret")
    user_given = git_auth_env("https://h/r", "oauth2:tok", {})
    assert base64.b64decode(user_given["GIT_CONFIG_VALUE_1"].rsplit(" ", 1)[1]) == b"oauth2:tok"


@pytest.mark.parametrize(("url", "token"), [("ssh://h/r", "t"), ("file:///srv/r", "t"), ("https://h/r", "a\nb")])
def test_a_token_is_refused_where_it_cannot_be_sent_safely(url: str, token: str) -> None:
    with pytest.raises(SpecError):
        git_auth_env(url, token, {})


def test_a_repository_token_in_a_spec_must_be_ciphertext() -> None:
    spec = {"framework": "streamlit", "display_name": "A", "filepath": "a.py", "spec_version": 2}
    with pytest.raises(SpecError) as caught:
        parse_user_options({**spec, "repository": {"url": "https://h/r", "secret_token": "ghp_plaintext"}})
    assert caught.value.field == "repository.secret_token"
    assert "ghp_plaintext" not in str(caught.value)
    sealed = Fernet(Fernet.generate_key()).encrypt(b"a token").decode()
    assert GitSource(url="https://h/r", secret_token=sealed).secret_token == sealed
