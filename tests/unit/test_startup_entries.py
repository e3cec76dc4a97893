"""``c.HubApps.startup_apps``: our entries and upstream JHub Apps' read into one form, bad ones refused at
Hub start with the entry and the field named."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from traitlets.config import Config

from hubapps.core.startup import StartupError, parse_startup_apps, upstream_server_name
from hubapps.hub.config import HubApps

UPSTREAM_CONFIG = Path("/work/shared/reference/upstream-configs/jupyterhub_config.py")
#: Upstream's own example (its jupyterhub_config.py), copied so the test stands on its own.
UPSTREAM_ENTRY: dict[str, Any] = {
    "username": "admin",
    "servername": "admin's-startup-server",
    "user_options": {
        "display_name": "Admin's Panel App",
        "description": "description",
        "thumbnail": "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAoAAAAKCAYAAACNMs+9",
        "filepath": "",
        "framework": "panel",
        "custom_command": "",
        "public": False,
        "keep_alive": False,
        "env": {"ENV_VAR_KEY_1": "ENV_VAR_KEY_1"},
        "repository": None,
        "conda_env": "",
        "profile": "",
        "share_with": {"users": ["admin"], "groups": ["class-A"]},
    },
}


def test_upstream_entries_are_mapped() -> None:
    git = {
        "username": "admin",
        "servername": "admin's-2nd-startup-server",
        "user_options": {
            "display_name": "Admin's 2nd App",
            "description": "description",
            "filepath": "panel_basic.py",
            "framework": "plotlydash",
            "custom_command": "",
            "conda_env": "data",
            "repository": {"url": "https://github.com/nebari-dev/jhub-apps-from-git-repo-example.git"},
            "jhub_app": True,
        },
    }
    first, second = parse_startup_apps([UPSTREAM_ENTRY, git])
    assert (first.owner, first.server) == ("admin", "admins-startup-server")  # upstream's own normalising
    assert first.spec.framework == "panel"
    assert first.spec.env == {"ENV_VAR_KEY_1": "ENV_VAR_KEY_1"}
    assert first.spec.thumbnail == ""  # an inline image is not a spec field
    assert not first.start
    assert not first.overwrite
    assert "user_options.share_with is not applied" in first.notes
    (imaged,) = parse_startup_apps(
        [{**UPSTREAM_ENTRY, "user_options": {**UPSTREAM_ENTRY["user_options"], "profile_image": "x"}}]
    )
    assert "user_options.profile_image is not applied" in imaged.notes
    assert second.server == "admins-2nd-startup-server"
    assert second.spec.framework == "dash"
    assert second.spec.python_env == "data"
    assert second.spec.repository is not None
    assert second.spec.repository.url.endswith("example.git")


@pytest.mark.skipif(not UPSTREAM_CONFIG.exists(), reason="upstream's example config is not on this machine")
def test_upstream_example_config_is_read() -> None:
    tree = ast.parse(UPSTREAM_CONFIG.read_text())
    value = next(
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "c.JAppsConfig.startup_apps"
    )
    entries = parse_startup_apps(ast.literal_eval(value))
    assert [e.key for e in entries] == ["admin/admins-startup-server", "admin/admins-2nd-startup-server"]


def test_our_entries_derive_the_server_from_the_display_name() -> None:
    (entry,) = parse_startup_apps(
        [
            {
                "owner": "ann",
                "display_name": "Sales Dashboard",
                "framework": "streamlit",
                "filepath": "a.py",
                "start": True,
            }
        ]
    )
    assert entry.key == "ann/sales-dashboard"
    assert entry.start
    assert not entry.overwrite
    again = parse_startup_apps([entry.to_json()])  # what the Hub hands the service reads the same
    assert again == [entry]


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("x", "HubApps.startup_apps[0] must be a dict"),
        ({"framework": "panel", "display_name": "A"}, "startup_apps[0]: owner is required"),
        ({"owner": "ann", "framework": "panel"}, "startup_apps[0] (ann): display_name:"),
        ({"owner": "ann", "framework": "panel", "display_name": "A", "env": {"PATH": "/x"}}, "(ann): env: 'PATH'"),
        ({"owner": "ann", "framework": "panel", "display_name": "A", "colour": 1}, "unknown field 'colour'"),
        ({"owner": "ann", "framework": "panel", "display_name": "A", "server": "No Good"}, "server 'No Good'"),
        ({"owner": "ann", "framework": "panel", "display_name": "A", "start": "yes"}, "start must be true or false"),
        ({"owner": "ann", "framework": "panel", "display_name": "A", "wait_for": "rel"}, "wait_for must be an abs"),
        ({"owner": "ann", "framework": "panel", "display_name": "A", "secret_env": {"K": "v"}}, "secret_env is not"),
        ({"username": "ann", "user_options": {"display_name": "A", "framework": "x y"}}, "user_options.framework"),
        ({"username": "ann", "user_options": "panel"}, "user_options must be a dict"),
    ],
)
def test_bad_entries_name_the_entry_and_the_field(entry: object, expected: str) -> None:
    with pytest.raises(StartupError) as caught:
        parse_startup_apps([entry])
    assert expected in str(caught.value)


def test_two_entries_of_one_app_are_refused() -> None:
    one = {"owner": "ann", "framework": "panel", "display_name": "A"}
    with pytest.raises(StartupError, match=r"startup_apps\[1\]: the app ann/a is already entry 0"):
        parse_startup_apps([one, dict(one)])


def test_the_hub_refuses_a_bad_entry_at_start() -> None:
    config = Config()
    config.HubApps.startup_apps = [{"owner": "ann", "framework": "panel", "display_name": "A", "env": {"PATH": "x"}}]
    with pytest.raises(ValueError, match=r"HubApps.startup_apps\[0\] \(ann\): env"):
        HubApps(config=config)


def test_upstream_config_reaches_the_service_in_our_format() -> None:
    from hubapps.hub.upstream import install_jhub_apps

    config = Config()
    config.JAppsConfig.startup_apps = [UPSTREAM_ENTRY]
    config.HubApps.status_key = "ab" * 32  # no key file written
    config = install_jhub_apps(config, "simple")
    (entry,) = HubApps(config=config).service_settings()["startup_apps"]
    assert entry["owner"] == "admin"
    assert entry["server"] == "admins-startup-server"
    assert entry["start"] is False


def test_upstream_server_names_are_normalised_as_upstream_does() -> None:
    assert upstream_server_name("My Startup Server!") == "my-startup-server"
