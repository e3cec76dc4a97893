"""Fixtures of the service unit tests: a fake Hub behind ``httpx.MockTransport``.

Fixtures
--------
- ``fake_hub``: a :class:`FakeHub` (users, tokens, servers, shares, share codes in memory; a small
  RBAC: users act on their own servers, admins on everyone's, shares give access only). Every
  request it served is in ``fake_hub.calls``.
- ``settings``: :class:`ServiceSettings` for the tests (in-memory database, no caching surprises).
- ``client``: a FastAPI ``TestClient`` of the service wired to the fake Hub (lifespan run); every
  answer it gets is checked for the service's security headers (:mod:`tests.unit.service.headers`).
- ``auth(name)``: ``{"Authorization": "token <token of name>"}``.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

import httpx
import pytest
from fastapi.testclient import TestClient

from hubapps.core.frameworks import FrameworkRegistry
from hubapps.service.app import create_app
from hubapps.service.settings import ServiceSettings
from tests.unit.service.headers import checked

SERVICE_TOKEN = "service-token-" + "s" * 20
HUB_VERSION = "6.1.1"


@dataclass
class FakeServer:
    name: str
    user_options: dict[str, Any] | None = None
    display_name: str = ""
    running: bool = False
    pending: str | None = None
    #: When the Hub started the server's current run (ISO 8601), as its model says.
    started: str | None = None

    def model(self, owner: str) -> dict[str, Any]:
        return {
            "name": self.name,
            "display_name": self.display_name or self.name,
            "ready": self.running and self.pending is None,
            "pending": self.pending,
            "stopped": not self.running,
            "url": f"/user/{owner}/{self.name}/",
            "progress_url": f"/hub/api/users/{owner}/servers/{self.name}/progress",
            "user_options": self.user_options,
            "last_activity": None,
            "started": self.started,
        }


@dataclass
class FakeUser:
    name: str
    admin: bool = False
    groups: list[str] = field(default_factory=list)
    servers: dict[str, FakeServer] = field(default_factory=dict)
    can_share: bool = True
    #: More scopes of the user's token (``list:users``, ``list:groups``, with or without a filter).
    scopes: list[str] = field(default_factory=list)


class FakeHub:
    """Enough of JupyterHub 6's REST API for the service, with JupyterHub's status codes."""

    def __init__(self) -> None:
        self.users: dict[str, FakeUser] = {}
        self.tokens: dict[str, str] = {}
        self.shares: list[dict[str, str]] = []  # {"owner", "server", "user" | "group"}
        self.codes: dict[str, list[dict[str, Any]]] = {}
        self.calls: list[tuple[str, str]] = []
        #: The requests made with the service's own token (method, path).
        self.service_calls: list[tuple[str, str]] = []
        self.version = HUB_VERSION
        self.fail: Callable[[httpx.Request], httpx.Response | None] | None = None
        self.stop_delay = 0.0
        self.create_delay = 0.0  # seconds a server create or start takes (to overlap two requests)
        self.oauth_codes: dict[str, str] = {}
        self.spawn_limit_reached = False

    # -- setup -------------------------------------------------------------------------------------

    def add_user(self, name: str, *, admin: bool = False, groups: list[str] | None = None) -> str:
        self.users[name] = FakeUser(name, admin=admin, groups=list(groups or []))
        token = f"tok-{name}-{secrets.token_hex(8)}"
        self.tokens[token] = name
        return token

    def add_server(self, owner: str, name: str, options: dict[str, Any] | None, *, running: bool = False) -> None:
        display = (options or {}).get("display_name", name)
        self.users[owner].servers[name] = FakeServer(name, options, display, running)

    def share(self, owner: str, server: str, *, user: str | None = None, group: str | None = None) -> None:
        entry = {"owner": owner, "server": server}
        entry.update({"user": user} if user else {"group": str(group)})
        self.shares.append(entry)

    # -- transport ---------------------------------------------------------------------------------

    async def handler(self, request: httpx.Request) -> httpx.Response:
        self.calls.append((request.method, request.url.path))
        if self.stop_delay and request.method == "DELETE" and "/servers/" in request.url.path:
            await asyncio.sleep(self.stop_delay)
        if self.create_delay and request.method in ("PUT", "POST") and "/servers/" in request.url.path:
            await asyncio.sleep(self.create_delay)
        if self.fail is not None:
            failed = self.fail(request)
            if failed is not None:
                return failed
        response = self._route(request)
        response.headers["X-JupyterHub-Version"] = self.version
        return response

    def _json(self, status: int, body: Any = None) -> httpx.Response:
        if body is None:
            return httpx.Response(status)
        return httpx.Response(status, json=body)

    def _error(self, status: int, message: str = "") -> httpx.Response:
        return httpx.Response(status, json={"status": status, "message": message or "error"})

    def _caller(self, request: httpx.Request) -> FakeUser | None:
        _scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if token == SERVICE_TOKEN:
            # The service's own token (read:servers, list:users, start:servers, delete:servers): it reads,
            # starts and stops anyone's servers, as an admin's token does here.
            self.service_calls.append((request.method, request.url.path))
            return FakeUser("service-japps", admin=True)
        name = self.tokens.get(token)
        return self.users.get(name) if name else None

    def _user_model(self, user: FakeUser, *, scopes: bool = False) -> dict[str, Any]:
        model: dict[str, Any] = {
            "kind": "user",
            "name": user.name,
            "admin": user.admin,
            "groups": user.groups,
            "servers": {n: s.model(user.name) for n, s in user.servers.items()},
        }
        if scopes:
            model["scopes"] = [
                "access:services!service=japps",
                f"read:servers!user={user.name}",
                f"servers!user={user.name}",
            ] + ([f"shares!user={user.name}"] if user.can_share else [])
            model["scopes"] += ["list:users", "read:servers", "servers"] if user.admin else user.scopes
        return model

    def _list_users(self, request: httpx.Request, caller: FakeUser) -> httpx.Response:
        """``GET /users`` as JupyterHub answers it: ``list:users`` needed (403 without), a ``!group=``
        filter lists that group's members; servers only for admins (``read:servers``)."""
        held = ["list:users"] if caller.admin else [s for s in caller.scopes if s.split("!")[0] == "list:users"]
        if not held:
            return self._error(403, "Action is not authorized with current scopes; requires any of [list:users]")
        groups = {s.partition("!group=")[2] for s in held if "!group=" in s}
        listed = [u for u in self.users.values() if "list:users" in held or groups & set(u.groups)]
        models = [self._user_model(u) if caller.admin else {"kind": "user", "name": u.name} for u in listed]
        return self._paginated(request, models)

    def _paginated(self, request: httpx.Request, items: list[Any]) -> httpx.Response:
        query = parse_qs(request.url.query.decode())
        offset = int(query.get("offset", ["0"])[0])
        limit = int(query.get("limit", ["200"])[0])
        page = items[offset : offset + limit]
        following = {"offset": offset + limit, "limit": limit} if offset + limit < len(items) else None
        return self._json(
            200,
            {"items": page, "_pagination": {"offset": offset, "limit": limit, "total": len(items), "next": following}},
        )

    def _may_manage(self, caller: FakeUser, owner: str) -> bool:
        return caller.admin or caller.name == owner

    def _share_model(self, share: dict[str, str]) -> dict[str, Any]:
        owner = self.users[share["owner"]]
        server = owner.servers[share["server"]]
        kind = "user" if "user" in share else "group"
        return {
            "server": {
                "user": {"name": owner.name},
                "name": server.name,
                "url": f"/user/{owner.name}/{server.name}/",
                "ready": server.running,
            },
            "scopes": [f"access:servers!server={owner.name}/{server.name}"],
            "user": {"name": share["user"]} if kind == "user" else None,
            "group": {"name": share["group"]} if kind == "group" else None,
            "kind": kind,
            "created_at": "2025-01-01T00:00:00Z",
        }

    def _route(self, request: httpx.Request) -> httpx.Response:
        path = unquote(request.url.path)
        assert path.startswith("/hub/api"), path
        path = path[len("/hub/api") :] or "/"
        method = request.method
        body = (
            json.loads(request.content)
            if request.content and request.headers.get("content-type", "").startswith("application/json")
            else None
        )
        if path == "/":
            return self._json(200, {"version": self.version})
        if path == "/oauth2/token" and method == "POST":
            form = parse_qs(request.content.decode())
            token = self.oauth_codes.pop(form.get("code", [""])[0], None)
            if token is None or form.get("client_secret") != [SERVICE_TOKEN] or not form.get("code_verifier", [""])[0]:
                return self._error(400, "invalid_grant")
            return self._json(200, {"access_token": token, "token_type": "Bearer"})
        m = re.fullmatch(r"/groups/([^/]+)", path)
        if m and request.headers.get("Authorization") == f"token {SERVICE_TOKEN}":
            # The service's own token (read:groups): a group's members.
            members = [u.name for u in self.users.values() if m[1] in u.groups]
            return self._json(200, {"kind": "group", "name": m[1], "users": members}) if members else self._error(404)
        caller = self._caller(request)
        if caller is None:
            return self._error(403)
        if path == "/users" and method == "GET":
            return self._list_users(request, caller)
        if path == "/groups" and method == "GET":
            if not caller.admin and not any(s.split("!")[0] == "list:groups" for s in caller.scopes):
                return self._error(403, "Action is not authorized with current scopes; requires any of [list:groups]")
            names = sorted({g for u in self.users.values() for g in u.groups})
            return self._paginated(request, [{"kind": "group", "name": g} for g in names])
        if path == "/user":
            return self._json(200, self._user_model(caller, scopes=True))
        m = re.fullmatch(r"/users/([^/]+)", path)
        if m:
            target = self.users.get(m[1])
            if target is None or not self._may_manage(caller, target.name):
                return self._error(404)
            return self._json(200, self._user_model(target))
        m = re.fullmatch(r"/users/([^/]+)/shared", path)
        if m:
            if m[1] != caller.name and not caller.admin:
                return self._error(404)
            me = self.users[m[1]]
            mine = [s for s in self.shares if s.get("user") == me.name or s.get("group") in me.groups]
            return self._paginated(request, [self._share_model(s) for s in mine])
        m = re.fullmatch(r"/users/([^/]+)/servers/([^/]+)", path)
        if m:
            return self._server(method, caller, m[1], m[2], body)
        m = re.fullmatch(r"/shares/([^/]+)/([^/]*)", path)
        if m:
            return self._shares(method, caller, m[1], m[2], body, request)
        m = re.fullmatch(r"/share-codes/([^/]+)/([^/]+)", path)
        if m:
            owner, server = m[1], m[2]
            if not self._may_manage(caller, owner) or server not in self.users[owner].servers:
                return self._error(404)
            codes = self.codes.setdefault(f"{owner}/{server}", [])
            if method == "POST":
                code = {"id": f"sc_{len(codes) + 1}", "created_at": "now", "expires_at": "later", "exchange_count": 0}
                codes.append(code)
                return self._json(
                    200, {**code, "code": "secret-code", "accept_url": "/hub/accept-share?code=secret-code"}
                )
            if method == "DELETE":
                wanted = parse_qs(request.url.query.decode()).get("id")
                codes[:] = [c for c in codes if wanted and c["id"] not in wanted]
                return self._json(204)
            return self._paginated(request, codes)
        return self._error(404)

    def _server(self, method: str, caller: FakeUser, owner_name: str, name: str, body: Any) -> httpx.Response:
        owner = self.users.get(owner_name)
        if owner is None or not self._may_manage(caller, owner_name):
            return self._error(404 if method == "GET" else 403)
        server = owner.servers.get(name)
        hub_5 = int(self.version.split(".")[0]) < 6
        if hub_5 and method in ("PUT", "PATCH"):
            return self._error(405, "Method Not Allowed")  # JupyterHub 5 has neither
        if method == "PUT":
            if server is not None:
                return self._error(409, f"User {owner_name} already has server {name}")
            options = (body or {}).get("user_options")
            owner.servers[name] = FakeServer(name, options, (body or {}).get("display_name") or name)
            return self._json(201, owner.servers[name].model(owner_name))
        if method == "POST":
            if self.spawn_limit_reached:
                return httpx.Response(429, json={"message": "Too many users"}, headers={"Retry-After": "7"})
            if server is None:
                server = owner.servers[name] = FakeServer(name, None, name)
            if server.running:
                return self._error(400, f"{owner_name}:{name} is already running")
            if hub_5:
                if body is not None:  # JupyterHub 5: the body is the options, stored as the spawn begins
                    server.user_options = body
            elif body and body.get("user_options") is not None:
                server.user_options = body["user_options"]
            server.running = True
            return self._json(201)
        if server is None:
            return self._error(404, f"{owner_name} has no server named '{name}'")
        if method == "PATCH":
            if server.running:
                return self._error(400, f"{owner_name}/{name} is active. Please stop it before modifying it.")
            if "user_options" in (body or {}):
                server.user_options = body["user_options"]
            if (body or {}).get("display_name"):
                server.display_name = body["display_name"]
            return self._json(200, server.model(owner_name))
        if method == "DELETE":
            server.running = False
            if (body or {}).get("remove"):
                del owner.servers[name]
                self.shares = [s for s in self.shares if not (s["owner"] == owner_name and s["server"] == name)]
            return self._json(204)
        return self._json(200, server.model(owner_name))

    def _shares(
        self, method: str, caller: FakeUser, owner: str, server: str, body: Any, request: httpx.Request
    ) -> httpx.Response:
        if not self._may_manage(caller, owner) or server not in self.users.get(owner, FakeUser("")).servers:
            return self._error(404)
        if method == "GET":
            mine = [s for s in self.shares if s["owner"] == owner and s["server"] == server]
            return self._paginated(request, [self._share_model(s) for s in mine])
        if method == "POST":
            if not caller.can_share:
                return self._error(403, "Need scope 'read:users:name' to share with users by name")
            target = (body or {}).get("user")
            if target is not None and target not in self.users:
                return self._error(400, f"No such user: {target}")
            self.share(owner, server, user=target, group=(body or {}).get("group"))
            return self._json(200, self._share_model(self.shares[-1]))
        if method == "PATCH":
            key = "user" if "user" in (body or {}) else "group"
            self.shares = [
                s
                for s in self.shares
                if not (s["owner"] == owner and s["server"] == server and s.get(key) == body[key])
            ]
            return self._json(200, {})
        if method == "DELETE":
            self.shares = [s for s in self.shares if not (s["owner"] == owner and s["server"] == server)]
            return self._json(204)
        return self._error(405)


