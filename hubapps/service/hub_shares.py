"""The Hub's sharing API (shares and share codes), a part of :class:`~hubapps.service.hub_client.HubClient`.

Kept apart for size only: the calls go through the client's :meth:`request` and :meth:`paginate`, and a
change drops the client's cached shares (:meth:`_forget_shares`), which the client provides.
"""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import quote

import httpx

from hubapps.service.errors import BadRequest, Forbidden
from hubapps.service.hub_answers import raise_for
from hubapps.service.hub_models import ShareModel

__all__ = ["HubShares"]


def _q(name: str) -> str:
    return quote(name, safe="")


class HubShares:
    """Shares of a server, shares granted to a user, and share codes."""

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
        raise NotImplementedError

    async def paginate(self, path: str, token: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        raise NotImplementedError

    def _forget_shares(self, name: str | None = None) -> None:
        raise NotImplementedError

    async def shares(self, owner: str, server: str, token: str) -> list[ShareModel]:
        return cast(list[ShareModel], await self.paginate(f"shares/{_q(owner)}/{_q(server)}", token))

    async def share(
        self, owner: str, server: str, token: str, *, user: str | None = None, group: str | None = None
    ) -> dict[str, Any]:
        body = {"user": user} if user is not None else {"group": group}
        response = await self.request("POST", f"shares/{_q(owner)}/{_q(server)}", token, json=body)
        if response.status_code == 400:
            # "No such user/group": say which target, in our words.
            raise BadRequest(
                f"no such {'user' if user is not None else 'group'}", field="users" if user is not None else "groups"
            )
        if response.status_code == 403:
            # The caller could read the app (checked before), so this is about their sharing rights.
            raise Forbidden(
                "your Hub role does not let you share with this "
                + (
                    "user (needs shares and read:users:name)"
                    if user is not None
                    else "group (needs shares and read:groups:name)"
                )
            )
        raise_for(response, "share the app")
        self._forget_shares()
        result = response.json()
        return result if isinstance(result, dict) else {}

    async def revoke(
        self, owner: str, server: str, token: str, *, user: str | None = None, group: str | None = None
    ) -> None:
        body = {"user": user} if user is not None else {"group": group}
        response = await self.request("PATCH", f"shares/{_q(owner)}/{_q(server)}", token, json=body)
        raise_for(response, "revoke the share")
        self._forget_shares()

    async def revoke_all(self, owner: str, server: str, token: str) -> None:
        response = await self.request("DELETE", f"shares/{_q(owner)}/{_q(server)}", token)
        raise_for(response, "revoke the shares")
        self._forget_shares()

    async def leave_share(self, me: str, owner: str, server: str, token: str) -> None:
        response = await self.request("DELETE", f"users/{_q(me)}/shared/{_q(owner)}/{_q(server)}", token)
        raise_for(response, "leave the share")
        self._forget_shares(me)

    async def share_codes(self, owner: str, server: str, token: str) -> list[dict[str, Any]]:
        return await self.paginate(f"share-codes/{_q(owner)}/{_q(server)}", token)

    async def create_share_code(self, owner: str, server: str, token: str, *, expires_in: int) -> dict[str, Any]:
        response = await self.request(
            "POST", f"share-codes/{_q(owner)}/{_q(server)}", token, json={"expires_in": expires_in}
        )
        raise_for(response, "create a share link")
        result = response.json()
        return result if isinstance(result, dict) else {}

    async def delete_share_codes(self, owner: str, server: str, token: str, *, code_id: str | None = None) -> None:
        params = {"id": code_id} if code_id else None
        response = await self.request("DELETE", f"share-codes/{_q(owner)}/{_q(server)}", token, params=params)
        raise_for(response, "delete share links")
