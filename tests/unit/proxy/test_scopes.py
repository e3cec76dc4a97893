"""The proxy's scope check agrees with JupyterHub's own ``check_scopes`` (the oracle), case for case.

The proxy may not import ``jupyterhub.services.auth`` (its ORM costs ~50 MB per proxy); the tests may, so
they hold :func:`hubapps.core.scopes.grants` to JupyterHub's answer over thousands of generated scope sets.
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Iterable

import pytest
from jupyterhub.services.auth import check_scopes

from hubapps.core.scopes import grants

BASES = ["access:servers", "read:users", "read:servers", "admin:users", "read:users:activity", "users"]
FILTER_VALUES = {
    "user": ["alice", "bob", "carol"],
    "server": ["alice/my-app", "alice/", "alice/other", "bob/my-app", "bob/", "carol/x", "alice"],
    "group": ["team-a", "team-b", "alice"],  # a group named like a user is still not that user
    "service": ["japps"],
}
# Filter kinds drawn with these weights: the hierarchy (user/server/group) matters most.
KINDS = ["user", "server", "group", "service"]
KIND_WEIGHTS = [4, 4, 2, 1]

GENERATED_CASES = 6000


def oracle(required: Iterable[str], held: Iterable[str]) -> bool | None:
    """JupyterHub's verdict; None when JupyterHub refuses the scopes (malformed filters raise)."""
    with warnings.catch_warnings():
        # Without a database JupyterHub warns that group filters are not resolved (expected here).
        warnings.simplefilter("ignore")
        try:
            return bool(check_scopes(set(required), list(held)))
        except ValueError:
            return None


def random_scope(rng: random.Random, bases: list[str]) -> str:
    base = rng.choice(bases)
    roll = rng.random()
    if roll < 0.2:
        return base
    if roll < 0.22:
        return base + rng.choice(["!user", "!server=", "!group="])  # malformed: JupyterHub raises
    kind = rng.choices(KINDS, KIND_WEIGHTS)[0]
    return f"{base}!{kind}={rng.choice(FILTER_VALUES[kind])}"


def access_required(rng: random.Random) -> set[str]:
    """What a real server requires: its own server, often also its owner (as JupyterHub sets it)."""
    owner = rng.choice(FILTER_VALUES["user"])
    scopes = {f"access:servers!server={owner}/{rng.choice(['my-app', '', 'x'])}"}
    if rng.random() < 0.5:
        scopes.add(f"access:servers!user={owner}")
    if rng.random() < 0.1:
        scopes.add("access:servers")
    return scopes


def generated_cases() -> Iterable[tuple[set[str], list[str]]]:
    rng = random.Random(20240611)  # noqa: S311 -- reproducible test data, not secrets
    for _ in range(GENERATED_CASES):
        # Few bases make overlaps (the interesting cases) frequent.
        bases = rng.sample(BASES, rng.choice([1, 1, 2, 3]))
        if rng.random() < 0.4:
            required = access_required(rng)
            bases = ["access:servers", *bases]
        else:
            required = {random_scope(rng, bases) for _ in range(rng.randint(1, 3))}
        held = [random_scope(rng, bases) for _ in range(rng.randint(0, 5))]
        yield required, held


def test_grants_agrees_with_jupyterhub_on_generated_scopes() -> None:
    compared = granted = 0
    for required, held in generated_cases():
        expected = oracle(required, held)
        result = grants(required, held)
        assert isinstance(result, bool)
        if expected is None:
            continue  # JupyterHub raises on a malformed filter; grants() must only not crash
        assert result == expected, f"required={sorted(required)} held={sorted(held)}"
        compared += 1
        granted += expected
    # The generator must exercise both answers, plenty of times.
    assert compared > GENERATED_CASES * 0.8
    assert compared * 0.1 < granted < compared * 0.9


ALICE_APP = {"access:servers!server=alice/my-app", "access:servers!user=alice"}


@pytest.mark.parametrize(
    ("required", "held", "expected"),
    [
        pytest.param(ALICE_APP, ["access:servers!server=alice/my-app"], True, id="own-server"),
        pytest.param(ALICE_APP, ["access:servers!user=alice"], True, id="owner-filter"),
        pytest.param(
            {"access:servers!server=alice/my-app"}, ["access:servers!user=alice"], True, id="user-covers-server"
        ),
        pytest.param(ALICE_APP, ["access:servers"], True, id="unfiltered-held"),
        pytest.param(ALICE_APP, ["access:servers!server=bob/my-app", "read:users"], False, id="other-server"),
        pytest.param(ALICE_APP, ["access:servers!user=alicex"], False, id="name-prefix-is-not-a-match"),
        pytest.param(ALICE_APP, ["access:servers!server=alice/my-app2"], False, id="server-prefix-is-not-a-match"),
        pytest.param(ALICE_APP, ["access:servers!group=team-a"], False, id="groups-not-resolved-without-db"),
        pytest.param({"access:servers!group=team-a"}, ["access:servers!group=team-a"], True, id="same-group"),
        pytest.param(
            {"access:servers!user=alice"}, ["access:servers!server=alice/my-app"], False, id="server-not-user"
        ),
        pytest.param({"read:users"}, ["read:users!user=alice"], False, id="required-unfiltered-held-filtered"),
        pytest.param({"read:users", "read:users!user=alice"}, ["read:users!user=alice"], True, id="literal-filter"),
        pytest.param({"read:users!user=alice"}, ["read:users"], True, id="held-unfiltered"),
        pytest.param(ALICE_APP, ["read:users!user=alice", "access:servers!service=japps"], False, id="other-bases"),
        pytest.param(set(), ["access:servers"], False, id="nothing-required"),
        pytest.param(ALICE_APP, [], False, id="nothing-held"),
        pytest.param("access:servers!user=alice", ["access:servers!user=alice"], True, id="required-as-string"),
    ],
)
def test_named_cases(required: set[str] | str, held: list[str], expected: bool) -> None:
    assert grants(required, held) is expected
    assert oracle({required} if isinstance(required, str) else required, held) is expected


def test_malformed_scopes_grant_nothing() -> None:
    assert not grants(ALICE_APP, ["access:servers!user", "access:servers!server="])
    assert not grants({"access:servers!user"}, ["access:servers!user=alice"])
