"""A small synchronous client of the launcher service's REST API (``/services/<name>/api/``).

It is what ``hubapps deploy|list|start|...`` use, and what a script can use directly::

    with LauncherClient("https://hub.example.org", token) as launcher:
        app = launcher.create_app({"framework": "streamlit", "display_name": "Demo", "filepath": "app.py"})
        launcher.stop_app(app["owner"], app["name"])

It talks to the service only (never to the Hub API), authenticated with ``Authorization: token``.
Bodies are plain JSON dicts shaped like the service's wire models (``AppCreate``, ``AppPublic``, ...,
see ``docs/api.md``); this module deliberately imports nothing from :mod:`hubapps.service`, so the
command stays light. Every failure is a :class:`LauncherError` whose message is safe to print: it
comes from the service's error body (``detail`` and ``field``), or is written here; it never holds the
token.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import TracebackType
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from hubapps.core.errors import HubAppsError

__all__ = ["DEFAULT_SERVICE", "DEFAULT_TIMEOUT", "JSONDict", "LauncherClient", "LauncherError", "launcher_api_url"]

#: Name of the launcher service on the Hub (``/services/<name>/``).
DEFAULT_SERVICE = "japps"
#: Seconds for each request (connect, read, write); the service answers slow Hub calls with 503 well before.
DEFAULT_TIMEOUT = 30.0

JSONDict = dict[str, Any]


class LauncherError(HubAppsError):
    """A request to the launcher failed.

    ``status`` is the HTTP status (``None`` when no answer came), ``field`` the offending field when the
    service named one, ``code`` the service's machine-readable code. ``str()`` is safe to show.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        field: str | None = None,
        code: str | None = None,
        existing: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.field = field
        self.code = code
        #: ``<owner>/<server>`` of the app of the same name (``code == "app_exists"``).
        self.existing = existing

    def __str__(self) -> str:
        text = f"{self.field}: {self.message}" if self.field else self.message
        return f"{text} (HTTP {self.status})" if self.status else text

    @classmethod
    def from_response(cls, response: httpx.Response) -> LauncherError:
        """The service's own error message (``{"detail", "field", "code"}``), or a generic one."""
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        existing = None
        if isinstance(body, dict) and isinstance(body.get("detail"), str):
            field = body.get("field") if isinstance(body.get("field"), str) else None
            code = body.get("code") if isinstance(body.get("code"), str) else None
            existing = body.get("existing") if isinstance(body.get("existing"), str) else None
            message = body["detail"]
        else:
            # Not the service speaking (the Hub's proxy, say): its text is not ours to repeat.
            field, code = None, None
            message = response.reason_phrase or "unexpected answer"
            if status == 404:
                message = "not found (is the launcher service running, and is --service right?)"
        retry = response.headers.get("retry-after")
        if retry and retry.isdigit():
            message += f"; retry after {retry} s"
        return cls(message, status=status, field=field, code=code, existing=existing)


def _app_path(owner: str, server: str) -> str:
    return f"apps/{quote(owner, safe='')}/{quote(server, safe='')}"


def launcher_api_url(url: str, service: str = DEFAULT_SERVICE) -> str:
    """The launcher's API root from the Hub's URL, or from the launcher's own (``…/services/<name>/``)."""
    mount = f"/services/{quote(service, safe='')}/"
    head, found, _ = (url.rstrip("/") + "/").partition(mount)
    if found:
        return head + mount + "api/"
    return f"{url.rstrip('/')}{mount}api/"


