"""Secret environment values: encrypted here, as JupyterHub's own crypto does, before they reach the Hub.

An app's ``secret_env`` holds, per variable name, a Fernet token that :class:`SecretSealer` made with
the Hub's key (``JUPYTERHUB_CRYPT_KEY``, the key the Hub uses for ``auth_state``; ``;``-separated keys
rotate: the first encrypts, all decrypt). The service can encrypt but never decrypts: only the
spawner mixin does, at start, with ``jupyterhub.crypto.CryptKeeper``. The API shows a secret as its name
with ``null``; sending ``null`` back keeps the stored value, so a secret never has to leave the Hub to be
kept.

The service does not import ``jupyterhub.crypto``: it imports ``jupyterhub.utils`` and with it aiohttp and
tornado, about 20 MB of the service's 150 MB budget (issue 15, measured with ``benchmarks/scale_bench.py``)
for two functions. :func:`crypt_keys` reads the keys as ``CryptKeeper`` does and :class:`SecretSealer`
encrypts as it does (``Fernet`` of the first key over the JSON text); ``tests/unit/service/test_secrets.py``
keeps ``CryptKeeper`` as the oracle: what is sealed here it opens, and it refuses the keys refused here.

Specs of version 1 kept secret values in plain text in ``env``, and the service remembered which
names were secret (:class:`SecretEnvMarks`, plus names that look like credentials). When such a
spec is next saved, those variables move to ``secret_env``, encrypted (:func:`secret_env_to_save`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Column, MetaData, String, Table, delete, select
from starlette.requests import Request

from hubapps.core.errors import SpecError
from hubapps.core.secret_env import REPOSITORY_TOKEN, payload
from hubapps.core.spec import check_env_entry
from hubapps.service.db import SqlStore
from hubapps.service.errors import InvalidInput

__all__ = [
    "NO_KEY_MESSAGE",
    "SecretEnvMarks",
    "SecretSealer",
    "SecretsUnavailable",
    "crypt_keys",
    "is_v1_spec",
    "legacy_secret_names",
    "looks_secret",
    "public_repository",
    "public_secret_env",
    "repository_to_save",
    "sealer_of",
    "secret_env_to_save",
]

#: The Hub's encryption key variable (``jupyterhub.crypto.KEY_ENV``).
KEY_ENV = "JUPYTERHUB_CRYPT_KEY"

_LOOKS_SECRET = re.compile(r"(TOKEN|PASSWORD|PASSWD|SECRET|_KEY$|^KEY$|CREDENTIAL|PRIVATE)")

NO_KEY_MESSAGE = (
    "This Hub cannot store secret values: it has no encryption key. An administrator must set "
    f"{KEY_ENV} in the Hub's environment (for example `export {KEY_ENV}=$(openssl rand -hex 32)`) and "
    "restart the Hub. Until then, save the value as a plain variable or leave it out."
)

_metadata = MetaData()
_table = Table(
    "hubapps_secret_env",
    _metadata,
    Column("owner", String(255), primary_key=True),
    Column("server", String(255), primary_key=True),
    Column("name", String(128), primary_key=True),
)


def looks_secret(name: str) -> bool:
    return bool(_LOOKS_SECRET.search(name))


class SecretsUnavailable(InvalidInput):
    """A secret value was sent, but the service has no key to encrypt it with."""

    code = "secrets_unavailable"

    def __init__(self) -> None:
        super().__init__(NO_KEY_MESSAGE, field="secret_env")


class SecretSealer:
    """Encrypts secret values for the Hub as :class:`jupyterhub.crypto.CryptKeeper` does (see the module).

    ``keys`` is the value of ``JUPYTERHUB_CRYPT_KEY`` (``;``-separated, hex or base64 32-byte keys);
    empty means no key, and every secret is refused with :data:`NO_KEY_MESSAGE`.
    """

    def __init__(self, keys: str) -> None:
        try:
            self._keys = crypt_keys(keys)
        except ValueError as exc:
            raise ValueError(f"{KEY_ENV}: {exc}") from None
        self._fernet: Any = None  # made at the first seal (``cryptography`` costs memory only when used)

    @property
    def available(self) -> bool:
        return bool(self._keys)

    def _encrypt(self, data: object) -> bytes:
        if self._fernet is None:
            from cryptography.fernet import Fernet

            self._fernet = Fernet(base64.urlsafe_b64encode(self._keys[0]))
        token: bytes = self._fernet.encrypt(json.dumps(data).encode("utf8"))
        return token

    async def seal(self, owner: str, name: str, value: str) -> str:
        """The Fernet token of ``value`` for ``owner``'s variable ``name`` (encrypted off the event loop)."""
        if not self.available:
            raise SecretsUnavailable()
        token = await asyncio.to_thread(self._encrypt, payload(owner, name, value))
        return token.decode("ascii")


def crypt_keys(keys: str) -> list[bytes]:
    """The raw 32-byte keys of a ``JUPYTERHUB_CRYPT_KEY`` value, as ``CryptKeeper`` reads them: ``;``-separated,
    each base64 (44 characters), hex (64) or raw (32); ValueError for any other."""
    out = []
    for text in keys.split(";"):
        if not text.strip():
            continue
        key = text.encode("ascii")
        if len(key) == 44:
            with contextlib.suppress(ValueError):
                key = base64.urlsafe_b64decode(key)
        elif len(key) == 64:
            with contextlib.suppress(ValueError):
                key = binascii.a2b_hex(key)
        if len(key) != 32:
            raise ValueError("Encryption keys must be 32 bytes, hex or base64-encoded.")
        out.append(key)
    return out


