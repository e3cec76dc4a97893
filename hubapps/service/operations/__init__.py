"""The operations layer: every change and read of apps, one way, whoever calls (REST, pages, upstream).

Each operation takes one :class:`Caller` and typed models (:mod:`hubapps.service.schemas`), returns
typed results and raises the service's errors (:mod:`hubapps.service.errors`). Routes only translate
HTTP to these calls and back; no route calls another route.

=========================  ============================================================================
:mod:`.caller`             who acts, and the service's objects they act through
:mod:`.lookup`             find one app, list apps, the servers a caller manages
:mod:`.lifecycle`          create, edit, delete, start, stop, restart
:mod:`.restart`            a server's restart: stop, wait for the Hub, apply a new spec, start
:mod:`.sharing`            shares, the public flag, share links
:mod:`.revisions`          every spec an app had: record, list, compare
:mod:`.rollback`           an app back to one of its revisions (an edit to an earlier spec)
:mod:`.states`             apps' true states: the Hub's word, told apart by the app's own status
:mod:`.status`             state, progress and log of a running app
:mod:`.reports`            reports of apps' proxies: their runs (failure memory), viewer sessions
:mod:`.from_git`           an app's settings read from a repository (its conda-project.yml)
:mod:`.files`              the owner's files, where their running JupyterLab server shows them
:mod:`.environments`       the environments a caller may run apps in (conda_envs included)
:mod:`.bounded`            bounded waits on the Hub (the rest finishes in the background)
:mod:`.access`             start on access: a viewer starts an owner's stopped app, when the owner allows
:mod:`.as_service`         the service acting with its own token (viewers' starts, idle stops)
:mod:`.idle`               the idle policy, enforced by one worker's loop
:mod:`.events`             recording app events (the audit record), the one place operations write it
:mod:`.audit`              reading, exporting and deleting app events; apps' usage counts
:mod:`.theme`              the Hub's theme in upstream's shapes (``/config.json``, ``/theme``, ``/theme.css``)
:mod:`.images`             images sent with an app (checked, re-encoded, stored; discarded if unsaved)
:mod:`.services`           the Hub's services as the caller may see them
:mod:`.thumbnail_imports`  images upstream JHub Apps stored inline, imported into the thumbnail store
=========================  ============================================================================
"""

from __future__ import annotations

from hubapps.service.operations.access import start_or_wake, viewer_access, viewer_status
from hubapps.service.operations.audit import (
    EventFilter,
    app_events,
    delete_user_events,
    export_events,
    list_events,
    with_usage,
)
from hubapps.service.operations.bounded import run_bounded
from hubapps.service.operations.caller import Caller
from hubapps.service.operations.environments import environment_names
from hubapps.service.operations.files import check_app_file, owner_files
from hubapps.service.operations.from_git import app_config_from_git
from hubapps.service.operations.images import check_image, data_url_bytes, discard_image, store_image
from hubapps.service.operations.lifecycle import (
    create_app,
    delete_app,
    deploy_app,
    restart_app,
    start_app,
    stop_app,
    update_app,
)
from hubapps.service.operations.lookup import (
    app_details,
    find_app,
    is_proxy_app,
    list_apps,
    managed_app,
    managed_server,
    own_apps,
    readable_status,
)
from hubapps.service.operations.reports import take_report
from hubapps.service.operations.revisions import compare_revisions, list_revisions, read_revision
from hubapps.service.operations.rollback import rollback_app
from hubapps.service.operations.services import hub_services
from hubapps.service.operations.sharing import (
    add_shares,
    create_link,
    delete_links,
    leave_share,
    links_or_none,
    list_links,
    list_shares,
    revoke_all,
    revoke_group,
    revoke_user,
    set_public,
    share_pairs,
    share_suggestions,
    sharing_allowed,
)
from hubapps.service.operations.status import app_logs, app_status

__all__ = [
    "Caller",
    "EventFilter",
    "add_shares",
    "app_config_from_git",
    "app_details",
    "app_events",
    "app_logs",
    "app_status",
    "check_app_file",
    "check_image",
    "compare_revisions",
    "create_app",
    "create_link",
    "data_url_bytes",
    "delete_app",
    "delete_links",
    "delete_user_events",
    "deploy_app",
    "discard_image",
    "environment_names",
    "export_events",
    "find_app",
    "hub_services",
    "is_proxy_app",
    "leave_share",
    "links_or_none",
    "list_apps",
    "list_events",
    "list_links",
    "list_revisions",
    "list_shares",
    "managed_app",
    "managed_server",
    "own_apps",
    "owner_files",
    "read_revision",
    "readable_status",
    "restart_app",
    "revoke_all",
    "revoke_group",
    "revoke_user",
    "rollback_app",
    "run_bounded",
    "set_public",
    "share_pairs",
    "share_suggestions",
    "sharing_allowed",
    "start_app",
    "start_or_wake",
    "stop_app",
    "store_image",
    "take_report",
    "update_app",
    "viewer_access",
    "viewer_status",
    "with_usage",
]
