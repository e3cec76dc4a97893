"""A session cookie of the proxy's name that arrives twice is refused (cookie tossing): another host of
the domain (an app on ``<user>.<domain>`` under ``subdomain_host``) or another path of the origin set
one, and the browser sends both; the proxy cannot tell which is its own."""

from __future__ import annotations

import pytest

from hubapps.proxy.auth import HubAuthGate
from hubapps.proxy.wire import HTTPAnswer, Request
from tests.unit.proxy.test_gate import CLIENT_ID, HTML, PREFIX, hub_settings


def _gate() -> HubAuthGate:
    return HubAuthGate(hub_settings("http://unused"), PREFIX, cache_max_age=60, timeout=1)


def test_a_second_session_cookie_is_refused_whichever_comes_first() -> None:
    gate = _gate()
    own, tossed = gate._signer.sign(CLIENT_ID, "alice-token"), gate._signer.sign(CLIENT_ID, "mallory-token")
    for first, second in ((own, tossed), (tossed, own)):
        request = Request("GET", PREFIX.encode(), [HTML, ("Cookie", f"{CLIENT_ID}={first}; {CLIENT_ID}={second}")])
        with pytest.raises(HTTPAnswer) as raised:
            gate.authenticate_now(request, required=True)
        assert raised.value.response.status == 400
        assert b"twice" in raised.value.response.body


def test_one_session_cookie_and_similar_names_are_fine() -> None:
    gate = _gate()
    own = gate._signer.sign(CLIENT_ID, "alice-token")
    header = f"x{CLIENT_ID}=1; {CLIENT_ID}-oauth-state=2; {CLIENT_ID}={own}"
    request = Request("GET", PREFIX.encode(), [HTML, ("Cookie", header)])
    assert gate.credentials(request) == ("alice-token", False)
    assert gate.authenticate_now(request, required=True) is not None  # PENDING: the Hub is asked next
