"""What a secret environment value holds once it is encrypted (the format, not the crypto).

The launcher service encrypts, and the spawner mixin decrypts, with JupyterHub's own crypto
(:mod:`jupyterhub.crypto`, key ``JUPYTERHUB_CRYPT_KEY``), which turns a JSON value into a Fernet
token. This module only says what that JSON value is, so both sides agree without importing each
other: the plain text, with the owner and the variable it was saved for. Binding the owner means
that a ciphertext copied out of another user's ``user_options`` (by someone allowed to read them)
opens nowhere else; binding the name means a value cannot be moved to another variable unseen.
"""

from __future__ import annotations

from typing import Any, Final

from hubapps.core.errors import SpecError

__all__ = ["PAYLOAD_KIND", "REPOSITORY_TOKEN", "open_payload", "payload"]

#: The name a repository's token is sealed under (``repository.secret_token``; no variable has it).
REPOSITORY_TOKEN: Final = "repository.token"  # noqa: S105 (a name)
#: Marks the JSON as ours (the Hub encrypts other things, such as ``auth_state``, with the same key).
PAYLOAD_KIND: Final = "hubapps.secret_env.v1"


def payload(owner: str, name: str, value: str) -> dict[str, str]:
    """The JSON object to encrypt for ``owner``'s variable ``name``."""
    return {"kind": PAYLOAD_KIND, "owner": owner, "name": name, "value": value}


def open_payload(data: Any, *, owner: str, name: str) -> str:
    """The plain value from a decrypted payload; SpecError if it was not made for ``owner``/``name``."""
    if not isinstance(data, dict) or data.get("kind") != PAYLOAD_KIND or not isinstance(data.get("value"), str):
        raise SpecError("secret_env", f"the value of {name!r} is not a secret saved by the app launcher")
    if data.get("owner") != owner or data.get("name") != name:
        raise SpecError(
            "secret_env",
            f"the value of {name!r} was saved for another user or variable; save it again through the app launcher",
        )
    value: str = data["value"]
    return value
