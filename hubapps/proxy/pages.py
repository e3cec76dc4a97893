"""The few HTML pages the proxy serves itself: starting, failed, forbidden, and short messages.

Every value that comes from a user or from the app (display name, user name, reason, app output) goes
through :func:`html.escape`; nothing here is a template engine, so nothing can be interpreted twice.
The pages are deliberately plain (no scripts): the startup page refreshes itself with a meta tag.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

__all__ = ["NO_CACHE", "failure_page", "forbidden_page", "message_page", "startup_page"]

#: Lines of app output shown on the startup and failure pages (all of it is at ``_hubapps/logs``).
PAGE_LOG_LINES = 60
#: Headers for pages that describe a moment in time and must not be cached (or framed elsewhere).
NO_CACHE = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'",
}

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem;
       color: #222; }
pre { background: #f4f4f4; padding: 1rem; overflow: auto; max-height: 60vh; font-size: 0.85rem; }
.muted { color: #666; }
"""


def _page(title: str, body: str, *, refresh: int | None = None) -> str:
    meta = f'<meta http-equiv="refresh" content="{refresh}">' if refresh is not None else ""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"{meta}<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body>{body}</body></html>\n"
    )


def _log_block(lines: Sequence[str]) -> str:
    tail = list(lines)[-PAGE_LOG_LINES:]
    if not tail:
        return '<p class="muted">No output from the app yet.</p>'
    return "<pre>" + html.escape("\n".join(tail)) + "</pre>"


def startup_page(display_name: str, elapsed: float, lines: Sequence[str], note: str = "") -> str:
    """Shown while the app starts; reloads every second until the app answers."""
    name = html.escape(display_name or "The app")
    note_html = f"<p>{html.escape(note)}</p>" if note else ""
    body = (
        f"<h1>Starting {name}&hellip;</h1>"
        f'<p class="muted">{elapsed:.0f} s elapsed. This page reloads by itself.</p>'
        f"{note_html}{_log_block(lines)}"
    )
    return _page(f"Starting {display_name or 'app'}", body, refresh=1)


def failure_page(display_name: str, reason: str, lines: Sequence[str]) -> str:
    """Shown when the app failed for good; says why and shows the end of its output."""
    name = html.escape(display_name or "The app")
    body = (
        f"<h1>{name} could not start</h1>"
        f"<p><strong>{html.escape(reason or 'The app stopped.')}</strong></p>"
        "<p>The last lines of its output:</p>"
        f"{_log_block(lines)}"
        '<p class="muted">Fix the app, then start it again from the Hub.</p>'
    )
    return _page(f"{display_name or 'App'} failed", body)


def forbidden_page(user_name: str) -> str:
    """Shown to a logged-in user who has no access to this server."""
    body = (
        "<h1>No access</h1>"
        f"<p>You are logged in as <strong>{html.escape(user_name)}</strong>, "
        "but you do not have access to this app. Ask its owner to share it with you.</p>"
    )
    return _page("No access", body)


def message_page(message: str) -> str:
    """A short page for errors (bad login answer, Hub unreachable...)."""
    return _page("hubapps", f"<p>{html.escape(message)}</p>")
