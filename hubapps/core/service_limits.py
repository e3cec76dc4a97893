"""The launcher service's limits and timings as admin settings (``c.HubApps.*``): what a request may cost
and how long the service waits — declared once, like every admin setting (:mod:`hubapps.core.settings`,
whose :class:`~hubapps.core.settings.AdminSettings` inherits them), with their bounds."""

from __future__ import annotations

from typing import Any

from traitlets import Float, Integer, TraitType, validate
from traitlets.config import Configurable

__all__ = ["ServiceLimits", "bounded", "check_bound"]


def bounded(namespace: dict[str, Any]) -> list[str]:
    """Names of the traits in a class body that declare a bound (``gt`` or ``ge`` metadata)."""
    return [
        name
        for name, trait in namespace.items()
        if isinstance(trait, TraitType) and ("gt" in trait.metadata or "ge" in trait.metadata)
    ]


def check_bound(trait: TraitType[Any, Any], value: Any) -> Any:
    """The declared bound of a setting (``.tag(gt=...)`` or ``.tag(ge=...)``); None passes."""
    if value is None:
        return value
    name, gt, ge = str(trait.name), trait.metadata.get("gt"), trait.metadata.get("ge")
    if gt is not None and not value > gt:
        raise ValueError(f"HubApps.{name} must be more than {gt}, not {value!r}")
    if ge is not None and not value >= ge:
        no_limit = " (0: no limit)" if ge == 0 and name.startswith("max_") else ""
        raise ValueError(f"HubApps.{name} must be {ge} or more{no_limit}, not {value!r}")
    return value


