"""The few HTML pages the proxy serves itself: starting, failed, forbidden, and short messages.

Every value that comes from a user or from the app (display name, user name, reason, app output) goes
through :func:`html.escape`; nothing here is a template engine, so nothing can be interpreted twice.

The startup page carries one small inline script (allowed by a per-response CSP nonce, nothing else
may run): it follows the server-sent event stream at ``<prefix>_hubapps/events`` (new output lines and
state changes), counts the elapsed seconds, and reloads the page when the app is ready or has failed,
so the viewer lands in the app (or on the failure page) by itself. The script only ever sets
``textContent``. Without JavaScript a ``<noscript>`` meta refresh reloads the page every few seconds.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from hubapps.proxy.wire import Request, Response

__all__ = [
    "HUB_TIMEOUT_MESSAGE",
    "NO_CACHE",
    "error_response",
    "failure_page",
    "forbidden_page",
    "message_page",
    "startup_headers",
    "startup_page",
]

#: Lines of app output shown on the startup and failure pages (all of it is at ``_hubapps/logs``).
PAGE_LOG_LINES = 60
#: Headers for pages that describe a moment in time and must not be cached (or framed elsewhere).
NO_CACHE = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'",
}

#: Seconds between reloads of the startup page when JavaScript is off.
NOSCRIPT_REFRESH = 3

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem;
       color: #222; }
pre { background: #f4f4f4; padding: 1rem; overflow: auto; max-height: 60vh; font-size: 0.85rem; }
.muted { color: #666; }
"""


# Follows the event stream; every value it shows goes through textContent.
_STARTUP_SCRIPT = """
(function () {
  "use strict";
  var body = document.body, log = document.getElementById("log"), note = document.getElementById("note");
  var elapsed = document.getElementById("elapsed"), keep = parseInt(body.dataset.keep, 10);
  var lines = log.textContent ? log.textContent.split("\\n") : [];
  var started = Date.now() - parseFloat(body.dataset.elapsed) * 1000;
  var timer = setInterval(function () {
    elapsed.textContent = String(Math.floor((Date.now() - started) / 1000));
  }, 1000);
  var source = new EventSource(body.dataset.events);
  source.addEventListener("log", function (event) {
    lines.push(JSON.parse(event.data).line);
    if (lines.length > keep) { lines.splice(0, lines.length - keep); }
    log.textContent = lines.join("\\n");
    log.hidden = false;
    log.scrollTop = log.scrollHeight;
  });
  source.addEventListener("status", function (event) {
    var status = JSON.parse(event.data);
    note.textContent = status.reason || "";
    if (status.state !== "starting") {
      source.close();
      clearInterval(timer);
      note.textContent = status.state === "ready" ? "Ready, opening the app\u2026" : status.reason || "";
      window.location.reload();
    }
  });
})();
"""


def _page(title: str, body: str, *, head: str = "", body_attrs: str = "") -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"{head}<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body{body_attrs}>{body}</body></html>\n"
    )


def _log_block(lines: Sequence[str]) -> str:
    tail = list(lines)[-PAGE_LOG_LINES:]
    if not tail:
        return '<p class="muted">No output from the app yet.</p>'
    return "<pre>" + html.escape("\n".join(tail)) + "</pre>"


def startup_headers(nonce: str) -> dict[str, str]:
    """Headers of the startup page: :data:`NO_CACHE`, with its one script and event stream allowed."""
    return {
        **NO_CACHE,
        "Content-Security-Policy": (
            f"default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-{nonce}'; "
            "connect-src 'self'; frame-ancestors 'self'"
        ),
    }


def startup_page(
    display_name: str,
    elapsed: float,
    lines: Sequence[str],
    note: str = "",
    *,
    events_url: str,
    nonce: str,
) -> str:
    """Shown while the app starts: name, elapsed time, live output; moves to the app once it is ready.

    ``lines`` and ``note`` are empty for a viewer who may not read the app's output (its event stream
    then carries only the state).

    ``events_url`` is the event stream to follow (it says from which output line on); ``nonce`` must be
    the one in :func:`startup_headers` of the same response.
    """
    name = html.escape(display_name or "The app")
    tail = list(lines)[-PAGE_LOG_LINES:]
    body = (
        f"<h1>Starting {name}&hellip;</h1>"
        f'<p class="muted"><span id="elapsed">{elapsed:.0f}</span> s elapsed. '
        "You will be taken to the app as soon as it is ready.</p>"
        f'<p id="note">{html.escape(note)}</p>'
        f'<pre id="log"{"" if tail else " hidden"}>{html.escape(chr(10).join(tail))}</pre>'
        f'<script nonce="{html.escape(nonce)}">{_STARTUP_SCRIPT}</script>'
    )
    attrs = f' data-events="{html.escape(events_url)}" data-elapsed="{elapsed:.1f}" data-keep="{PAGE_LOG_LINES}"'
    head = f'<noscript><meta http-equiv="refresh" content="{NOSCRIPT_REFRESH}"></noscript>'
    return _page(f"Starting {display_name or 'app'}", body, head=head, body_attrs=attrs)


def failure_page(
    display_name: str, reason: str, lines: Sequence[str] | None, links: Sequence[tuple[str, str]] = ()
) -> str:
    """Shown when the app failed for good; says why and shows the end of its output.

    ``lines`` None: for a viewer who may not read the app's output (nor ``reason``, then ""), a page
    that only says the app could not start. ``links`` (label, URL): where its owner goes next (the
    launcher's start and edit pages of this app), shown with the output.
    """
    name = html.escape(display_name or "The app")
    if lines is None:
        body = (
            f"<h1>{name} could not start</h1>"
            '<p class="muted">Its owner can see why in the launcher, and start it again.</p>'
        )
        return _page(f"{display_name or 'App'} failed", body)
    body = (
        f"<h1>{name} could not start</h1>"
        f"<p><strong>{html.escape(reason or 'The app stopped.')}</strong></p>"
        "<p>The last lines of its output:</p>"
        f"{_log_block(lines)}"
        + (
            "<p>Fix the app, then: "
            + " &middot; ".join(f'<a href="{html.escape(url)}">{html.escape(label)}</a>' for label, url in links)
            + "</p>"
            if links
            else '<p class="muted">Fix the app, then start it again from the Hub.</p>'
        )
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


HUB_TIMEOUT_MESSAGE = "The Hub did not answer in time; try again."


def error_response(status: int, request: Request, message: str) -> Response:
    """An error answer: a short page for browsers, plain text for everything else."""
    if request.accepts_html:
        return Response.html(message_page(message), status=status, headers=NO_CACHE)
    return Response.text(message + "\n", status=status, headers=NO_CACHE)