def sealer_of(request: Request) -> SecretSealer:
    """The service's sealer (``app.state.secret_sealer``)."""
    sealer: SecretSealer = request.app.state.secret_sealer
    return sealer


def public_secret_env(secret_env: Mapping[str, object]) -> dict[str, None]:
    """What the API shows of ``secret_env``: the names, each with ``null`` (send it back to keep it)."""
    return {str(name): None for name in secret_env}


def public_repository(repository: object) -> object:
    """What the API shows of a spec's ``repository``: its sealed token as ``"token": null`` (send it
    back, or leave it out, to keep it); the stored field itself never, not even empty."""
    if not isinstance(repository, Mapping) or "secret_token" not in repository:
        return repository
    shown = {k: v for k, v in repository.items() if k != "secret_token"}
    if repository["secret_token"]:
        shown["token"] = None
    return shown


async def repository_to_save(
    sealer: SecretSealer, owner: str, submitted: Mapping[str, object] | None, stored: object = None
) -> dict[str, object] | None:
    """The ``repository`` to store for a create or an edit, its token (``submitted["token"]``, plain)
    sealed for ``owner``. A token of ``None`` keeps the stored one while the URL is the same (a token is
    never sent to another repository than the one it was given for); "" removes it."""
    if submitted is None:
        return None
    out = {k: v for k, v in submitted.items() if k not in ("token", "secret_token")}
    token = submitted.get("token")
    if token is None:
        if isinstance(stored, Mapping) and stored.get("secret_token") and stored.get("url") == out.get("url"):
            out["secret_token"] = stored["secret_token"]
    elif isinstance(token, str) and token:
        out["secret_token"] = await sealer.seal(owner, REPOSITORY_TOKEN, token)
    return out


def is_v1_spec(options: Mapping[str, object]) -> bool:
    """A version 1 (or upstream) spec: its secrets, if any, are in plain ``env``."""
    return options.get("spec_version") in (None, 1)


def legacy_secret_names(options: Mapping[str, object], marked: Iterable[str]) -> set[str]:
    """Names of a version 1 (or upstream) spec's plain env that were meant to be secret."""
    if not is_v1_spec(options):
        return set()
    env = options.get("env")
    marks = set(marked)
    return {n for n in (env if isinstance(env, dict) else ()) if n in marks or looks_secret(n)}


async def secret_env_to_save(
    sealer: SecretSealer,
    owner: str,
    *,
    submitted: Mapping[str, str | None] | None,
    env: dict[str, str],
    env_sent: bool = True,
    stored_env: Mapping[str, str] | None = None,
    stored_secret_env: Mapping[str, str] | None = None,
    legacy: Iterable[str] = (),
) -> dict[str, str]:
    """The ``secret_env`` to store (name → ciphertext) for a create or an edit.

    ``submitted`` is what the client sent: name → new plain value, or ``None`` to keep the stored value
    (a stored secret as it is; a stored *plain* variable is encrypted now); ``None`` for the whole
    field keeps every stored secret. ``env`` is the plain env about to be saved (changed in place): a
    variable that becomes secret leaves it unless the client sent ``env`` itself (``env_sent``;
    then a name in both is an error). ``legacy`` names
    (see :func:`legacy_secret_names`) found in ``env`` move to the secrets.
    """
    stored_env = stored_env or {}
    stored_secret_env = stored_secret_env or {}
    wanted: dict[str, str | None] = dict(submitted) if submitted is not None else dict.fromkeys(stored_secret_env)
    for name in legacy:
        if name in env and name not in wanted:
            wanted[name] = env.pop(name)
    if not env_sent:
        for name in wanted:
            env.pop(name, None)  # the variable became secret
    out: dict[str, str] = {}
    to_seal: dict[str, str] = {}
    for name, value in wanted.items():
        if value is None:
            if name in stored_secret_env:
                out[name] = stored_secret_env[name]
                continue
            if name not in stored_env:
                raise InvalidInput(f"{name!r} has no stored value to keep: give its value", field="secret_env")
            value = stored_env[name]
        try:
            check_env_entry(name, value)
        except ValueError as exc:
            raise SpecError("secret_env", str(exc)) from None
        to_seal[name] = value
    for name, value in to_seal.items():
        out[name] = await sealer.seal(owner, name, value)
    return out


class SecretEnvMarks(SqlStore):
    """Names of secret environment variables of version 1 specs, by ``(owner, server)``.

    Written by earlier versions; read only to migrate those specs when they are next saved.
    """

    metadata = _metadata

    def _get(self, owner: str, server: str) -> set[str]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(_table.c.name).where(_table.c.owner == owner, _table.c.server == server)).all()
        return {r[0] for r in rows}

    def _set(self, owner: str, server: str, names: set[str]) -> None:
        with self._engine.begin() as conn:
            conn.execute(delete(_table).where(_table.c.owner == owner, _table.c.server == server))
            if names:
                conn.execute(_table.insert(), [{"owner": owner, "server": server, "name": n} for n in sorted(names)])

    async def get(self, owner: str, server: str) -> set[str]:
        return await asyncio.to_thread(self._get, owner, server)

    async def set(self, owner: str, server: str, names: set[str]) -> None:
        await asyncio.to_thread(self._set, owner, server, names)
