"""The deploy/edit form ↔ launch spec mapping (:mod:`hubapps.service.forms`), without a request or a Hub."""

from __future__ import annotations

from typing import Any

import pytest

from hubapps.core.errors import SpecError
from hubapps.service import forms
from hubapps.service.errors import InvalidInput, NotFound

SPEC: dict[str, Any] = {
    "display_name": "Sales <dash>",
    "description": "Quarterly numbers",
    "framework": "streamlit",
    "filepath": "apps/sales.py",
    "command": ["--theme", "dark mode"],
    "python_env": "/opt/envs/sales",
    "profile": "small",
    "keep_alive": True,
    "public": True,
    "repository": {"url": "https://git.example/sales.git", "ref": "main", "subdirectory": "app"},
    "thumbnail": "sha256:" + "a" * 64,
    "env": {"MODE": "prod", "DB_PASSWORD": "plain-but-secret-looking", "OLD": "marked"},
    "secret_env": {"API_KEY": None},
}


def _form(**fields: str) -> dict[str, str]:
    return fields


def _row(name: str, value: str = "", *, secret: bool = False, stored: bool = False) -> dict[str, Any]:
    return {"name": name, "value": value, "secret": secret, "stored": stored}


def test_values_from_spec_fill_every_field_and_never_a_secret_value() -> None:
    values = forms.values_from_spec(SPEC, legacy={"OLD"})
    assert values["display_name"] == "Sales <dash>"
    assert values["description"] == "Quarterly numbers"
    assert values["framework"] == "streamlit"
    assert values["filepath"] == "apps/sales.py"
    assert values["command"] == "--theme 'dark mode'"
    assert values["python_env"] == "/opt/envs/sales"
    assert values["profile"] == "small"
    # A spec of keep_alive only (before idle_policy) shows as the "keep running" policy.
    assert values["idle_policy"] == "keep"
    assert (values["idle_minutes"], values["max_age_minutes"]) == ("", "")
    assert values["public"] is True
    assert values["source"] == "git"
    assert (values["repo_url"], values["repo_ref"], values["repo_subdirectory"]) == (
        "https://git.example/sales.git",
        "main",
        "app",
    )
    assert values["thumbnail_ref"] == "sha256:" + "a" * 64
    assert values["start"] is False  # editing starts a stopped app only when asked
    assert values["env"] == [
        _row("MODE", "prod", stored=True),
        _row("DB_PASSWORD", secret=True, stored=True),  # credential-like name: shown as a secret, blank
        _row("OLD", secret=True, stored=True),  # marked secret by the service (version 1 spec)
        _row("API_KEY", secret=True, stored=True),
    ]
    assert "plain-but-secret-looking" not in repr(values)
    assert "marked" not in repr(values)


def test_values_from_spec_of_a_file_app_and_an_outside_thumbnail() -> None:
    values = forms.values_from_spec({"framework": "panel", "display_name": "P", "thumbnail": "https://x/y.png"}, set())
    assert values["source"] == "file"
    assert values["repo_url"] == ""
    assert values["thumbnail_ref"] == ""  # only the service's own stored images are shown
    assert values["command"] == ""


def test_values_from_form_read_every_field() -> None:
    form = _form(
        display_name="D",
        description="about",
        framework="panel",
        filepath="p.py",
        command="--x 1",
        python_env="env",
        profile="big",
        repo_url="https://g/r.git",
        repo_ref="v1",
        repo_subdirectory="sub",
        thumbnail_ref="sha256:" + "b" * 64,
        thumbnail_data="AAAA",
        share_users="bob, cat",
        share_groups="team",
        source="git",
        idle_policy="idle",
        idle_minutes="1.5",
        max_age_minutes="",
        viewers_can_start="on",
        public="on",
        start="on",
        restart="",
        remove_thumbnail="on",
        env_rows="3",
        env_name_0=" A ",
        env_value_0="1",
        env_name_1="",
        env_value_1="",
        env_name_2="S",
        env_value_2="",
        env_secret_2="on",
        env_stored_2="on",
    )
    values = forms.values_from_form(form)
    for key in ("display_name", "description", "framework", "filepath", "command", "python_env", "profile"):
        assert values[key] == form[key]
    assert (values["repo_url"], values["repo_ref"], values["repo_subdirectory"]) == ("https://g/r.git", "v1", "sub")
    assert values["thumbnail_ref"] == "sha256:" + "b" * 64
    assert values["thumbnail_data"] == "AAAA"
    assert (values["share_users"], values["share_groups"]) == ("bob, cat", "team")
    assert values["source"] == "git"
    assert (values["viewers_can_start"], values["public"], values["start"], values["restart"]) == (
        True,
        True,
        True,
        False,
    )
    assert (values["idle_policy"], values["idle_minutes"], values["max_age_minutes"]) == ("idle", "1.5", "")
    assert values["remove_thumbnail"] is True
    # The empty row is dropped; names are stripped, values kept as typed.
    assert values["env"] == [_row("A", "1"), _row("S", secret=True, stored=True)]


