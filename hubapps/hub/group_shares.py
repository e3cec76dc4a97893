"""Group shares reach tokens: a member of a group an app is shared with can open it.

JupyterHub's sharing lets a server be shared with a user or with a group. What a request may do is
``jupyterhub.scopes.get_scopes_for``: for a *user* (a cookie-authenticated Hub page) it adds the shares
of the user and of each of the user's groups, but for a *token* (what a server's OAuth login gives the
browser, and what ``jupyterhub-singleuser`` or ``hubapps-proxy`` send to ``/hub/api/user``) it adds only
the owner's direct shares (``owner.shared_with_me``), in JupyterHub 5.x and 6.x alike. So a group member is
let through the Hub's OAuth page (a user check) and then refused by the app's server (a token check), and
a share with a group works for nobody.

:func:`include_group_shares` wraps ``get_scopes_for`` so that a user's token gets the scopes of its
owner's groups' shares on the same terms as the direct ones: only those the token itself asks for (its
own scopes, or the access scope of the OAuth client that issued it), intersected with JupyterHub's own
``_intersect_expanded_scopes``; an ``inherit`` token gets them all, as it gets its owner's. The result of
JupyterHub's function is never narrowed; service tokens and users pass through untouched. Revoking the
share or leaving the group takes effect at the next request, since nothing is cached beyond what
JupyterHub caches itself. ``c.HubApps.group_share_tokens = False`` leaves JupyterHub as it is.

Applied once per process, by :func:`hubapps.install` in the Hub.
"""

from __future__ import annotations

import functools
from typing import Any

__all__ = ["group_share_scopes", "include_group_shares"]

_APPLIED = "_hubapps_includes_group_shares"


def group_share_scopes(token: Any) -> frozenset[str]:
    """The scopes of ``token`` (an ``orm.APIToken``) that its owner holds only through a group's share."""
    import sqlalchemy as sa
    from jupyterhub import scopes

    user = token.user
    if user is None:
        return frozenset()
    shared: set[str] = set()
    for group in user.groups:
        for share in group.shared_with_me:
            shared.update(share.scopes)
    if not shared:
        return frozenset()
    if "inherit" in token.scopes:
        return frozenset(shared)
    wanted = set(scopes.expand_scopes(set(token.scopes), owner=user, oauth_client=token.oauth_client))
    if token.client_id != "jupyterhub":
        wanted.update(scopes.access_scopes(token.oauth_client))
    granted = scopes._intersect_expanded_scopes(
        frozenset(scopes.reduce_scopes(wanted)), frozenset(shared), db=sa.inspect(token).session
    )
    return frozenset(granted)


def include_group_shares() -> None:
    """Wrap ``jupyterhub.scopes.get_scopes_for`` (idempotent); see the module's docstring."""
    from jupyterhub import orm, scopes

    original = scopes.get_scopes_for
    if getattr(original, _APPLIED, False):
        return

    @functools.wraps(original)
    def get_scopes_for(orm_object: Any) -> Any:
        found = original(orm_object)
        if isinstance(orm_object, orm.APIToken) and orm_object.user is not None:
            extra = group_share_scopes(orm_object)
            if not extra <= found:
                return found | extra
        return found

    setattr(get_scopes_for, _APPLIED, True)
    scopes.get_scopes_for = get_scopes_for
