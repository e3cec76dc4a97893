"""App starts and failures as the Hub sees them, in JupyterHub's own ``/hub/metrics``.

The spawner mixin is the one place every app start goes through, whoever asked (the launcher, a
viewer's start on access, a startup app, a script calling the Hub's API directly), and it sees the
end of an app's server: a ``hubapps-proxy`` that gave up on its app exits with code 1, which the
Hub's poll reports. So these counts live in the Hub process, in ``prometheus_client``'s default
registry, which JupyterHub serves at ``/hub/metrics`` (to a token with ``read:metrics``). The
launcher service's ``/metrics`` has the rest (``docs/metrics.md``). Labels: the framework's name (one
the Hub allows) and fixed words; never a user's or server's name.
"""

from __future__ import annotations

from prometheus_client import Counter

__all__ = ["APP_FAILURES", "APP_STARTS"]

APP_STARTS = Counter(
    "hubapps_hub_app_starts",
    "App server starts the Hub's spawner made, by framework and outcome (started: the spawner started "
    "the app's server; refused: the app's spec or a limit refused it; failed: the spawner failed).",
    ["framework", "outcome"],
)
APP_FAILURES = Counter(
    "hubapps_hub_app_failures",
    "App servers that ended with an error exit (hubapps-proxy exits 1 when its app failed for good), by framework.",
    ["framework"],
)
