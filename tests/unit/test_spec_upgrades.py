"""Stored specs of every earlier version still parse into the same current spec (requirement 17.7).

Each ``tests/resources/specs/<name>.json`` is user_options as an earlier release (or upstream JHub Apps)
stored them; ``<name>.expected`` is the current spec they must parse into. A change that alters how an
old stored spec reads fails here and must update the expected file on purpose.
"""

import json
from pathlib import Path

import pytest

from hubapps.core.spec import SPEC_VERSION, parse_user_options

SPECS = Path(__file__).resolve().parents[1] / "resources" / "specs"
FIXTURES = sorted(SPECS.glob("*.json"))


def test_there_are_fixtures_of_each_kind() -> None:
    names = [p.stem for p in FIXTURES]
    assert any(n.startswith("v1-") for n in names)
    assert any(n.startswith("v2-") for n in names)
    assert any(n.startswith("upstream-") for n in names)


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
