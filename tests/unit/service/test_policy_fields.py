"""The idle policy through the API: ``keep_alive`` (older clients) and ``idle_policy`` stay one thing."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.unit.service.conftest import FakeHub, Users

API = "/services/japps/api/apps"
BODY = {"framework": "streamlit", "display_name": "Sales", "filepath": "app.py"}


def _stored(fake_hub: FakeHub) -> dict[str, object]:
    options = fake_hub.users["ann"].servers["sales"].user_options
    assert options is not None
    return {k: options[k] for k in ("keep_alive", "idle_policy", "idle_minutes", "max_age_minutes")}


def test_keep_alive_and_idle_policy_name_one_thing(client: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    assert client.post(API, headers=auth("ann"), json={**BODY, "keep_alive": True}).status_code == 201
    assert _stored(fake_hub) == {"keep_alive": True, "idle_policy": "keep", "idle_minutes": 0, "max_age_minutes": 0}
    r = client.patch(f"{API}/ann/sales", headers=auth("ann"), json={"idle_policy": "idle", "idle_minutes": 5})
    assert r.status_code == 200, r.text
    assert _stored(fake_hub) == {"keep_alive": False, "idle_policy": "idle", "idle_minutes": 5, "max_age_minutes": 0}
    r = client.patch(f"{API}/ann/sales", headers=auth("ann"), json={"keep_alive": True})
    assert r.status_code == 200, r.text
    assert _stored(fake_hub) == {"keep_alive": True, "idle_policy": "keep", "idle_minutes": 0, "max_age_minutes": 0}
    r = client.patch(f"{API}/ann/sales", headers=auth("ann"), json={"keep_alive": False})
    assert _stored(fake_hub)["idle_policy"] == "default"
    # Times without the "idle" policy are refused, naming the field; nothing changes.
    r = client.patch(f"{API}/ann/sales", headers=auth("ann"), json={"max_age_minutes": 5})
    assert r.status_code == 422
    assert r.json()["field"] == "max_age_minutes"
    assert _stored(fake_hub)["max_age_minutes"] == 0