@pytest.fixture
def fake_hub() -> FakeHub:
    return FakeHub()


@pytest.fixture
def settings() -> ServiceSettings:
    # Validated from a mapping, as ServiceSettings.from_env does: the admin fields are generated from the
    # HubApps traits at import, so the type checker does not know them as keywords.
    return ServiceSettings.model_validate(
        {
            "hub_api_url": "http://hub.test/hub/api",
            "api_token": SERVICE_TOKEN,
            "database_url": "sqlite://",
            "user_cache_ttl": 0,
            "shared_cache_ttl": 0,
            "directory_cache_ttl": 0,
            "stop_wait": 0.3,
            "start_wait": 0.3,
            # The unit tests exercise public apps and sharing; their defaults (off) have tests of their own.
            "allow_public_apps": True,
            "allow_sharing": True,
            # No pruning task at start: the in-memory database is one connection (StaticPool), which a
            # prune in a worker thread would share with the events a test adds meanwhile.
            "event_retention_days": 0,
        }
    )


@pytest.fixture(scope="session")
def registry() -> FrameworkRegistry:
    return FrameworkRegistry.load()


@pytest.fixture
def make_client(
    fake_hub: FakeHub, settings: ServiceSettings, registry: FrameworkRegistry
) -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def _make(settings_override: ServiceSettings | None = None, **kwargs: Any) -> TestClient:
        app = create_app(
            settings_override or settings, hub_transport=httpx.MockTransport(fake_hub.handler), registry=registry
        )
        used = settings_override or settings
        client = checked(TestClient(app, base_url="http://hub.test", **kwargs), used.prefix)
        client.__enter__()
        clients.append(client)
        return client

    yield _make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


@dataclass
class Users:
    tokens: dict[str, str]

    def __call__(self, name: str) -> dict[str, str]:
        return {"Authorization": f"token {self.tokens[name]}"}


@pytest.fixture
def auth(fake_hub: FakeHub) -> Users:
    tokens = {
        "ann": fake_hub.add_user("ann", groups=["team"]),
        "bob": fake_hub.add_user("bob"),
        "cat": fake_hub.add_user("cat", groups=["team"]),
        "root": fake_hub.add_user("root", admin=True),
    }
    return Users(tokens)


def app_options(display_name: str = "Sales", framework: str = "streamlit", **extra: Any) -> dict[str, Any]:
    return {
        "spec_version": 1,
        "jhub_app": True,
        "framework": framework,
        "display_name": display_name,
        "filepath": "app.py",
        **extra,
    }
