"""Server names: JupyterHub 6's rules, no collisions, unicode-only names."""

from __future__ import annotations

import pytest
from jupyterhub import slugs

from hubapps.core.names import is_valid_display_name, is_valid_server_name, server_name_for

SAMPLES = [
    "Sales Dashboard",
    "sales-dashboard",
    "SALES  dashboard!",
    "a-b",
    "a b",
    "数据看板",
    "Ünïcödé Àpp",
    "123 numbers first",
    "x" * 80,
    "---",
    "app",
    "<img src=x onerror=alert(1)>",
    "a\u202eb",
]


@pytest.mark.parametrize("name", SAMPLES)
def test_derived_names_are_valid_jupyterhub_server_names(name: str) -> None:
    server = server_name_for(name)
    assert is_valid_server_name(server)
    assert slugs.is_valid_safe_slug(server), "JupyterHub itself must accept the name"


@pytest.mark.parametrize(
    "candidate",
    ["a", "abc-1", "a" * 30, "a" * 31, "1a", "-a", "a-", "a--b", "A", "a_b", "", "ab-cd-ef"],
)
def test_server_name_rule_agrees_with_jupyterhub(candidate: str) -> None:
    assert is_valid_server_name(candidate) == bool(slugs.is_valid_safe_slug(candidate))


@pytest.mark.parametrize("name", [*SAMPLES, "two  spaces", " lead", "tab\tx", "", "ok name", "e\u0301"])
def test_display_name_rule_agrees_with_jupyterhub(name: str) -> None:
    assert is_valid_display_name(name) == slugs.is_valid_display_name(name)


def test_readable_name_first() -> None:
    assert server_name_for("Sales Dashboard") == "sales-dashboard"
    assert server_name_for("Ünïcödé Àpp") == "unicode-app"


def test_names_that_fold_together_never_share_a_server() -> None:
    taken: set[str] = set()
    for name in ["a-b", "a b", "A B", "a_b", "a  b", "a-b"]:
        server = server_name_for(name, taken)
        assert server not in taken
        taken.add(server)
    assert len(taken) == 6


def test_unicode_only_names_get_a_stable_hashed_name() -> None:
    first = server_name_for("数据看板")
    assert first.startswith("app-")
    assert first == server_name_for("数据看板")
    assert first != server_name_for("数据")


def test_collision_suffix_keeps_the_length_limit() -> None:
    long = "x" * 80
    taken = {server_name_for(long)}
    second = server_name_for(long, taken)
    assert len(second) <= 30
    assert second not in taken
