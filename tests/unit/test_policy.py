"""SpecPolicy: the installation's rules, shared by the spawner mixin and the launcher service."""

from __future__ import annotations

import pytest

from hubapps.core.errors import SpecError, UnknownFramework
from hubapps.core.frameworks import FrameworkRegistry
from hubapps.core.policy import SpecPolicy
from hubapps.core.spec import AppSpec, parse_user_options

REGISTRY = FrameworkRegistry.load(lambda: [])


def spec(**fields: object) -> AppSpec:
    return parse_user_options(
        {"spec_version": 1, "framework": "panel", "display_name": "P", "filepath": "p.py", **fields}
    )


def test_allowed_spec_returns_its_framework() -> None:
    policy = SpecPolicy(REGISTRY, environments={"analysis"}, profiles={"gpu"})
    assert policy.check(spec(python_env="analysis", profile="gpu")).name == "panel"


@pytest.mark.parametrize(
    ("policy", "fields", "field"),
    [
        (SpecPolicy(REGISTRY.enabled(blocked=["panel"])), {}, "framework"),
        (SpecPolicy(REGISTRY, allow_public=False), {"public": True}, "public"),
        (SpecPolicy(REGISTRY, environments={"analysis"}), {"python_env": "other"}, "python_env"),
        (SpecPolicy(REGISTRY, profiles=()), {"profile": "gpu"}, "profile"),
        (SpecPolicy(REGISTRY), {"filepath": ""}, "filepath"),
        (SpecPolicy(REGISTRY), {"filepath": "p.txt"}, "filepath"),
        (SpecPolicy(REGISTRY), {"command": ["x"]}, "command"),
    ],
)
def test_each_rule_names_its_field(policy: SpecPolicy, fields: dict[str, object], field: str) -> None:
    with pytest.raises(SpecError) as info:
        policy.check(spec(**fields))
    assert info.value.field == field


def test_unknown_profiles_pass_when_the_spawner_resolves_them() -> None:
    assert SpecPolicy(REGISTRY, profiles=None).check(spec(profile="anything")).name == "panel"


def test_disabled_framework_lists_what_is_available() -> None:
    with pytest.raises(UnknownFramework, match="available: streamlit"):
        SpecPolicy(REGISTRY.enabled(["streamlit"])).check(spec())