class ServiceLimits(Configurable):
    """Limits and timings of the launcher service (set as ``c.HubApps.<name>``)."""

    hub_request_timeout = Float(
        10.0,
        config=True,
        help="Seconds the launcher service waits for any one Hub API call before answering 503.",
    ).tag(service=True, gt=0)
    # -- limits of the launcher service (hubapps.service) ---------------------------------------------
    max_body_bytes = Integer(
        256 * 1024,
        config=True,
        help="""Largest request body (bytes) the launcher service accepts; a larger one is answered 413
        before it is read. Raise it only if app specs or thumbnail forms legitimately exceed it (it
        must stay above thumbnail_max_bytes).""",
    ).tag(service=True, gt=0)
    user_cache_ttl = Float(
        5.0,
        config=True,
        help="""Seconds the launcher service reuses the Hub's answer about a token (its user, scopes and
        servers) before asking the Hub again. Lower it for faster effect of revoked tokens and role
        changes, raise it to spare a busy Hub. 0: ask the Hub on every request.""",
    ).tag(service=True, ge=0)
    shared_cache_ttl = Float(
        30.0,
        config=True,
        help="""Seconds the launcher service reuses the list of apps shared with a user. A new share
        shows up in the recipient's list within this time. 0: no caching.""",
    ).tag(service=True, ge=0)
    cache_stale_ttl = Float(
        60.0,
        config=True,
        help="""Seconds past user_cache_ttl and shared_cache_ttl that a cached Hub answer still serves
        reads (listings, pages) while the launcher service asks the Hub again in the background, so
        that no read waits for the Hub for an answer it had moments ago. Writes (every request but
        GET and HEAD) always ask the Hub afresh: a cached answer never authorizes one. A revoked
        token or share still reads until its refresh (hub_refresh_rate), at most this long past its
        TTL. 0: a read past its TTL waits for the Hub.""",
    ).tag(service=True, ge=0)
    hub_refresh_rate = Float(
        10.0,
        config=True,
        help="""Most background refreshes of cached Hub answers (see cache_stale_ttl) the launcher
        service makes per second (each worker). This bounds its Hub calls however many users are
        listing; with more active users than about hub_refresh_rate x cache_stale_ttl / 2, some reads
        wait for the Hub again.""",
    ).tag(service=True, gt=0)
    directory_cache_ttl = Float(
        5.0,
        config=True,
        help="""Seconds each launcher worker reuses the public app directory before reading the
        database again (with several workers or replicas, a change shows up everywhere within this
        time). 0: no caching.""",
    ).tag(service=True, ge=0)
    cache_max_entries = Integer(
        10_000,
        config=True,
        help="""Most entries in each cache of the launcher service (tokens, shared lists, login
        cookies); the oldest are dropped first. Raise it on Hubs with more active users than this.""",
    ).tag(service=True, gt=0)
    hub_max_connections = Integer(
        100,
        config=True,
        help="""Most simultaneous connections from the launcher service to the Hub's API (each
        worker); further calls wait for a free one. Lower it to protect a slow Hub.""",
    ).tag(service=True, gt=0)
    hub_idle_connections = Integer(
        8,
        config=True,
        help="""Idle keep-alive connections to the Hub's API the launcher service keeps for reuse (each
        worker). Few are needed (the Hub answers one call at a time) and each idle one costs CPU on
        every call, so keep it small. 0: a new connection per call.""",
    ).tag(service=True, ge=0)
    cookie_cache_ttl = Float(
        10.0,
        config=True,
        help="""Seconds the launcher service remembers an opened login cookie (by its exact value), so
        that a browser's requests are not decrypted one by one; the cookie's own expiry is still
        checked. 0: decrypt every time.""",
    ).tag(service=True, ge=0)
    page_default = Integer(
        50,
        config=True,
        help="Apps per page of the launcher's REST API listings when the request names no page size.",
    ).tag(service=True, gt=0)
    page_max = Integer(
        500,
        config=True,
        help="""Largest page size a request to the launcher's REST API listings may ask for; larger
        ones are cut to it. Bounds the work and the answer of one request.""",
    ).tag(service=True, gt=0)
    stop_wait = Float(
        0.5,
        config=True,
        help="""Seconds a stop request to the launcher waits for the Hub before answering 202 (the Hub
        goes on stopping the app). Raise it if clients prefer a final answer over a quick one.""",
    ).tag(service=True, ge=0)
    start_wait = Float(
        1.0,
        config=True,
        help="""Seconds a start request to the launcher waits for the Hub before answering 202 (the Hub
        goes on starting the app; its page shows the progress).""",
    ).tag(service=True, ge=0)
    restart_timeout = Float(
        120.0,
        config=True,
        help="""Seconds a restart waits for the app's old server to stop before giving up. Raise it for
        spawners that take longer to stop a server (for example on Kubernetes).""",
    ).tag(service=True, gt=0)
    app_status_timeout = Float(
        5.0,
        config=True,
        help="""Seconds, in all, one call of the launcher service to an app's status or log endpoint
        may take; after it the status or logs are shown as unavailable.""",
    ).tag(service=True, gt=0)
    listing_status_concurrency = Integer(
        8,
        config=True,
        help="""Status checks of the caller's running apps one listing request makes at once (only the
        caller's own apps, which the Hub calls running, are checked: so that a failed app shows as
        failed, not running). Bounds what one listing asks of the apps' servers.""",
    ).tag(service=True, gt=0)
    listing_status_ttl = Float(
        2.0,
        config=True,
        help="""Seconds the launcher service reuses an app's status in listings (the app's own status
        and start page always ask afresh). 0: ask every time.""",
    ).tag(service=True, ge=0)
    metrics_apps_ttl = Float(
        15.0,
        config=True,
        help="""Seconds the launcher service's ``/metrics`` reuses what it read of the running apps'
        own metrics (their proxies' ``_hubapps/metrics``, the list of running apps included), so that
        scrapes, from several Prometheus servers or several workers, cost the Hub and the apps little.
        0: read at every scrape.""",
    ).tag(service=True, ge=0)
    metrics_apps_concurrency = Integer(
        8,
        config=True,
        help="""Running apps whose metrics the launcher service reads at once for ``/metrics``.""",
    ).tag(service=True, gt=0)
    metrics_apps_max = Integer(
        1000,
        config=True,
        help="""Running apps whose metrics one refresh of ``/metrics`` reads at most (the rest are left
        out, and ``hubapps_apps_metrics_left_out`` says how many): bounds the work of one scrape.""",
    ).tag(service=True, ge=0)
    app_status_max_bytes = Integer(
        1024 * 1024,
        config=True,
        help="""Largest answer (bytes) the launcher service reads from an app's status or log endpoint;
        a larger one is dropped. Bounds the memory one app can make the service use.""",
    ).tag(service=True, gt=0)
    log_lines_max = Integer(
        1000,
        config=True,
        help="Most log lines of an app the launcher's logs endpoint and page return.",
    ).tag(service=True, gt=0)
    oauth_state_max_age = Integer(
        600,
        config=True,
        help="""Seconds a login to the launcher may take between leaving for the Hub's login and coming
        back; an older login attempt is refused and starts again.""",
    ).tag(service=True, gt=0)
    cookie_max_age = Integer(
        8 * 3600,
        config=True,
        help="""Lifetime (seconds) of the launcher's login cookie; after it users log in again (silently
        while their Hub login lasts). The Hub token inside may expire sooner.""",
    ).tag(service=True, gt=0)
    home_files_timeout = Float(
        2.0,
        config=True,
        help="""Seconds the launcher waits for a user's running JupyterLab server to list a folder of
        their home (to check an app's file at deploy, and to offer their files in the form). A slower
        server is not waited for: nothing is checked or offered then.""",
    ).tag(service=True, gt=0)
    home_files_max_bytes = Integer(
        1024 * 1024,
        config=True,
        help="""Largest folder listing (bytes) the launcher reads from a user's JupyterLab server; a
        larger one is ignored.""",
    ).tag(service=True, gt=0)
    home_files_folders = Integer(
        20,
        config=True,
        help="""Folders of a user's home (besides the home itself) whose files the deploy form offers,
        read from the user's running JupyterLab server. 0: only the home itself.""",
    ).tag(service=True, ge=0)
    thumbnail_max_bytes = Integer(
        192 * 1024,
        config=True,
        help="""Largest thumbnail upload (bytes) before it is re-encoded. The whole form must also fit
        in max_body_bytes, so keep this below it.""",
    ).tag(service=True, gt=0)
    thumbnail_import_max_bytes = Integer(
        5 * 1024 * 1024,
        config=True,
        help="""Largest image (bytes, decoded) imported from an app stored by upstream JHub Apps, which
        kept images inline in the Hub database (its own upload limit was 5 MB; its framework logos are
        about 260 KB). Re-encoded like an upload, within thumbnail_max_pixels; a larger one is left
        and the app shows its framework's logo.""",
    ).tag(service=True, gt=0)
    thumbnail_max_pixels = Integer(
        12_000_000,
        config=True,
        help="""Largest image (width times height, in pixels) a thumbnail upload may decode to, checked
        from the image header before decoding (decompression bombs: a 70 KB PNG can hold 24 million
        pixels). A 12-megapixel phone photo still fits; decoding one takes up to ~100 MB for a
        moment. Lower it on a service short of memory.""",
    ).tag(service=True, gt=0)
    thumbnail_decode_workers = Integer(
        2,
        config=True,
        help="""Thumbnail uploads the launcher service decodes at the same time (one thread each, per
        worker); further uploads wait their turn. Bounds the CPU and memory uploads can take.""",
    ).tag(service=True, gt=0)
    thumbnail_width = Integer(
        480,
        config=True,
        help="Width (pixels) of the box stored thumbnails are scaled down to fit.",
    ).tag(service=True, gt=0)
    thumbnail_height = Integer(
        320,
        config=True,
        help="Height (pixels) of the box stored thumbnails are scaled down to fit.",
    ).tag(service=True, gt=0)
    gallery_page_size = Integer(
        24,
        config=True,
        help="Apps per page of the launcher's gallery pages when the request names no ?per_page=.",
    ).tag(service=True, gt=0)
    gallery_page_max = Integer(
        100,
        config=True,
        help="""Most apps one gallery page may show (?per_page= is cut to it). Bounds the work of one
        page view.""",
    ).tag(service=True, gt=0)
    share_suggestions_max = Integer(
        500,
        config=True,
        help="""Most user and group names the sharing form offers for type-ahead. Names beyond it can
        still be typed in full. 0: offer none.""",
    ).tag(service=True, ge=0)
    watch_poll_seconds = Float(
        1.0,
        config=True,
        help="""Seconds between the status polls of an app's start page while the app starts. Raise it
        to lower the load many starting apps put on the service and the Hub.""",
    ).tag(service=True, gt=0)

    event_retention_days = Float(
        365.0,
        config=True,
        help="""Days the launcher keeps app events (the audit record: who created, edited, started,
        stopped, shared, deleted and opened which app). Older events are deleted at service start and
        every event_prune_interval seconds (a day by default). 0: keep them for ever.""",
    ).tag(service=True, ge=0)
    startup_apps_retry = Float(
        30.0,
        config=True,
        help="""Seconds before the launcher tries again to make a startup app that waits (its owner or
        its wait_for path does not exist yet, or the Hub was busy); the wait doubles after each try, up
        to startup_apps_retry_max.""",
    ).tag(service=True, gt=0)
    startup_apps_retry_max = Float(
        600.0,
        config=True,
        help="Longest wait (seconds) between two tries of a startup app that waits (see startup_apps_retry).",
    ).tag(service=True, gt=0)
    startup_apps_lease = Float(
        120.0,
        config=True,
        help="""Seconds one launcher worker holds the startup apps' reconcile lease (renewed after each
        entry) so that workers and replicas starting together never reconcile at once; a worker that
        dies holding it is replaced after this time.""",
    ).tag(service=True, gt=0)
    revision_keep = Integer(
        50,
        config=True,
        help="""Revisions the launcher keeps per app (every create, edit and rollback records one: the
        spec as the Hub holds it, secret values still encrypted). When an app has more, its oldest are
        deleted. The revisions of a deleted app are deleted with it. 0: keep them all.""",
    ).tag(service=True, ge=0)
    event_prune_interval = Float(
        24 * 3600.0,
        config=True,
        help="""Seconds between two deletions of events older than event_retention_days (the first runs
        as the service starts).""",
    ).tag(service=True, gt=0)
    events_page_default = Integer(
        100,
        config=True,
        help="Events per page of the launcher's events API (GET /api/events) when the request names no limit.",
    ).tag(service=True, gt=0)
    events_page_max = Integer(
        1000,
        config=True,
        help="""Most events one page of the events API may hold (?limit= is cut to it); the JSON-lines
        export reads the database in pages of this size.""",
    ).tag(service=True, gt=0)
    activity_events = Integer(
        20,
        config=True,
        help="Most recent events an app's details page shows in its Activity section (owners and admins).",
    ).tag(service=True, gt=0)
    usage_window_days = Float(
        30.0,
        config=True,
        help="""Days of the recent usage count shown with each app to its owner and to admins (how many
        viewer sessions opened it in that many days; the total since the oldest kept event is shown
        too).""",
    ).tag(service=True, gt=0)
    report_max_bytes = Integer(
        64 * 1024,
        config=True,
        help="""Largest report (bytes) an app's proxy may send the launcher service (its start, its
        viewer sessions, how it ended with its log tail); a larger one is refused with 413.""",
    ).tag(service=True, gt=0)
    reports_per_minute = Integer(
        60,
        config=True,
        help="""Reports one app's proxy may send the launcher service per minute (and at once), in each
        service worker, each new viewer session counting as one; more are refused with 429 (and those
        viewer sessions go uncounted). A proxy sends a few per run, and one per new viewer. This also
        bounds the "opened" events an app can add. 0: no limit.""",
    ).tag(service=True, ge=0)
    runs_kept_per_app = Integer(
        5,
        config=True,
        help="""Runs of each app the launcher remembers (start, time to ready, the file's sha256 or the
        commit, end, final state, reason and log tail): the oldest are forgotten first. The details
        page, the API and `hubapps status` show the last one.""",
    ).tag(service=True, gt=0)

    # -- the service acting on apps by itself (its own token: docs/security.md) -------------------
    app_idle_timeout = Float(
        0.0,
        config=True,
        help="""Seconds without viewers (HTTP requests or websocket messages, as each app's proxy
        reports them to the Hub) after which the launcher service stops an app whose idle policy is
        "default". Apps with a policy of their own ("keep", or their own idle time) follow it
        instead. 0: apps are never stopped for being idle (unless jupyterhub-idle-culler does it).""",
    ).tag(service=True, ge=0)
    app_max_age = Float(
        0.0,
        config=True,
        help="""Seconds after its start at which the launcher service stops an app whose idle policy is
        "default", used or not. 0: no maximum age.""",
    ).tag(service=True, ge=0)
    app_policy_check_interval = Float(
        60.0,
        config=True,
        help="""Seconds between two checks of running apps against their idle policy (one Hub listing
        of active servers per check, made by one service worker only). An app stops at most this long
        after it became due.""",
    ).tag(service=True, gt=0)
    viewer_start_interval = Float(
        60.0,
        config=True,
        help="""Seconds a person must wait between two starts of other users' apps (the "Start" of a
        stopped shared or public app whose owner lets viewers start it). Starts by the owner and by
        admins are not limited by it. 0: no limit.""",
    ).tag(service=True, ge=0)

    @validate(*bounded(locals()))
    def _check_limit_bounds(self, proposal: dict[str, Any]) -> Any:
        return check_bound(proposal["trait"], proposal["value"])
