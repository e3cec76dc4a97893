"""Per-user limits: what counts (apps, running apps, public apps) and when one more is refused."""

from __future__ import annotations

from typing import Any

import pytest

from hubapps.core.limits import (
    APPS_LIMIT,
    NAMED_SERVER_LIMIT,
    PUBLIC_LIMIT,
    RUNNING_LIMIT,
    AppCounts,
    LimitReached,
    ServerFacts,
    UserLimits,
    check_limits,
    count_servers,
    facts_of_model,
)
from hubapps.hub.config import HubApps


def _app(public: bool = False) -> dict[str, Any]:
    return {"spec_version": 2, "jhub_app": True, "framework": "panel", "display_name": "x", "public": public}


def _model(options: Any, *, ready: bool = False, pending: str | None = None) -> dict[str, Any]:
    return {"user_options": options, "ready": ready, "pending": pending}


def test_counting_takes_apps_only_and_leaves_out_the_default_server_and_the_app_itself() -> None:
    servers = {
        "": _model(None, ready=True),  # the default server: never counted
        "lab": _model({}, ready=True),  # a plain JupyterLab: a named server, not an app
        "other": _model({"profile": "big"}, pending="spawn"),  # someone else's options: not an app
        "a": _model(_app(public=True), ready=True),
        "b": _model(_app(), pending="spawn"),  # starting counts as running
        "c": _model(_app(public=True), pending="stop"),  # stopping does not
        "d": _model(_app()),
        "e": _model(_app(), pending="check"),  # a running server being checked
    }
    facts = [facts_of_model(name, model) for name, model in servers.items()]
    assert count_servers(facts) == AppCounts(named_servers=7, apps=5, running=3, public=2)
    assert count_servers(facts, exclude="a") == AppCounts(named_servers=6, apps=4, running=2, public=1)


def test_public_flag_must_be_true_itself() -> None:
    assert not facts_of_model("x", _model({**_app(), "public": "yes"})).public
    assert not facts_of_model("x", _model({"public": True})).public  # not an app spec


@pytest.mark.parametrize(
    ("limits", "others", "kwargs", "limit", "field", "current"),
    [
        (UserLimits(apps=2), AppCounts(apps=2), {"new_server": True}, APPS_LIMIT, "", 2),
        (UserLimits(running=1), AppCounts(apps=3, running=1), {"running": True}, RUNNING_LIMIT, "start", 1),
        (UserLimits(public=3), AppCounts(apps=9, public=3), {"public": True}, PUBLIC_LIMIT, "public", 3),
        (UserLimits(named_servers=4), AppCounts(named_servers=4), {"new_server": True}, NAMED_SERVER_LIMIT, "", 4),
        # The admin lowered a limit below what the user has: still refused, and the count says so.
        (UserLimits(public=1), AppCounts(public=5), {"public": True}, PUBLIC_LIMIT, "public", 5),
    ],
)
def test_one_more_than_the_limit_is_refused_with_its_name_and_the_count(
    limits: UserLimits, others: AppCounts, kwargs: dict[str, bool], limit: str, field: str, current: int
) -> None:
    with pytest.raises(LimitReached) as caught:
        check_limits(limits, others, **kwargs)
    exc = caught.value
    assert (exc.limit, exc.field, exc.current) == (limit, field, current)
    assert exc.message.startswith(f"limit reached: {current} ")
    assert f"of {exc.maximum} allowed" in exc.message
    assert f"({limit})" in exc.message


@pytest.mark.parametrize(
    ("limits", "others", "kwargs"),
    [
        (UserLimits(apps=2), AppCounts(apps=1), {"new_server": True}),
        (UserLimits(apps=2), AppCounts(apps=5), {"public": False, "running": False}),  # an edit adds no app
        (UserLimits(running=1), AppCounts(running=1), {"new_server": True}),  # created stopped
        (UserLimits(public=1), AppCounts(public=1), {"new_server": True}),  # a private app
        (
            UserLimits(),
            AppCounts(named_servers=999, apps=999, running=999, public=999),
            {"new_server": True, "public": True, "running": True},
        ),  # 0: no limit
    ],
)
def test_within_the_limits_passes(limits: UserLimits, others: AppCounts, kwargs: dict[str, bool]) -> None:
    check_limits(limits, others, **kwargs)


def test_count_servers_skips_unnamed_and_excluded() -> None:
    facts = [ServerFacts("", True, True, True), ServerFacts("x", True, True, True)]
    assert count_servers(facts, exclude="x") == AppCounts()


def test_hubapps_defaults_and_admins() -> None:
    settings = HubApps()
    assert settings.user_limits() == UserLimits(apps=20, running=5, public=3)
    assert settings.user_limits(admin=True) == UserLimits()
    data = settings.service_settings()
    assert (data["max_apps_per_user"], data["max_running_apps_per_user"], data["max_public_apps_per_user"]) == (
        20,
        5,
        3,
    )
    with pytest.raises(ValueError, match="max_apps_per_user"):
        HubApps(max_apps_per_user=-1)


def test_service_settings_carry_the_hub_traits_and_the_hubs_own_limit() -> None:
    from hubapps.service.settings import ServiceSettings

    data = HubApps(max_running_apps_per_user=2).service_settings()
    settings = ServiceSettings.model_validate({**data, "named_server_limit_per_user": 7})
    assert settings.user_limits() == UserLimits(apps=20, running=2, public=3, named_servers=7)
    # Admins are exempt from the launcher's limits, not from the Hub's own.
    assert settings.user_limits(admin=True) == UserLimits(named_servers=7)
