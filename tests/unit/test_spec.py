"""The launch spec: limits, denylists, argument rules and upstream JHub Apps compatibility."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.fernet import Fernet

from hubapps.core.errors import SpecError
from hubapps.core.spec import LIMITS, AppSpec, is_app_options, is_sealed_value, parse_user_options, translate_upstream


def spec(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {"spec_version": 1, "framework": "streamlit", "display_name": "My app"}
    base.update(fields)
    return base


def test_minimal_spec_round_trips() -> None:
    parsed = parse_user_options(spec(filepath="app.py"))
    assert parsed.framework == "streamlit"
    assert parsed.jhub_app is True
    again = parse_user_options(parsed.to_user_options())
    assert again == parsed


@pytest.mark.parametrize(
    "key",
    [
        "JUPYTERHUB_API_TOKEN",
        "JUPYTERHUB_SERVICE_PREFIX",
        "PATH",
        "LD_PRELOAD",
        "PYTHONPATH",
        "HTTP_PROXY",
        "https_proxy",
        "JPY_API_TOKEN",
        "HUBAPPS_APP_ENV",
    ],
)
def test_denied_env_names_are_refused_with_the_key(key: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_user_options(spec(env={key: "x"}))
    assert info.value.field == "env"
    assert key in str(info.value)


@pytest.mark.parametrize("key", ["lower-case", "A=B", "1ABC", "", "WITH SPACE"])
def test_malformed_env_names_are_refused(key: str) -> None:
    with pytest.raises(SpecError, match="not a valid name"):
        parse_user_options(spec(env={key: "x"}))


def test_too_many_env_entries_are_refused() -> None:
    env = {f"VAR_{i}": "x" for i in range(LIMITS.env_max + 1)}
    with pytest.raises(SpecError) as info:
        parse_user_options(spec(env=env))
    assert info.value.field == "env"


def test_ordinary_env_is_kept() -> None:
    assert parse_user_options(spec(env={"OPENAI_API_KEY": "sk-1", "MY_SETTING": ""})).env["MY_SETTING"] == ""


@pytest.mark.parametrize("arg", ["x; rm -rf ~", "$(id)", "`id`", "a | b", "a && b", "> out", "${HOME}", "a\nb"])
def test_shell_syntax_in_arguments_is_refused(arg: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_user_options(spec(framework="command", command=["python", "-c", arg]))
    assert info.value.field == "command.2"


@pytest.mark.parametrize("arg", ["{0.__class__}", "{port}", "--flag=value", "a b c", "$HOME", "{"])
def test_other_arguments_are_accepted_literally(arg: str) -> None:
    assert parse_user_options(spec(args=[arg])).args == [arg]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("filepath", "../../etc/passwd"),
        ("filepath", "apps/../../x.py"),
        ("filepath", "--server.address=0.0.0.0"),
        ("filepath", "a\x00b.py"),
        ("working_dir", "-x"),
        ("working_dir", "a/../.."),
    ],
)
def test_bad_paths_are_refused(field: str, value: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_user_options(spec(**{field: value}))
    assert info.value.field == field


@pytest.mark.parametrize(
    "name",
    ["", "   ", "a\u202eb", "zero\u200bwidth", "tab\x07bell", "x" * (LIMITS.display_name_max + 1)],
)
def test_bad_display_names_are_refused(name: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_user_options(spec(display_name=name))
    assert info.value.field == "display_name"


def test_display_name_whitespace_is_normalised_and_markup_kept_literally() -> None:
    parsed = parse_user_options(spec(display_name="  <img src=x onerror=alert(1)>   x<'&\">  "))
    assert parsed.display_name == "<img src=x onerror=alert(1)> x<'&\">"


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(SpecError) as info:
        parse_user_options(spec(image="evil/image:latest"))
    assert info.value.field == "image"


@pytest.mark.parametrize("framework", ["Streamlit", "1panel", "a" * 65, "../x", ""])
def test_malformed_framework_names_are_refused(framework: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_user_options(spec(framework=framework))
    assert info.value.field == "framework"


@pytest.mark.parametrize(
    "url",
    ["ftp://x/y", "-uhttps://x", "https://user:pw@host/repo.git", "https://host/ repo", "ext::sh -c id"],
)
def test_bad_repository_urls_are_refused(url: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_user_options(spec(repository={"url": url}))
    assert info.value.field == "repository.url"


@pytest.mark.parametrize("ref", ["-b", "a..b", "main.lock", "a b"])
def test_bad_git_refs_are_refused(ref: str) -> None:
    with pytest.raises(SpecError):
        parse_user_options(spec(repository={"url": "https://example.org/r.git", "ref": ref}))


def test_repository_subdirectory_must_be_relative() -> None:
    with pytest.raises(SpecError) as info:
        parse_user_options(spec(repository={"url": "file:///srv/repo", "subdirectory": "/etc"}))
    assert info.value.field == "repository.subdirectory"


@pytest.mark.parametrize("value", ["data:image/png;base64,AAAA", "javascript:alert(1)", "http://169.254.169.254/"])
def test_thumbnail_must_be_a_reference(value: str) -> None:
    with pytest.raises(SpecError):
        parse_user_options(spec(thumbnail=value))


def test_non_objects_are_refused() -> None:
    with pytest.raises(SpecError, match="JSON object"):
        parse_user_options(["not", "a", "dict"])


def test_is_app_options() -> None:
    assert is_app_options({"jhub_app": True})
    assert is_app_options({"spec_version": 1})
    assert not is_app_options({"profile": "gpu"})
    assert not is_app_options(None)


def test_upstream_jhub_apps_options_are_mapped() -> None:
    upstream = {
        "jhub_app": True,
        "name": "my-dash",
        "display_name": "My Dash",
        "description": None,
        "thumbnail": "data:image/png;base64,AAAA",
        "filepath": "/home/ann/app.py",
        "framework": "plotlydash",
        "custom_command": "",
        "public": True,
        "keep_alive": False,
        "env": {"COLOR": "red", "JHUB_APP_PROXY_ARGS": "--x"},
        "repository": {"url": "https://example.org/r.git", "config_directory": ".", "ref": "main"},
        "conda_env": "analysis",
        "profile": "",
        "profile_image": "",
        "share_with": {"users": ["bob"], "groups": []},
    }
    parsed = parse_user_options(upstream)
    assert parsed.framework == "dash"
    assert parsed.description == ""
    assert parsed.public is True
    assert parsed.env == {"COLOR": "red"}
    assert parsed.python_env == "analysis"
    assert parsed.thumbnail == ""
    assert parsed.repository is not None
    assert (parsed.repository.ref, parsed.repository.subdirectory) == ("main", "")


def test_upstream_custom_command_is_split_without_a_shell() -> None:
    parsed = parse_user_options(
        {"jhub_app": True, "display_name": "x", "framework": "custom", "custom_command": "node server.js --port {port}"}
    )
    assert parsed.framework == "command"
    assert parsed.command == ["node", "server.js", "--port", "{port}"]


def test_upstream_placeholders_and_lowercase_names_keep_their_meaning() -> None:
    parsed = parse_user_options(
        {
            "jhub_app": True,
            "display_name": "x",
            "framework": "custom",
            "custom_command": "python3 {-}m http.server {port} {--}bind 127.0.0.1",
            "env": {"my_setting": "1", "Mixed_Case": "2"},
        }
    )
    assert parsed.command == ["python3", "-m", "http.server", "{port}", "--bind", "127.0.0.1"]
    assert parsed.env == {"my_setting": "1", "Mixed_Case": "2"}


UPSTREAM_REFUSED = [
    ({"framework": "custom", "custom_command": "python3 app.py {port} | tee log"}, "command", "sh run.sh"),
    ({"framework": "custom", "custom_command": "python3 app.py {port} > log"}, "command", "shell pipeline"),
    ({"framework": "panel", "filepath": "a.py", "profile_image": "evil/miner"}, "profile_image", "evil/miner"),
]


@pytest.mark.parametrize(("fields", "field", "words"), UPSTREAM_REFUSED)
def test_what_hubapps_refuses_in_upstream_options_is_named_not_dropped(
    fields: dict[str, Any], field: str, words: str
) -> None:
    options = {"jhub_app": True, "display_name": "x", **fields}
    with pytest.raises(SpecError) as info:
        parse_user_options(options)
    assert info.value.field == field
    assert words in info.value.message
    # The translation keeps everything else, for an edit form to start from.
    draft = translate_upstream(options)
    assert [p.field for p in draft.problems] == [field]
    assert draft.data["display_name"] == "x"
    assert "profile_image" not in draft.data


def test_upstream_pipeline_keeps_its_words_for_the_form() -> None:
    draft = translate_upstream(
        {"jhub_app": True, "display_name": "x", "framework": "custom", "custom_command": "a {-}v | b"}
    )
    assert draft.data["command"] == ["a", "-v", "|", "b"]
    assert draft.data["framework"] == "command"
    assert "`a {-}v | b`" in draft.problems[0].message


@pytest.mark.parametrize("fields", [{"framework": "panel", "filepath": ""}, {"framework": "streamlit"}])
def test_upstream_apps_without_a_file_are_accepted_and_what_they_lack_is_named(fields: dict[str, Any]) -> None:
    options = {"jhub_app": True, "display_name": "x", **fields}
    assert parse_user_options(options).filepath == ""  # as valid as one of ours without a file
    draft = translate_upstream(options)
    assert draft.problems == ()
    assert draft.first_issue is not None
    assert draft.first_issue.field == "filepath"
    assert "bundled example" in draft.first_issue.message


def test_upstream_apps_without_a_file_are_fine_where_none_is_needed() -> None:
    for framework in ("jupyterlab", "custom"):
        fields = {"custom_command": "prog {port}"} if framework == "custom" else {}
        options = {"jhub_app": True, "display_name": "x", "framework": framework, "filepath": "", **fields}
        assert translate_upstream(options).first_issue is None
    git = {"url": "https://example.org/r.git", "config_directory": ".", "ref": "main"}
    assert translate_upstream({"jhub_app": True, "display_name": "x", "repository": git}).first_issue is None


def test_specs_are_immutable() -> None:
    parsed = parse_user_options(spec())
    with pytest.raises(ValueError, match="frozen"):
        parsed.framework = "panel"  # type: ignore[misc]
    assert isinstance(parsed, AppSpec)


# -- version 2: secret_env --------------------------------------------------------------------------

TOKEN = Fernet(Fernet.generate_key()).encrypt(b'"a value"').decode()


def test_version_1_parses_into_version_2() -> None:
    parsed = parse_user_options(spec(env={"OPENAI_API_KEY": "sk-1"}))
    assert parsed.spec_version == 2
    assert parsed.to_user_options()["spec_version"] == 2
    assert parsed.secret_env == {}
    assert parsed.env == {"OPENAI_API_KEY": "sk-1"}
    with pytest.raises(SpecError) as exc:
        parse_user_options(spec(secret_env={"A": TOKEN}))
    assert exc.value.field == "secret_env"


def test_secret_values_must_have_the_shape_of_ciphertext() -> None:
    assert parse_user_options(spec(spec_version=2, secret_env={"API_KEY": TOKEN})).secret_env == {"API_KEY": TOKEN}
    for value in ("sk-plain-text", "gAAAAA" + "A" * 100, TOKEN[:-4], TOKEN + "x", "", TOKEN.replace("g", "h", 1)):
        assert not is_sealed_value(value)
        with pytest.raises(SpecError) as exc:
            parse_user_options(spec(spec_version=2, secret_env={"API_KEY": value}))
        assert exc.value.field == "secret_env"
        assert "'API_KEY'" in exc.value.message
        assert "not encrypted" in exc.value.message
        if value:
            assert value not in str(exc.value)


@pytest.mark.parametrize(
    ("secret_env", "env", "words"),
    [
        ({"LD_PRELOAD": TOKEN}, {}, "reserved"),
        ({"1lower": TOKEN}, {}, "not a valid name"),
        ({"A": TOKEN}, {"A": "1"}, "also set in env"),
        ({f"S{i}": TOKEN for i in range(40)}, {f"E{i}": "" for i in range(40)}, "at most"),
    ],
)
def test_secret_names_follow_the_env_rules(secret_env: dict[str, str], env: dict[str, str], words: str) -> None:
    with pytest.raises(SpecError) as exc:
        parse_user_options(spec(spec_version=2, env=env, secret_env=secret_env))
    assert exc.value.field == "secret_env"
    assert words in exc.value.message


def test_opened_secrets_join_env_under_the_same_rules() -> None:
    parsed = parse_user_options(spec(spec_version=2, env={"A": "1"}, secret_env={"API_KEY": TOKEN}))
    opened = parsed.with_secret_values({"API_KEY": "plain"})
    assert (opened.env, opened.secret_env) == ({"A": "1", "API_KEY": "plain"}, {})
    with pytest.raises(SpecError, match="NUL"):
        parsed.with_secret_values({"API_KEY": "a\x00b"})
    with pytest.raises(SpecError):
        parsed.with_secret_values({"OTHER": "x"})