def test_values_from_form_ignore_what_is_not_text_and_odd_row_counts() -> None:
    values = forms.values_from_form({"display_name": object(), "source": "svn", "env_rows": "-1", "start": "yes"})
    assert values["display_name"] == ""
    assert values["source"] == "file"
    assert values["env"] == []
    assert values["start"] is False  # a checkbox is on only as "on"


def test_a_stored_spec_comes_back_unchanged_through_the_form() -> None:
    """Every field survives spec → form → body; left-blank secrets are sent as "keep" (null)."""
    values = forms.values_from_spec(SPEC, legacy={"OLD"})
    errors: dict[str, str] = {}
    body = forms.spec_body(values, errors, SPEC["secret_env"], forms.hidden_plain_env(SPEC, {"OLD"}))
    assert errors == {}
    for key in ("display_name", "description", "framework", "filepath", "command", "python_env", "profile"):
        assert body[key] == SPEC[key], key
    assert body["idle_policy"] == "keep"
    assert (body["idle_minutes"], body["max_age_minutes"]) == (0.0, 0.0)
    assert body["public"] is True
    assert body["repository"] == SPEC["repository"]
    assert body["thumbnail"] == SPEC["thumbnail"]
    # Shown as secrets and left blank: the plain ones keep their stored value as secrets-to-be (the
    # API seals them), the encrypted one is kept as it is.
    assert body["env"] == {"MODE": "prod"}
    assert body["secret_env"] == {"DB_PASSWORD": None, "OLD": None, "API_KEY": None}


def test_spec_body_of_a_file_app_drops_the_repository_and_a_removed_image() -> None:
    values = {**forms.blank_values(filepath=" app.py ", framework="streamlit"), "display_name": "A"}
    values.update(repo_url="https://ignored", thumbnail_ref="sha256:" + "c" * 64, remove_thumbnail=True)
    errors: dict[str, str] = {}
    body = forms.spec_body(values, errors)
    assert errors == {}
    assert body["repository"] is None
    assert body["filepath"] == "app.py"
    assert body["thumbnail"] == ""
    assert body["command"] == []


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"command": "--x 'unclosed"}, "command", "cannot be split into arguments"),
        ({"source": "git", "repo_url": "  "}, "repo_url", "give the repository URL"),
        ({"env": [_row("", "v")]}, "env", "every value needs a name"),
        ({"env": [_row("A", "1"), _row("A", "2")]}, "env", "'A' is set twice"),
        ({"env": [_row("TOKEN", secret=True)]}, "env", "give the value of the secret 'TOKEN'"),
    ],
)
def test_spec_body_says_what_is_wrong_next_to_the_field(change: dict[str, Any], field: str, message: str) -> None:
    values = {**forms.blank_values(framework="streamlit"), "display_name": "A", "filepath": "a.py", **change}
    errors: dict[str, str] = {}
    forms.spec_body(values, errors)
    assert message in errors[field]


def test_an_encrypted_secret_cannot_silently_become_plain() -> None:
    values = {**forms.blank_values(framework="streamlit"), "display_name": "A", "env": [_row("API_KEY", stored=True)]}
    errors: dict[str, str] = {}
    body = forms.spec_body(values, errors, stored_secrets={"API_KEY"})
    assert "stored encrypted" in errors["env"]
    assert "API_KEY" not in body["env"]


def test_create_request_carries_start_and_the_new_image() -> None:
    values = {**forms.blank_values(filepath="a.py", framework="streamlit"), "display_name": "A", "start": False}
    values["env"] = [_row("A", "1"), _row("KEY", "s3cret", secret=True)]
    errors: dict[str, str] = {}
    create = forms.create_request(values, errors, thumbnail="sha256:" + "d" * 64)
    assert errors == {}
    assert create is not None
    assert create.start is False
    assert create.thumbnail == "sha256:" + "d" * 64
    assert create.env == {"A": "1"}
    assert create.secret_env == {"KEY": "s3cret"}
    assert forms.create_request({**values, "command": "'"}, errors, thumbnail=None) is None
    assert "command" in errors


def test_on_conflict_is_read_from_the_form_and_sent_only_when_chosen() -> None:
    form = {"display_name": "A", "framework": "streamlit", "filepath": "a.py"}
    assert forms.values_from_form(form)["on_conflict"] == "ask"
    assert forms.values_from_form({**form, "on_conflict": "update"})["on_conflict"] == "update"
    assert forms.values_from_form({**form, "on_conflict": "new"})["on_conflict"] == "new"
    assert forms.values_from_form({**form, "on_conflict": "always"})["on_conflict"] == "ask"
    errors: dict[str, str] = {}
    create = forms.create_request(forms.values_from_form({**form, "on_conflict": "new"}), errors, thumbnail=None)
    assert create is not None
    assert create.on_conflict == "new"
    create = forms.create_request(forms.values_from_form(form), errors, thumbnail=None)
    assert create is not None
    assert create.on_conflict == "ask"


