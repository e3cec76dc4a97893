"""An async client for the JupyterHub REST API, acting with the caller's own token.

Rules it keeps, because the upstream launcher broke each of them:

- every call has a timeout, and a Hub that is slow or down becomes :class:`HubUnavailable` (503);
- every listing is paginated (JupyterHub's ``application/jupyterhub-pagination+json``);
- one user's servers come from **one** call (``GET /user`` or ``GET /users/{name}`` with
  ``include_stopped_servers``), never from a listing of every user;
- a token's user model and the list of apps shared with a user are cached for a few seconds
  (:attr:`ServiceSettings.user_cache_ttl`, :attr:`ServiceSettings.shared_cache_ttl`), and dropped
  when the service itself changes that user's servers; concurrent misses of one entry share one
  Hub call (a page that fires several API calls at once costs the Hub one lookup, not several);
- past its TTL, a cached answer still serves *reads* for :attr:`ServiceSettings.cache_stale_ttl`
  seconds while it is refreshed in the background, at most :attr:`ServiceSettings.hub_refresh_rate`
  refreshes a second (:mod:`hubapps.service.refresh`): no listing waits for the Hub for an answer
  it had moments ago, and the refreshes do not grow with the number of users listing. A *write*
  never trusts the cache: it asks with ``fresh=True`` (the identity of every request other than
  GET/HEAD, and the shares such a request relies on, are read from the Hub afresh);
- the connection pool keeps only a few idle connections (httpcore checks each idle connection on
  every call), and no cookie from a Hub answer is kept: one client serves every user;
- every call is counted in the current request's call counter (:mod:`hubapps.service.hub_calls`),
  which the app returns as the ``X-Hubapps-Hub-Calls`` response header (tests and the benchmark read it).

The Hub's refusals are mapped onto :mod:`hubapps.service.errors` by :mod:`hubapps.service.hub_answers`
(403 and 404 both become :class:`NotFound`, so a caller cannot tell "not yours" from "does not exist").
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any, TypeVar, cast
from urllib.parse import quote, urlsplit

import httpx

from hubapps.service.errors import Conflict, HubUnavailable, safe_log
from hubapps.service.hub_answers import raise_for, raise_start
from hubapps.service.hub_calls import count_one_call
from hubapps.service.hub_models import ShareModel, UserModel
from hubapps.service.hub_shares import HubShares
from hubapps.service.metrics import count_start, observe_hub_call, status_class
from hubapps.service.refresh import BackgroundRefresh
from hubapps.service.ttl_cache import TTLCache

__all__ = ["HUB_PAGE_SIZE", "HubClient"]

log = logging.getLogger("hubapps.service.hub_client")

V = TypeVar("V")

PAGINATION_ACCEPT = "application/jupyterhub-pagination+json"
#: Page size asked of the Hub (its default ``api_page_max_limit``; the Hub caps larger requests).
HUB_PAGE_SIZE = 200


def _q(name: str) -> str:
    return quote(name, safe="")


def _token_key(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def _parse_version(text: str) -> tuple[int, ...]:
    parts: list[int] = []
    for piece in text.split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


class HubClient(HubShares):
    """The Hub REST API, called with the token of whoever the service is acting for."""

    def __init__(
        self,
        api_url: str,
        *,
        timeout: float,
        user_cache_ttl: float = 2.0,
        shared_cache_ttl: float = 5.0,
        stale_ttl: float = 0.0,
        refresh_rate: float = 10.0,
        max_entries: int = 10_000,
        max_connections: int = 100,
        idle_connections: int = 8,
        transport: httpx.AsyncBaseTransport | None = None,
        user_agent: str = "hubapps-service",
        verify: ssl.SSLContext | bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            transport=transport,
            verify=verify,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=idle_connections),
            headers={"User-Agent": user_agent},
            # One client acts for every user: never keep (and replay) a cookie from a Hub answer.
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
            follow_redirects=False,
        )
        self._whoami: TTLCache[str, UserModel] = TTLCache(
            user_cache_ttl, max_entries, clock, stale=stale_ttl, on_drop=self._drop_derived
        )
        self._shared: TTLCache[str, list[ShareModel]] = TTLCache(shared_cache_ttl, max_entries, clock, stale=stale_ttl)
        self._refresh = BackgroundRefresh(refresh_rate, max_entries)
        self._inflight: dict[tuple[str, ...], asyncio.Future[Any]] = {}
        self._derived: TTLCache[int, tuple[object, dict[Hashable, Any]]] = TTLCache(
            user_cache_ttl + stale_ttl, max_entries, clock
        )
        self._changes: dict[str, int] = {}
        #: Moves whenever the service changes servers or shares: an answer the Hub gave before the
        #: change (a fetch that was under way meanwhile) is not cached.
        self._epoch = 0
        self.version: tuple[int, ...] | None = None

    async def aclose(self) -> None:
        await self._refresh.aclose()
        await self._http.aclose()

    async def _once(self, key: tuple[str, ...], fetch: Callable[[], Awaitable[V]]) -> V:
        """Run ``fetch`` once for concurrent callers with the same ``key``; all get its result.

        The call runs as a task of its own, so one caller going away (a closed connection) does not
        cancel it for the others. Its Hub calls are counted in the request that started it.
        """
        running = self._inflight.get(key)
        if running is None:
            running = asyncio.ensure_future(fetch())
            self._inflight[key] = running

            def finished(future: asyncio.Future[Any]) -> None:
                self._inflight.pop(key, None)
                if not future.cancelled():
                    future.exception()  # retrieved here too, in case every caller went away

            running.add_done_callback(finished)
        result: V = await asyncio.shield(running)
        return result

    # -- transport ---------------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        token: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        url: str | None = None,
    ) -> httpx.Response:
        """One call to the Hub (counted); transport failures and timeouts raise :class:`HubUnavailable`."""
        count_one_call()
        all_headers = {"Authorization": f"token {token}", **(headers or {})}
        target = url or f"{self.api_url}/{path.lstrip('/')}"
        began = time.perf_counter()
        try:
            # httpx times each phase (connect, read, ...); the deadline bounds the whole call.
            async with asyncio.timeout(self.timeout):
                response = await self._http.request(method, target, json=json, params=params, headers=all_headers)
        except (httpx.TimeoutException, TimeoutError):
            observe_hub_call(method, url or path, "error", time.perf_counter() - began)
            log.warning("Hub API %s %s timed out after %g s", method, safe_log(path), self.timeout)
            raise HubUnavailable() from None
        except httpx.HTTPError as exc:
            observe_hub_call(method, url or path, "error", time.perf_counter() - began)
            log.warning("Hub API %s %s failed: %s", method, safe_log(path), type(exc).__name__)
            raise HubUnavailable() from None
        observe_hub_call(method, url or path, status_class(response.status_code), time.perf_counter() - began)
        version = response.headers.get("X-JupyterHub-Version")
        if version and self.version is None:
            self.version = _parse_version(version)
        if response.status_code >= 500 and response.status_code != 501:
            log.warning(
                "Hub API %s %s answered %s: %s", method, safe_log(path), response.status_code, safe_log(response.text)
            )
        return response

    async def paginate(self, path: str, token: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every item of a paginated Hub listing (one call per page of :data:`HUB_PAGE_SIZE`)."""
        items: list[dict[str, Any]] = []
        offset = 0
        while True:
            query = {**(params or {}), "offset": offset, "limit": HUB_PAGE_SIZE}
            response = await self.request("GET", path, token, params=query, headers={"Accept": PAGINATION_ACCEPT})
            raise_for(response, "list")
            body = response.json()
            if isinstance(body, list):  # a Hub that ignores the pagination header
                items.extend(body)
                return items
            page = body.get("items", [])
            items.extend(page)
            following = (body.get("_pagination") or {}).get("next")
            if not following or not page:
                return items
            offset = int(following.get("offset", offset + len(page)))

    async def hub_version(self, token: str) -> tuple[int, ...]:
        """The Hub's version, from a header seen earlier or from ``GET /`` (one call, then remembered)."""
        if self.version is None:
            response = await self.request("GET", "/", token)
            if self.version is None:
                body = response.json() if response.status_code == 200 else {}
                self.version = _parse_version(str(body.get("version", "5")))
        return self.version

    # -- users -------------------------------------------------------------------------------------

    async def whoami(self, token: str, *, fresh: bool = False) -> UserModel | None:
        """The token owner's model (scopes and servers, stopped ones included), or None if the token is bad.

        Cached (a stale answer refreshed in the background) unless ``fresh``: what authorizes a write
        is asked afresh.
        """
        key = _token_key(token)
        if fresh:
            return await self._fetch_whoami(key, token)
        hit = self._whoami.get_stale(key)
        if hit is not None:
            model, is_fresh = hit
            if not is_fresh:
                self._refresh.schedule(("whoami", key), lambda: self._refresh_whoami(key, token))
            return model
        return await self._once(("whoami", key), lambda: self._fetch_whoami(key, token))

    @property
    def refreshing(self) -> bool:
        """Whether background refreshes are queued or under way."""
        return self._refresh.busy

    async def _refresh_whoami(self, key: str, token: str) -> None:
        if self._whoami.get(key) is None:  # not refreshed by a reader meanwhile
            await self._once(("whoami", key), lambda: self._fetch_whoami(key, token))

    async def _fetch_whoami(self, key: str, token: str) -> UserModel | None:
        epoch = self._epoch
        response = await self.request("GET", "user", token, params={"include_stopped_servers": "1"})
        if response.status_code in (401, 403, 404):
            self._whoami.pop(key)  # revoked or expired: a cached model must not outlive it
            return None
        raise_for(response, "identify the user")
        model = response.json()
        if not isinstance(model, dict) or model.get("kind", "user") != "user" or not model.get("name"):
            self._whoami.pop(key)
            return None
        user = cast(UserModel, model)
        if epoch == self._epoch:
            self._whoami.set(key, user)
        return user

    async def token_scopes(self, token: str) -> set[str]:
        """The scopes the Hub grants ``token``, a user's or a service's (empty if the token is bad).
        Not cached: a scrape asks once in a while (and a revoked token stops working at once)."""
        response = await self.request("GET", "user", token)
        if response.status_code in (401, 403, 404):
            return set()
        raise_for(response, "identify the token")
        model = response.json()
        scopes = model.get("scopes") if isinstance(model, dict) else None
        return {str(scope) for scope in scopes} if isinstance(scopes, list) else set()

    async def user(self, name: str, token: str) -> UserModel | None:
        """Another user's model with servers, if ``token`` may read it (admins, say); else None."""
        response = await self.request("GET", f"users/{_q(name)}", token, params={"include_stopped_servers": "1"})
        if response.status_code in (401, 403, 404):
            return None
        raise_for(response, "read the user")
        model = response.json()
        return cast(UserModel, model) if isinstance(model, dict) else None

    async def group_members(self, name: str, token: str) -> list[str]:
        """The user names in group ``name``, if ``token`` may read the group (``read:groups``); else none."""
        response = await self.request("GET", f"groups/{_q(name)}", token)
        if response.status_code in (401, 403, 404):
            return []
        raise_for(response, "read the group")
        model = response.json()
        users = model.get("users") if isinstance(model, dict) else None
        return [str(u) for u in users if isinstance(u, str)] if isinstance(users, list) else []

    def derived(self, model: object, key: Hashable, compute: Callable[[], V]) -> V:
        """``compute()``, remembered with a user model from :meth:`whoami` for as long as it is cached.

        Cached models are replaced, never changed in place, so the model's identity tells whether a
        remembered value still holds (the model is kept with it, so its id cannot be reused). A model
        leaving the cache (refreshed, revoked, forgotten) takes its values along (``docs/benchmarks.md``).
        """
        hit = self._derived.get(id(model))
        if hit is None or hit[0] is not model:
            self._derived.set(id(model), hit := (model, {}))
        if key not in hit[1]:
            hit[1][key] = compute()
        return cast(V, hit[1][key])

    def _drop_derived(self, _key: str, model: UserModel) -> None:
        if (hit := self._derived.peek(id(model))) is not None and hit[0] is model:
            self._derived.pop(id(model))

    def forget_user(self, name: str) -> None:
        """Drop cached models of ``name`` after the service changed their servers or shares."""
        self._whoami.discard_where(lambda _k, model: model.get("name") == name)
        self._shared.pop(name)
        self._changes[name] = self._changes.get(name, 0) + 1
        self._epoch += 1

    def changes_of(self, name: str) -> int:
        """How many times this worker changed ``name``'s servers or shares: a model read before the
        count moved (the caller's identity, read as the request began) no longer says what the Hub has."""
        return self._changes.get(name, 0)

    async def shared_with(self, name: str, token: str, *, fresh: bool = False) -> list[ShareModel]:
        """Shares granted to user ``name`` (directly or through groups), cached briefly (a stale list
        refreshed in the background) unless ``fresh``: a share that authorizes a write is asked afresh."""
        if fresh:
            return await self._fetch_shared(name, token)
        hit = self._shared.get_stale(name)
        if hit is not None:
            shares, is_fresh = hit
            if not is_fresh:
                self._refresh.schedule(("shared", name), lambda: self._refresh_shared(name, token))
            return shares
        return await self._once(("shared", name, _token_key(token)), lambda: self._fetch_shared(name, token))

    async def _refresh_shared(self, name: str, token: str) -> None:
        if self._shared.get(name) is None:
            await self._once(("shared", name, _token_key(token)), lambda: self._fetch_shared(name, token))

    async def _fetch_shared(self, name: str, token: str) -> list[ShareModel]:
        epoch = self._epoch
        shares = cast(list[ShareModel], await self.paginate(f"users/{_q(name)}/shared", token))
        if epoch == self._epoch:
            self._shared.set(name, shares)
        return shares

    def _forget_shares(self, name: str | None = None) -> None:
        """Drop the cached shares of ``name`` (of everyone without it) after the service changed some."""
        if name is None:
            self._shared.clear()
        else:
            self._shared.pop(name)
        self._epoch += 1

    # -- servers -----------------------------------------------------------------------------------

    async def create_server(
        self,
        owner: str,
        server: str,
        token: str,
        *,
        user_options: dict[str, Any],
        display_name: str,
        start: bool,
        framework: str = "",
    ) -> bool:
        """Create a named server holding ``user_options``; start it if ``start``.

        On JupyterHub 6, ``PUT`` creates it stopped (and a ``POST`` starts it); JupyterHub 5 has no
        ``PUT``, so the server is created by starting it. Returns whether it was started. ``framework``
        labels the start in the service's metrics.
        """
        path = f"users/{_q(owner)}/servers/{_q(server)}"
        version = await self.hub_version(token)
        if version >= (6,):
            response = await self.request(
                "PUT", path, token, json={"user_options": user_options, "display_name": display_name}
            )
            raise_for(response, "create the app")
            self.forget_user(owner)
            if start:
                await self.start_server(owner, server, token, user_options=user_options, framework=framework)
            return start
        # JupyterHub 5: a POST body is the user_options themselves (no display_name support).
        response = await self.request("POST", path, token, json=user_options)
        self._count_start(framework, response)
        raise_start(response, "create the app")
        self.forget_user(owner)
        return True

    async def edits_stopped_servers(self, token: str) -> bool:
        """Whether a stopped server's options change without a start (6: ``PATCH``; 5 stores them at a spawn)."""
        return await self.hub_version(token) >= (6,)

    async def update_server(
        self, owner: str, server: str, token: str, *, user_options: dict[str, Any], display_name: str
    ) -> None:
        """Change a stopped server's spec without starting it (JupyterHub 6 ``PATCH``)."""
        if not await self.edits_stopped_servers(token):
            raise Conflict("JupyterHub 5 stores an app's settings only when it starts the app: edit it to start it")
        response = await self.request(
            "PATCH",
            f"users/{_q(owner)}/servers/{_q(server)}",
            token,
            json={"user_options": user_options, "display_name": display_name},
        )
        raise_for(response, "update the app")
        self.forget_user(owner)

    @staticmethod
    def _count_start(framework: str, response: httpx.Response) -> None:
        count_start(framework, response.status_code if response.status_code in (201, 202) else None)

    async def start_server(
        self,
        owner: str,
        server: str,
        token: str,
        *,
        user_options: dict[str, Any] | None = None,
        framework: str = "",
    ) -> int:
        """Start a server (with its stored options, or new ones); returns the Hub's 201 or 202.
        ``framework`` labels the start in the service's metrics (``unknown`` without it)."""
        body: dict[str, Any] = {"user_options": user_options} if user_options is not None else {}
        version = await self.hub_version(token)
        if version < (6,):
            body = user_options or {}  # (a body of {} would be new, empty options there: none is sent)
        self.forget_user(owner)  # before too: on JupyterHub 5 a new spec is the Hub's as the start begins
        response = await self.request("POST", f"users/{_q(owner)}/servers/{_q(server)}", token, json=body or None)
        self._count_start(framework, response)
        raise_start(response, "start the app")
        self.forget_user(owner)
        return response.status_code

    async def stop_server(self, owner: str, server: str, token: str, *, remove: bool = False) -> int:
        """Stop (and with ``remove`` delete) a server; returns 202 (stopping) or 204 (done)."""
        # Before too: the caller may hear "stopping" before the Hub has finished, and then ask again.
        self.forget_user(owner)
        response = await self.request(
            "DELETE", f"users/{_q(owner)}/servers/{_q(server)}", token, json={"remove": True} if remove else None
        )
        self.forget_user(owner)
        raise_for(response, "delete the app" if remove else "stop the app")
        return response.status_code

    # -- OAuth -------------------------------------------------------------------------------------

    async def token_for_code(
        self, code: str, *, client_id: str, client_secret: str, redirect_uri: str, code_verifier: str
    ) -> str | None:
        """Finish an OAuth login: exchange the code for the user's token (None if the Hub refuses)."""
        count_one_call()
        data = {
            "client_id": client_id,
            "client_secret": client_secret,
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier,
        }
        began = time.perf_counter()
        try:
            response = await self._http.post(f"{self.api_url}/oauth2/token", data=data)
        except httpx.HTTPError:
            observe_hub_call("POST", "oauth2/token", "error", time.perf_counter() - began)
            raise HubUnavailable() from None
        observe_hub_call("POST", "oauth2/token", status_class(response.status_code), time.perf_counter() - began)
        if response.status_code >= 500:
            raise HubUnavailable()
        if response.status_code != 200:
            log.warning("OAuth code exchange refused: %s", response.status_code)
            return None
        token = response.json().get("access_token")
        return token if isinstance(token, str) and token else None

    async def progress_events(self, progress_url: str, token: str, *, seconds: float) -> AsyncIterator[dict[str, Any]]:
        """Events of the Hub's progress stream (``progress_url`` is a path) read for at most ``seconds``."""
        count_one_call()
        parts = urlsplit(self.api_url)
        url = f"{parts.scheme}://{parts.netloc}{progress_url}" if progress_url.startswith("/") else progress_url
        headers = {"Authorization": f"token {token}", "Accept": "text/event-stream"}
        try:
            async with asyncio.timeout(seconds), self._http.stream("GET", url, headers=headers) as response:
                observe_hub_call("GET", progress_url, status_class(response.status_code), None)
                if response.status_code != 200:
                    return
                async for line in response.aiter_lines():
                    if not line.startswith("data:"):
                        continue
                    try:
                        event = json.loads(line[5:])
                    except ValueError:
                        continue
                    if isinstance(event, dict):
                        yield event
        except (TimeoutError, httpx.HTTPError):
            return
