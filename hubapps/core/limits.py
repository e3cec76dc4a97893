"""Per-user limits: how many apps, running apps and public apps one owner may have.

Pure counting and deciding, shared by the launcher service (which answers first, next to the field)
and the spawner mixin (which holds at every start, whatever door the request came through). Both
describe an owner's servers as :class:`ServerFacts` and ask :func:`check_limits` whether one more
app, running app or public app fits.

A limit of 0 means "no limit". Apps are named servers whose options are a hubapps spec; the default
server and plain JupyterLab servers are not apps and count for none of the limits (JupyterHub's own
``named_server_limit_per_user`` counts every named server, see :attr:`UserLimits.named_servers`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from hubapps.core.errors import HubAppsError
from hubapps.core.spec import is_app_options

__all__ = [
    "LIMIT_NAMES",
    "AppCounts",
    "LimitReached",
    "ServerFacts",
    "UserLimits",
    "check_limits",
    "count_servers",
    "facts_of_model",
    "server_facts",
]

#: The admin's names of the limits (``HubApps`` traits, and JupyterHub's own), as messages show them.
APPS_LIMIT = "max_apps_per_user"
RUNNING_LIMIT = "max_running_apps_per_user"
PUBLIC_LIMIT = "max_public_apps_per_user"
NAMED_SERVER_LIMIT = "named_server_limit_per_user"
LIMIT_NAMES = (APPS_LIMIT, RUNNING_LIMIT, PUBLIC_LIMIT, NAMED_SERVER_LIMIT)


class LimitReached(HubAppsError):
    """One more app (running app, public app) would break a per-user limit.

    ``limit`` is the setting's name, ``maximum`` its value, ``current`` how many the owner has now;
    ``field`` is the spec field the refusal concerns (``public``, ``start``), or "" for the app as a whole.
    """

    def __init__(self, limit: str, maximum: int, current: int, field: str, message: str) -> None:
        super().__init__(message)
        self.limit = limit
        self.maximum = maximum
        self.current = current
        self.field = field
        self.message = message


@dataclass(frozen=True)
class UserLimits:
    """The limits of one owner; 0 is "no limit"."""

    apps: int = 0
    running: int = 0
    public: int = 0
    #: JupyterHub's ``named_server_limit_per_user`` (all named servers, apps or not), so the launcher
    #: says "limit reached" before the Hub refuses with a message of its own. 0: none, or not known.
    named_servers: int = 0


@dataclass(frozen=True)
class ServerFacts:
    """What the limits need to know of one named server."""

    name: str
    is_app: bool
    running: bool
    public: bool


@dataclass(frozen=True)
class AppCounts:
    """An owner's named servers, apps, running apps and public apps."""

    named_servers: int = 0
    apps: int = 0
    running: int = 0
    public: int = 0


def facts_of_model(name: str, model: Mapping[str, Any]) -> ServerFacts:
    """Facts of a server from its Hub REST model (``user_options``, ``ready``, ``pending``).

    Starting counts as running (it will be); stopping does not (it will not be).
    """
    options = model.get("user_options") or {}
    return server_facts(name, options, pending=model.get("pending"), ready=bool(model.get("ready")))


def server_facts(name: str, options: object, *, pending: object, ready: bool) -> ServerFacts:
    """Facts of a server from its options and the Hub's ``pending`` and ``ready`` (a Spawner's or a model's).

    JupyterHub is never ``ready`` while something is pending; a server being checked is running.
    """
    is_app = is_app_options(options)
    running = pending in ("spawn", "check") or ready
    public = is_app and isinstance(options, Mapping) and options.get("public") is True
    return ServerFacts(name=name, is_app=is_app, running=is_app and running, public=public)


def count_servers(servers: Iterable[ServerFacts], *, exclude: str | None = None) -> AppCounts:
    """Count named servers (never the default one, ``""``), leaving out the one named ``exclude``."""
    named = apps = running = public = 0
    for server in servers:
        if not server.name or server.name == exclude:
            continue
        named += 1
        if server.is_app:
            apps += 1
            running += server.running
            public += server.public
    return AppCounts(named_servers=named, apps=apps, running=running, public=public)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def check_limits(
    limits: UserLimits, others: AppCounts, *, new_server: bool = False, public: bool = False, running: bool = False
) -> None:
    """Raise :class:`LimitReached` if the app fits no more.

    ``others`` counts the owner's servers other than this app. ``new_server``: the app is being
    created; ``public``: it is (or becomes) public; ``running``: it is being started (or will run).
    """
    # (asked, setting, maximum, current, field, counted as, what it is counted against, what to do)
    checks = (
        (new_server, NAMED_SERVER_LIMIT, limits.named_servers, others.named_servers, "", "named server",
         "per user on this Hub", "delete a server or app first"),
        (new_server, APPS_LIMIT, limits.apps, others.apps, "", "app", "per user", "delete an app first"),
        (public, PUBLIC_LIMIT, limits.public, others.public, "public", "public app", "per user",
         "make another app private first"),
        (running, RUNNING_LIMIT, limits.running, others.running, "start", "running app", "per user",
         "stop an app first"),
    )  # fmt: skip
    for asked, setting, maximum, current, field, noun, scope, advice in checks:
        if asked and maximum > 0 and current >= maximum:
            raise LimitReached(
                setting,
                maximum,
                current,
                field,
                f"limit reached: {_plural(current, noun)} of {maximum} allowed {scope} ({setting}); {advice}",
            )
