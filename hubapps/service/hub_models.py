"""The Hub's JSON models the service reads (JupyterHub REST API answers), as ``TypedDict``s.

Only the keys the service uses; every key may be missing (``total=False``): the Hub omits some by
version and by the caller's scopes.
"""

from __future__ import annotations

from typing import Any, TypedDict

__all__ = ["NamedModel", "ServerModel", "ShareModel", "SharedServer", "UserModel", "servers_of"]


class NamedModel(TypedDict, total=False):
    """A user or group as a share names it."""

    name: str


class ServerModel(TypedDict, total=False):
    """A (named) server of ``GET /users/{name}`` with ``include_stopped_servers``."""

    name: str
    display_name: str
    ready: bool
    pending: str | None
    stopped: bool
    url: str
    progress_url: str
    user_options: dict[str, Any] | None
    last_activity: str | None
    started: str | None


class UserModel(TypedDict, total=False):
    """``GET /user`` (with scopes) or ``GET /users/{name}``."""

    kind: str
    name: str
    admin: bool
    groups: list[str]
    scopes: list[str]
    servers: dict[str, ServerModel]


class SharedServer(TypedDict, total=False):
    """The ``server`` part of a share: whose server, its name, where it is."""

    user: NamedModel
    name: str
    url: str
    ready: bool


class ShareModel(TypedDict, total=False):
    """One share of ``GET /shares/{owner}/{server}`` or ``GET /users/{name}/shared``."""

    server: SharedServer
    kind: str
    user: NamedModel | None
    group: NamedModel | None
    scopes: list[str]
    created_at: str | None


def servers_of(user: UserModel | None) -> dict[str, ServerModel]:
    """A user model's servers (none when the model is missing or has no ``servers`` mapping)."""
    servers = (user or {}).get("servers") or {}
    return servers if isinstance(servers, dict) else {}
