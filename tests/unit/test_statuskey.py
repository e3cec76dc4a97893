"""The signed status header the service sends to apps' proxies (``hubapps.core.statuskey``)."""

from __future__ import annotations

import pytest

from hubapps.core import statuskey

KEY = bytes(range(32))
ANN = statuskey.app_key(KEY, "ann", "sales")
NOW = 1_800_000_000.0


def test_a_signature_is_accepted_for_its_own_request_only() -> None:
    value = statuskey.sign(ANN, "GET", "_hubapps/status", now=NOW)
    assert statuskey.verify(ANN, value, "GET", "_hubapps/status", now=NOW)
    assert statuskey.verify(ANN, value, "get", "_hubapps/status", now=NOW + 59)
    assert not statuskey.verify(ANN, value, "GET", "_hubapps/logs", now=NOW)
    assert not statuskey.verify(ANN, value, "POST", "_hubapps/status", now=NOW)


@pytest.mark.parametrize("offset", [-61, 61, 3600, -(10**9)])
def test_expired_or_future_signatures_are_refused(offset: float) -> None:
    value = statuskey.sign(ANN, "GET", "_hubapps/status", now=NOW + offset)
    assert not statuskey.verify(ANN, value, "GET", "_hubapps/status", now=NOW)
    assert statuskey.verify(ANN, value, "GET", "_hubapps/status", now=NOW, max_skew=abs(offset) + 1)


def test_another_apps_key_and_the_shared_key_do_not_sign() -> None:
    for other in (
        statuskey.app_key(KEY, "ann", "sales2"),
        statuskey.app_key(KEY, "bob", "sales"),
        statuskey.app_key(bytes(32), "ann", "sales"),
        KEY,
    ):
        assert other != ANN
        value = statuskey.sign(other, "GET", "_hubapps/status", now=NOW)
        assert not statuskey.verify(ANN, value, "GET", "_hubapps/status", now=NOW)


@pytest.mark.parametrize(
    "value",
    ["", "v1", "v1..", "v2.1800000000.00", "v1.-5.00", "v1.1800000000", "v1.1800000000." + "0" * 64, "x" * 500],
)
def test_malformed_values_are_refused(value: str) -> None:
    assert not statuskey.verify(ANN, value, "GET", "_hubapps/status", now=NOW)


def test_no_key_verifies_nothing() -> None:
    value = statuskey.sign(b"", "GET", "_hubapps/status", now=NOW)
    assert not statuskey.verify(b"", value, "GET", "_hubapps/status", now=NOW)


@pytest.mark.parametrize("stamp", ["²", "١٢٣", "1²"])
def test_non_ascii_digits_in_the_time_are_refused_not_a_crash(stamp: str) -> None:
    assert not statuskey.verify(b"k" * 32, f"v1.{stamp}.{'0' * 64}", "GET", "_hubapps/status")