class LauncherClient:
    """The launcher's REST API over one ``httpx.Client``; close it (or use ``with``) when done.

    ``url`` is the Hub's public URL (``http://127.0.0.1:8000``), ``service`` the launcher's service
    name; or the launcher's own URL (``https://japps--service.hub.example.org/services/japps/``, which
    is where it is under JupyterHub's ``subdomain_host``: the Hub's host does not serve it then).
    ``transport`` replaces the network (tests pass an ``httpx.MockTransport``).
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        service: str = DEFAULT_SERVICE,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not token:
            raise LauncherError("no token: pass --token or set JUPYTERHUB_API_TOKEN")
        base = launcher_api_url(url, service)
        self.base_url = base
        self._http = httpx.Client(
            base_url=base,
            headers={"Authorization": f"token {token}", "Accept": "application/json"},
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
        )
        self._me: str | None = None

    @property
    def origin(self) -> str:
        """``scheme://host[:port]`` of the URL the launcher is reached at (to complete a Hub path)."""
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"

    def __repr__(self) -> str:
        return f"<LauncherClient {self.base_url}>"  # never the token

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> LauncherClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- transport --------------------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise LauncherError(f"the launcher at {self.base_url} did not answer in time") from None
        except httpx.TransportError as exc:
            raise LauncherError(f"cannot reach the launcher at {self.base_url}: {type(exc).__name__}") from None
        if response.is_redirect:
            # The API answers JSON; a redirect means a login page or a wrong URL, not the service.
            raise LauncherError(
                f"{method} {path} was redirected: is {self.base_url} the launcher's API?", status=response.status_code
            )
        if response.is_error:
            raise LauncherError.from_response(response)
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._request(method, path, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise LauncherError(f"{method} {path}: the answer is not JSON", status=response.status_code) from None

    # -- who and what -----------------------------------------------------------------------------

    def user(self) -> JSONDict:
        """``GET /api/user``: the caller's name, groups and whether they may share."""
        body: JSONDict = self._json("GET", "user")
        return body

    def username(self) -> str:
        """The caller's name (asked once per client)."""
        if self._me is None:
            self._me = str(self.user()["name"])
        return self._me

    def resolve(self, app: str) -> tuple[str, str]:
        """``owner/server`` → ``(owner, server)``; a bare ``server`` is one of the caller's own apps."""
        owner, sep, server = app.partition("/")
        if not sep:
            owner, server = self.username(), app
        if not owner or not server or "/" in server:
            raise LauncherError(f"name apps as OWNER/SERVER or SERVER, not {app!r}")
        return owner, server

    def frameworks(self) -> list[JSONDict]:
        body: list[JSONDict] = self._json("GET", "frameworks")
        return body

    # -- apps -------------------------------------------------------------------------------------

    def list_apps(
        self,
        *,
        access: list[str] | None = None,
        framework: str | None = None,
        state: str | None = None,
        search: str | None = None,
        sort: str | None = None,
    ) -> JSONDict:
        """``GET /api/apps`` → ``{"data": [app, ...], "count", "offset", "limit"}``."""
        params: list[tuple[str, str]] = [("access", a) for a in access or []]
        for name, value in (("framework", framework), ("state", state), ("q", search), ("sort", sort)):
            if value:
                params.append((name, value))
        body: JSONDict = self._json("GET", "apps", params=params)
        return body

    def get_app(self, owner: str, server: str) -> JSONDict:
        body: JSONDict = self._json("GET", _app_path(owner, server))
        return body

    def create_app(self, spec: JSONDict) -> JSONDict:
        """``POST /api/apps`` with an ``AppCreate`` body (``"start": true`` starts it) → the new app.

        An app of the same name raises :class:`LauncherError` (``code == "app_exists"``, ``existing``
        naming it) unless ``spec["on_conflict"]`` is ``"update"`` (that app is changed: the answer is
        the app, or ``{"id", "state", "done"}`` while it restarts) or ``"new"``.
        """
        return self.deploy_app(spec)[0]

    def deploy_app(self, spec: JSONDict) -> tuple[JSONDict, bool]:
        """:meth:`create_app`, and whether an app was created (not an existing one updated)."""
        response = self._request("POST", "apps", json=spec)
        try:
            body: JSONDict = response.json()
        except ValueError:
            raise LauncherError("POST apps: the answer is not JSON", status=response.status_code) from None
        return body, response.status_code == 201

    def update_app(self, owner: str, server: str, changes: JSONDict) -> JSONDict:
        body: JSONDict = self._json("PATCH", _app_path(owner, server), json=changes)
        return body

    def delete_app(self, owner: str, server: str) -> JSONDict:
        """Stop and delete; ``{"state": "stopped", "done": True}`` when finished at once."""
        response = self._request("DELETE", _app_path(owner, server))
        if response.status_code == 204:
            return {"id": f"{owner}/{server}", "state": "stopped", "done": True}
        body: JSONDict = response.json()
        return body

    def start_app(self, owner: str, server: str) -> JSONDict:
        """``{"id", "state", "done"}``: poll :meth:`status` until ``running`` when not done."""
        body: JSONDict = self._json("POST", _app_path(owner, server) + "/start")
        return body

    def stop_app(self, owner: str, server: str) -> JSONDict:
        body: JSONDict = self._json("POST", _app_path(owner, server) + "/stop")
        return body

    def restart_app(self, owner: str, server: str) -> JSONDict:
        body: JSONDict = self._json("POST", _app_path(owner, server) + "/restart")
        return body

    def status(self, owner: str, server: str) -> JSONDict:
        body: JSONDict = self._json("GET", _app_path(owner, server) + "/status")
        return body

    def logs(self, owner: str, server: str, *, lines: int | None = None) -> JSONDict:
        params = {"lines": str(lines)} if lines else None
        body: JSONDict = self._json("GET", _app_path(owner, server) + "/logs", params=params)
        return body

    # -- sharing ----------------------------------------------------------------------------------

    def shares(self, owner: str, server: str) -> JSONDict:
        body: JSONDict = self._json("GET", _app_path(owner, server) + "/shares")
        return body

    def share(self, owner: str, server: str, *, users: list[str], groups: list[str]) -> JSONDict:
        """Share with users and groups → who has access now."""
        body: JSONDict = self._json(
            "POST", _app_path(owner, server) + "/shares", json={"users": users, "groups": groups}
        )
        return body

    def unshare(self, owner: str, server: str, *, users: list[str], groups: list[str]) -> None:
        """Revoke these users' and groups' shares."""
        path = _app_path(owner, server) + "/shares"
        for user in users:
            self._request("DELETE", f"{path}/users/{quote(user, safe='')}")
        for group in groups:
            self._request("DELETE", f"{path}/groups/{quote(group, safe='')}")

    def unshare_all(self, owner: str, server: str) -> None:
        """Revoke every share of the app."""
        self._request("DELETE", _app_path(owner, server) + "/shares")

    def share_links(self, owner: str, server: str) -> list[JSONDict]:
        """``GET .../share-links``: the app's share links (their URLs are shown only when made)."""
        body: list[JSONDict] = self._json("GET", _app_path(owner, server) + "/share-links")
        return body

    def create_share_link(self, owner: str, server: str, *, expires_in: int) -> JSONDict:
        """A new share link (``accept_url``: anyone logged in to the Hub who opens it gets access)."""
        body: JSONDict = self._json("POST", _app_path(owner, server) + "/share-links", json={"expires_in": expires_in})
        return body

    def revoke_share_links(self, owner: str, server: str, *, link_id: str | None = None) -> None:
        """Revoke one share link (``link_id``), or every link of the app."""
        params = {"id": link_id} if link_id else None
        self._request("DELETE", _app_path(owner, server) + "/share-links", params=params)

    def set_public(self, owner: str, server: str, public: bool) -> JSONDict:
        body: JSONDict = self._json("PUT", _app_path(owner, server) + "/public", json={"public": public})
        return body

    # -- revisions --------------------------------------------------------------------------------

    def revisions(self, owner: str, server: str) -> JSONDict:
        """``GET .../revisions`` → ``{"id", "keep", "data": [revision, ...]}``, newest first."""
        body: JSONDict = self._json("GET", _app_path(owner, server) + "/revisions")
        return body

    def compare_revisions(self, owner: str, server: str, first: int, second: int) -> JSONDict:
        """``GET .../revisions/compare?from=&to=`` → ``{"changes": [{"field", "change", "before", "after"}]}``."""
        params = {"from": str(first), "to": str(second)}
        body: JSONDict = self._json("GET", _app_path(owner, server) + "/revisions/compare", params=params)
        return body

    def rollback(self, owner: str, server: str, number: int, *, restart: bool = False) -> JSONDict:
        """Make revision ``number``'s spec the app's again (a new revision) → the app, or
        ``{"id", "state", "done"}`` while a running app restarts (which needs ``restart``)."""
        path = f"{_app_path(owner, server)}/revisions/{int(number)}/rollback"
        body: JSONDict = self._json("POST", path, json={"restart": restart})
        return body

    # -- events (the audit record) ----------------------------------------------------------------

    def events(self, **filters: Any) -> JSONDict:
        """``GET /api/events`` → ``{"data": [event, ...], "limit", "next_before"}``, newest first.

        ``filters``: ``owner``, ``server``, ``actor``, ``kind`` (a list), ``since`` (ISO 8601),
        ``before`` (an event id), ``limit``; those that are None or empty are left out.
        """
        body: JSONDict = self._json("GET", "events", params=_params(filters))
        return body

    def export_events(self, **filters: Any) -> Iterator[str]:
        """``GET /api/events.jsonl``: the matching events as JSON lines, streamed (text as it comes)."""
        try:
            with self._http.stream("GET", "events.jsonl", params=_params(filters)) as response:
                if response.is_redirect:
                    raise LauncherError("GET events.jsonl was redirected: is the URL the launcher's API?")
                if response.is_error:
                    response.read()
                    raise LauncherError.from_response(response)
                yield from response.iter_text()
        except httpx.TimeoutException:
            raise LauncherError(f"the launcher at {self.base_url} did not answer in time") from None
        except httpx.TransportError as exc:
            raise LauncherError(f"cannot reach the launcher at {self.base_url}: {type(exc).__name__}") from None

    def delete_user_events(self, user: str) -> JSONDict:
        """``DELETE /api/events?user=`` (Hub admins) → ``{"user", "deleted"}``."""
        body: JSONDict = self._json("DELETE", "events", params={"user": user})
        return body


def _params(filters: dict[str, Any]) -> httpx.QueryParams:
    """Query parameters from keyword filters: lists repeat their name, None and empty are left out."""
    params: list[tuple[str, str | int | float | bool | None]] = []
    for name, value in filters.items():
        for one in value if isinstance(value, list | tuple) else [value]:
            if one is not None and one != "":
                params.append((name, str(one)))
    return httpx.QueryParams(params)
