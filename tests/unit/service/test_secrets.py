"""Secret env values through the service: encrypted before they reach the Hub, never shown again."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from fastapi.testclient import TestClient
from pydantic import SecretStr

from hubapps.core.secret_env import PAYLOAD_KIND
from hubapps.service.secrets import SecretSealer
from hubapps.service.settings import ServiceSettings
from tests.unit.service.conftest import FakeHub, Users, app_options

API = "/services/japps/api"
SPEC = {"framework": "streamlit", "display_name": "Keyed", "filepath": "app.py"}
PLAIN = "sk-live-" + "9" * 24
KEY = secrets.token_hex(32)


def fernet(*hex_keys: str) -> MultiFernet:
    return MultiFernet([Fernet(base64.urlsafe_b64encode(bytes.fromhex(k))) for k in hex_keys])


def opened(token: str, *hex_keys: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(fernet(*hex_keys or (KEY,)).decrypt(token.encode()))
    return data


@pytest.fixture
def keyed(make_client: Callable[..., TestClient], settings: ServiceSettings) -> TestClient:
    return make_client(settings.model_copy(update={"crypt_key": SecretStr(KEY)}))


def stored(fake_hub: FakeHub, owner: str = "ann") -> dict[str, Any]:
    (server,) = fake_hub.users[owner].servers.values()
    assert server.user_options is not None
    return server.user_options


def test_a_secret_reaches_the_hub_encrypted_and_never_comes_back(
    keyed: TestClient, fake_hub: FakeHub, auth: Users
) -> None:
    body = {**SPEC, "env": {"A": "1"}, "secret_env": {"API_KEY": PLAIN}}
    r = keyed.post(f"{API}/apps", headers=auth("ann"), json=body)
    assert r.status_code == 201, r.text
    assert PLAIN not in r.text
    assert r.json()["spec"]["secret_env"] == {"API_KEY": None}
    options = stored(fake_hub)
    assert PLAIN not in json.dumps(options)
    assert options["spec_version"] == 2
    assert options["env"] == {"A": "1"}
    assert opened(options["secret_env"]["API_KEY"]) == {
        "kind": PAYLOAD_KIND,
        "owner": "ann",
        "name": "API_KEY",
        "value": PLAIN,
    }
    server = r.json()["name"]
    for path in (f"{API}/apps/ann/{server}", f"{API}/apps"):
        got = keyed.get(path, headers=auth("ann"))
        assert got.status_code == 200
        assert PLAIN not in got.text
        assert options["secret_env"]["API_KEY"] not in got.text


def test_edit_keeps_replaces_and_removes_secrets(keyed: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    body = {**SPEC, "secret_env": {"API_KEY": PLAIN, "DB_PASSWORD": "pw-1"}}
    server = keyed.post(f"{API}/apps", headers=auth("ann"), json=body).json()["name"]
    before = stored(fake_hub)["secret_env"]
    path = f"{API}/apps/ann/{server}"

    r = keyed.patch(path, headers=auth("ann"), json={"description": "no secret sent"})
    assert r.status_code == 200, r.text
    assert stored(fake_hub)["secret_env"] == before  # not sent: every secret kept as it was

    r = keyed.patch(path, headers=auth("ann"), json={"secret_env": {"API_KEY": None, "NEW_TOKEN": "t-2"}})
    assert r.status_code == 200, r.text
    after = stored(fake_hub)["secret_env"]
    assert set(after) == {"API_KEY", "NEW_TOKEN"}  # DB_PASSWORD left out: removed
    assert after["API_KEY"] == before["API_KEY"]  # null: the stored ciphertext, untouched
    assert opened(after["NEW_TOKEN"])["value"] == "t-2"
    assert r.json()["spec"]["secret_env"] == {"API_KEY": None, "NEW_TOKEN": None}

    r = keyed.patch(path, headers=auth("ann"), json={"secret_env": {"NOT_STORED": None}})
    assert (r.status_code, r.json()["field"]) == (422, "secret_env")


def test_plain_variable_becomes_secret_without_retyping(keyed: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    r = keyed.post(f"{API}/apps", headers=auth("ann"), json={**SPEC, "env": {"SERVICE_URL": PLAIN}})
    server = r.json()["name"]
    r = keyed.patch(f"{API}/apps/ann/{server}", headers=auth("ann"), json={"secret_env": {"SERVICE_URL": None}})
    assert r.status_code == 200, r.text
    options = stored(fake_hub)
    assert options["env"] == {}
    assert opened(options["secret_env"]["SERVICE_URL"])["value"] == PLAIN


def test_version_1_secrets_are_encrypted_when_next_saved(keyed: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    """A v1 spec kept secrets in plain env (names marked by the service, or credential-like names)."""
    auth("ann")
    env = {"OPENAI_API_KEY": PLAIN, "MARKED": "m-1", "COLOR": "red"}
    fake_hub.add_server("ann", "old", app_options("Old", env=env))
    marks = keyed.app.state.secret_env  # type: ignore[attr-defined]
    keyed.portal.call(marks.set, "ann", "old", {"MARKED"})  # type: ignore[union-attr]
    r = keyed.patch(f"{API}/apps/ann/old", headers=auth("ann"), json={"description": "edited"})
    assert r.status_code == 200, r.text
    options = stored(fake_hub)
    assert options["spec_version"] == 2
    assert options["env"] == {"COLOR": "red"}
    values = {k: opened(v)["value"] for k, v in options["secret_env"].items()}
    assert values == {"OPENAI_API_KEY": PLAIN, "MARKED": "m-1"}
    assert PLAIN not in r.text


def test_without_a_key_secrets_are_refused_with_what_to_set(client: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    r = client.post(f"{API}/apps", headers=auth("ann"), json={**SPEC, "secret_env": {"API_KEY": PLAIN}})
    assert r.status_code == 422
    body = r.json()
    assert (body["field"], body["code"]) == ("secret_env", "secrets_unavailable")
    assert "JUPYTERHUB_CRYPT_KEY" in body["detail"]
    assert "openssl rand -hex 32" in body["detail"]
    assert PLAIN not in r.text
    assert fake_hub.users["ann"].servers == {}  # nothing was created
    # Plain variables still work without a key.
    assert client.post(f"{API}/apps", headers=auth("ann"), json={**SPEC, "env": {"A": "1"}}).status_code == 201


def test_secret_values_follow_the_env_rules(keyed: TestClient, auth: Users) -> None:
    for secret_env, words in (
        ({"LD_PRELOAD": "x"}, "reserved"),
        ({"1lower": "x"}, "not a valid name"),
        ({"BIG": "x" * 8193}, "longer than"),
    ):
        r = keyed.post(f"{API}/apps", headers=auth("ann"), json={**SPEC, "secret_env": secret_env})
        assert (r.status_code, r.json()["field"]) == (422, "secret_env"), r.text
        assert words in r.json()["detail"]
    r = keyed.post(f"{API}/apps", headers=auth("ann"), json={**SPEC, "env": {"A": "1"}, "secret_env": {"A": "2"}})
    assert (r.status_code, r.json()["field"]) == (422, "secret_env")


async def test_sealer_encrypts_with_the_first_of_rotated_keys() -> None:
    new, old = secrets.token_hex(32), secrets.token_hex(32)
    token = await SecretSealer(f"{new};{old}").seal("ann", "A", "v")
    assert opened(token, new)["value"] == "v"
    with pytest.raises(InvalidToken):
        opened(token, old)
    assert not SecretSealer("").available
    with pytest.raises(ValueError, match="32 bytes"):
        SecretSealer("too-short")


KEY_FORMS = {
    "hex": secrets.token_hex(32),
    "base64": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    "raw": "k" * 32,
}


@pytest.mark.parametrize("form", sorted(KEY_FORMS))
async def test_jupyterhubs_cryptkeeper_opens_what_the_sealer_seals(form: str) -> None:
    """The oracle: the service seals without jupyterhub.crypto; the Hub's CryptKeeper (as the spawner mixin
    uses it) opens the result, with the keys given in any form it reads, rotated or not."""
    from jupyterhub.crypto import KEY_ENV, CryptKeeper
    from traitlets.config import Config

    from hubapps.service import secrets as service_secrets

    assert service_secrets.KEY_ENV == KEY_ENV
    old = secrets.token_hex(32)
    for keys in (KEY_FORMS[form], f"{KEY_FORMS[form]};{old}", f" ;{KEY_FORMS[form]};"):
        token = await SecretSealer(keys).seal("ann", "A", "välue")
        keeper = CryptKeeper(config=Config(), keys=[k for k in keys.split(";") if k.strip()])
        assert await keeper.decrypt(token.encode()) == {
            "kind": PAYLOAD_KIND,
            "owner": "ann",
            "name": "A",
            "value": "välue",
        }
        assert service_secrets.crypt_keys(keys) == keeper.keys


@pytest.mark.parametrize("keys", ["too-short", "x" * 44, "z" * 64, "a" * 33, f"{KEY};nope"])
def test_keys_the_cryptkeeper_refuses_are_refused(keys: str) -> None:
    from jupyterhub.crypto import CryptKeeper
    from traitlets.config import Config

    with pytest.raises(ValueError, match="32 bytes") as ours:
        SecretSealer(keys)
    assert "JUPYTERHUB_CRYPT_KEY" in str(ours.value)
    with pytest.raises(ValueError, match="32 bytes"):
        CryptKeeper(config=Config(), keys=[k for k in keys.split(";") if k.strip()])


def test_the_service_does_not_load_jupyterhub() -> None:
    """What the sealer and the app URLs are written for (about 20 MB of the service's memory)."""
    import subprocess
    import sys

    code = (
        "import sys, hubapps.service.app; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'jupyterhub', 'aiohttp', 'tornado'}))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"


async def test_apps_with_secrets_still_reach_the_directory(keyed: TestClient, fake_hub: FakeHub, auth: Users) -> None:
    """The owner's listing feeds the directory from the stored spec, not from the redacted one."""
    auth("bob")
    token = await SecretSealer(KEY).seal("ann", "API_KEY", PLAIN)
    fake_hub.add_server(
        "ann", "keyed", app_options("With a secret", spec_version=2, public=True, secret_env={"API_KEY": token})
    )
    assert keyed.get(f"{API}/apps", headers=auth("ann")).json()["count"] == 1
    public = keyed.get(f"{API}/apps", headers=auth("bob"), params={"access": "public"}).json()["data"]
    assert [(a["id"], a["display_name"]) for a in public] == [("ann/keyed", "With a secret")]
    assert token not in json.dumps(public)


def test_form_rows_become_env_and_secret_env() -> None:
    """The edit form: blank secret = keep, new value = replace, a name gone = removed (not sent)."""
    from hubapps.service.forms import blank_values as _blank_values
    from hubapps.service.forms import spec_body as _spec_body

    def body(rows: list[dict[str, Any]], *stored: Any) -> tuple[dict[str, Any], dict[str, str]]:
        errors: dict[str, str] = {}
        return _spec_body({**_blank_values(), "env": rows}, errors, *stored), errors

    got, errors = body(
        [
            {"name": "KEPT", "value": "", "secret": True, "stored": True},
            {"name": "REPLACED", "value": "new", "secret": True, "stored": True},
            {"name": "ADDED", "value": "n", "secret": True, "stored": False},
            {"name": "PLAIN", "value": "p", "secret": False, "stored": False},
            {"name": "OLD_TOKEN", "value": "", "secret": False, "stored": True},  # a v1 secret, unticked
        ],
        {"KEPT", "REPLACED", "REMOVED"},
        {"OLD_TOKEN": "t"},
    )
    assert errors == {}
    assert got["secret_env"] == {"KEPT": None, "REPLACED": "new", "ADDED": "n"}
    assert got["env"] == {"PLAIN": "p", "OLD_TOKEN": "t"}
    # An encrypted value cannot silently become an empty plain variable; a new secret needs a value.
    _, errors = body([{"name": "KEPT", "value": "", "secret": False, "stored": True}], {"KEPT"})
    assert "'KEPT' is stored encrypted" in errors["env"]
    _, errors = body([{"name": "ADDED", "value": "", "secret": True, "stored": False}])
    assert "give the value" in errors["env"]
