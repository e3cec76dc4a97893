"""Stored specs of every earlier version still parse into the same current spec, and start the same way
(issue 17, requirement 7).

Each ``tests/resources/specs/<name>.json`` is user_options as an earlier release (or upstream JHub Apps)
stored them, or as this release writes them (``v2-today-*``); ``<name>.expected`` is the current spec they
must parse into, and ``<name>.command`` what the spawner starts for it: the proxy's options, the app's
command and its environment. A change that alters how an old stored spec reads, or what it starts, fails
here and must update the expected files on purpose (``python -m tests.unit.test_spec_upgrades`` rewrites
the ``.command`` files; review their diff).
"""

import json
from pathlib import Path

import pytest

from hubapps.core.command import LaunchContext, build_command, proxy_options
from hubapps.core.frameworks import FrameworkRegistry
from hubapps.core.spec import SPEC_VERSION, AppSpec, parse_user_options

SPECS = Path(__file__).resolve().parents[1] / "resources" / "specs"
FIXTURES = sorted(SPECS.glob("*.json"))


def test_there_are_fixtures_of_each_kind() -> None:
    names = [p.stem for p in FIXTURES]
    assert any(n.startswith("v1-") for n in names)
    assert any(n.startswith("v2-") for n in names)
    assert any(n.startswith("upstream-") for n in names)
    assert any(n.startswith("v2-today-") for n in names)


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_stored_spec_parses_into_the_expected_current_spec(path: Path) -> None:
    stored = json.loads(path.read_text())
    expected = json.loads(path.with_suffix(".expected").read_text())
    spec = parse_user_options(stored)
    assert spec.to_user_options() == expected
    assert expected["spec_version"] == SPEC_VERSION


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_a_spec_written_by_this_release_round_trips_unchanged(path: Path) -> None:
    written = parse_user_options(json.loads(path.read_text())).to_user_options()
    assert parse_user_options(written).to_user_options() == written


#: Where the spawner starts an app in these fixtures (a named server of user ann).
CONTEXT = LaunchContext(prefix="/user/ann/app/", server_name="app")
#: The admin's mapping of ``python_env`` names to folders (a name without one is a conda environment).
ENVIRONMENTS = {"analytics": "/opt/envs/analytics"}


def launch(spec: AppSpec) -> dict[str, object]:
    """What the spawner mixin starts for ``spec`` (``hubapps.hub.spawner``): the proxy's options, the app's
    command, its environment."""
    framework = FrameworkRegistry.load(lambda: []).get(spec.framework)
    argv, env = build_command(spec, framework, CONTEXT)
    options = proxy_options(spec, framework, CONTEXT, env_prefix=ENVIRONMENTS.get(spec.python_env, ""))
    return {"proxy": options.to_argv(), "app": argv, "env": env}


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_a_stored_spec_starts_the_same_command(path: Path) -> None:
    expected = json.loads(path.with_suffix(".command").read_text())
    assert launch(parse_user_options(json.loads(path.read_text()))) == expected


if __name__ == "__main__":  # rewrite the .command files from what this release starts
    for fixture in FIXTURES:
        started = launch(parse_user_options(json.loads(fixture.read_text())))
        fixture.with_suffix(".command").write_text(json.dumps(started, indent=1) + "\n")
