"""The idle policy's rule (``hubapps.core.idle``) and its spec fields (``idle_policy`` and friends)."""

from __future__ import annotations

from typing import Any

import pytest

from hubapps.core.errors import SpecError
from hubapps.core.idle import IDLE, MAX_AGE, StopRule, due_reason, parse_time, stop_rule
from hubapps.core.spec import idle_policy_changes, parse_user_options

BASE: dict[str, Any] = {"spec_version": 2, "jhub_app": True, "framework": "panel", "display_name": "App"}


def spec(**fields: Any) -> Any:
    return parse_user_options({**BASE, **fields})


def test_older_specs_keep_their_meaning() -> None:
    assert (spec().idle_policy, spec().keep_alive) == ("default", False)
    assert (spec(keep_alive=True).idle_policy, spec(keep_alive=True).keep_alive) == ("keep", True)
    assert spec(idle_policy="keep").keep_alive is True
    upstream = parse_user_options({"jhub_app": True, "framework": "panel", "display_name": "Up", "keep_alive": True})
    assert upstream.idle_policy == "keep"
    assert spec().viewers_can_start is False  # off unless the owner says so, public apps included
    assert spec(public=True).viewers_can_start is False


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"idle_policy": "idle"}, "idle_minutes", "set idle_minutes or max_age_minutes"),
        ({"idle_policy": "keep", "idle_minutes": 5}, "idle_minutes", "only the 'idle' policy"),
        ({"max_age_minutes": 5}, "max_age_minutes", "only the 'idle' policy"),
        ({"idle_policy": "idle", "idle_minutes": 5, "keep_alive": True}, "keep_alive", "exactly when"),
        ({"idle_policy": "idle", "idle_minutes": -1}, "idle_minutes", "greater than or equal to 0"),
        ({"idle_policy": "sometimes"}, "idle_policy", "'default', 'keep' or 'idle'"),
    ],
)
def test_contradictions_name_their_field(fields: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(SpecError) as caught:
        spec(**fields)
    assert caught.value.field == field
    assert words in caught.value.message


def test_the_field_sent_wins_between_keep_alive_and_idle_policy() -> None:
    idle = {"idle_policy": "idle", "idle_minutes": 5.0, "keep_alive": False, "max_age_minutes": 0.0}
    assert idle_policy_changes({"keep_alive": True}, idle)["idle_policy"] == "keep"
    assert idle_policy_changes({"keep_alive": False}, idle)["idle_policy"] == "idle"  # not a "keep" app: unchanged
    assert idle_policy_changes({"keep_alive": False}, {"idle_policy": "keep"})["idle_policy"] == "default"
    assert idle_policy_changes({"idle_policy": "keep"}, idle) == {
        "idle_policy": "keep",
        "keep_alive": True,
        "idle_minutes": 0,
        "max_age_minutes": 0,
    }
    assert idle_policy_changes({"idle_minutes": 3}, idle) == {"idle_minutes": 3}
    # A merged edit is a valid spec.
    merged = {**BASE, **idle, **idle_policy_changes({"keep_alive": True}, idle)}
    assert parse_user_options(merged).idle_policy == "keep"


def test_each_policy_has_its_rule() -> None:
    defaults = {"default_idle": 600.0, "default_max_age": 0.0}
    assert stop_rule(spec(), **defaults) == StopRule(600.0, 0.0)
    assert stop_rule(spec(idle_policy="keep"), **defaults).never
    assert stop_rule(spec(idle_policy="idle", idle_minutes=0.5, max_age_minutes=2), **defaults) == StopRule(30, 120)
    assert stop_rule(spec(), default_idle=0, default_max_age=0).never


def test_due_reason() -> None:
    rule = StopRule(idle_seconds=60, max_age_seconds=3600)
    assert due_reason(rule, now=1000, started=950, last_activity=None) is None
    assert due_reason(rule, now=1000, started=900, last_activity=None) == IDLE  # never used since its start
    assert due_reason(rule, now=1000, started=100, last_activity=990) is None
    assert due_reason(rule, now=1000, started=100, last_activity=900) == IDLE
    # Activity of an earlier run (before this start) does not count against it.
    assert due_reason(rule, now=1000, started=980, last_activity=10) is None
    assert due_reason(rule, now=5000, started=1000, last_activity=4999) == MAX_AGE
    assert due_reason(rule, now=5000, started=None, last_activity=None) is None  # unknown start: left alone
    assert due_reason(StopRule(), now=10**9, started=0, last_activity=0) is None


def test_parse_time() -> None:
    assert parse_time("1970-01-01T00:01:00Z") == 60.0
    assert parse_time("1970-01-01T00:01:00.000000+00:00") == 60.0
    for bad in (None, "", "yesterday", "1970-01-01T00:01:00", 5):
        assert parse_time(bad) is None