@pytest.mark.parametrize(
    ("running", "start", "restart", "sent"),
    [
        (True, False, True, True),  # running, "restart" ticked: restart
        (True, True, False, False),  # running, "restart" unticked: refused by the API (restart=false sent)
        (False, True, False, True),  # stopped, "start once saved": the API starts it once saved
        (False, False, True, None),  # stopped, not started: no restart field at all
    ],
)
def test_update_request_restart_semantics(running: bool, start: bool, restart: bool, sent: bool | None) -> None:
    values = {**forms.values_from_spec(SPEC, set()), "start": start, "restart": restart}
    errors: dict[str, str] = {}
    update = forms.update_request(values, errors, SPEC, set(), running=running, thumbnail=None)
    assert errors == {}
    assert update is not None
    if sent is None:
        assert "restart" not in update.model_fields_set
    else:
        assert update.restart is sent
        assert "restart" in update.model_fields_set
    assert forms.starts_after_save(values, running=running) is (restart if running else start)


def test_update_request_keeps_blank_secrets_and_takes_new_values() -> None:
    values = forms.values_from_spec(SPEC, set())
    for row in values["env"]:
        if row["name"] == "API_KEY":
            row["value"] = "new-key"
    errors: dict[str, str] = {}
    update = forms.update_request(values, errors, SPEC, set(), running=False, thumbnail="sha256:" + "e" * 64)
    assert errors == {}
    assert update is not None
    assert update.secret_env == {"DB_PASSWORD": None, "API_KEY": "new-key"}
    assert update.env == {"MODE": "prod", "OLD": "marked"}
    assert update.thumbnail == "sha256:" + "e" * 64


def test_update_request_refused_on_a_form_error() -> None:
    values = {**forms.values_from_spec(SPEC, set()), "repo_url": ""}
    errors: dict[str, str] = {}
    assert forms.update_request(values, errors, SPEC, set(), running=False, thumbnail=None) is None
    assert "repo_url" in errors


def test_share_changes_are_a_diff() -> None:
    values = {"share_users": "bob,\n cat, bob", "share_groups": "team, ops"}
    changes = forms.share_changes(values, {("user", "bob"), ("user", "dan"), ("group", "team")})
    assert changes.users == ("cat",)
    assert changes.groups == ("ops",)
    assert changes.revoke == (("user", "dan"),)
    request = changes.request()
    assert request is not None
    assert (request.users, request.groups) == (["cat"], ["ops"])
    unchanged = forms.share_changes(values, {("user", "bob"), ("user", "cat"), ("group", "team"), ("group", "ops")})
    assert unchanged.request() is None
    assert unchanged.revoke == ()


def test_share_changes_over_the_apis_limit_are_refused_next_to_the_field() -> None:
    values = {"share_users": ",".join(f"u{i}" for i in range(101)), "share_groups": ""}
    with pytest.raises(InvalidInput) as refused:
        forms.share_changes(values, set()).request()
    errors: dict[str, str] = {}
    forms.record_error(errors, refused.value)
    assert list(errors) == ["users"]


def test_shares_values_fill_the_share_fields() -> None:
    assert forms.shares_values([("user", "bob"), ("group", "team"), ("user", "cat")]) == {
        "share_users": "bob, cat",
        "share_groups": "team",
    }


@pytest.mark.parametrize(
    ("api_field", "form_field"),
    [
        (None, "_form"),
        ("", "_form"),
        ("repository", "repo_url"),
        ("repository.url", "repo_url"),
        ("repository.ref", "repo_ref"),
        ("repository.subdirectory", "repo_subdirectory"),
        ("secret_env", "env"),
        ("args", "command"),
        ("args.0", "command"),
        ("env.A", "env"),
        ("display_name", "display_name"),
    ],
)
def test_errors_land_next_to_their_form_field(api_field: str | None, form_field: str) -> None:
    assert forms.form_field(api_field) == form_field


def test_record_error_takes_spec_and_service_errors() -> None:
    errors: dict[str, str] = {}
    forms.record_error(errors, SpecError("filepath", "must end in .py"))
    forms.record_error(errors, NotFound())
    assert errors["filepath"] == "must end in .py"
    assert "_form" in errors


def test_names_split_on_commas_and_lines() -> None:
    assert forms.names(" a, b\nc,,\n ") == ["a", "b", "c"]


def test_the_idle_policy_times_are_read_and_bad_ones_named() -> None:
    values = forms.values_from_spec({**SPEC, "idle_policy": "idle", "idle_minutes": 30.0, "keep_alive": False}, set())
    assert (values["idle_policy"], values["idle_minutes"], values["max_age_minutes"]) == ("idle", "30", "")
    errors: dict[str, str] = {}
    body = forms.spec_body({**values, "max_age_minutes": "soon"}, errors)
    assert body["idle_minutes"] == 30.0
    assert errors == {"max_age_minutes": "give a number of minutes (or leave it empty)"}
    # Another policy clears the times (what was typed stays in the form's values).
    errors = {}
    body = forms.spec_body({**values, "idle_policy": "default"}, errors)
    assert (body["idle_policy"], body["idle_minutes"], body["max_age_minutes"], errors) == ("default", 0.0, 0.0, {})
