"""``HubApps``: the admin settings (``c.HubApps.*`` in ``jupyterhub_config.py``) with their Hub-side helpers.

The settings themselves are declared once, in :mod:`hubapps.core.settings` (their help, defaults,
bounds and tags); this class adds what only the Hub process needs.
"""

from __future__ import annotations

import sys

from hubapps.core.settings import AdminSettings, service_value

__all__ = ["HubApps", "service_value"]


class HubApps(AdminSettings):
    """Settings of the hubapps launcher."""

    def proxy_command_for(self, spawner_class: type) -> list[str]:
        """The command that starts the proxy in servers of ``spawner_class`` (see ``proxy_command``)."""
        if self.proxy_command:
            return list(self.proxy_command)
        from jupyterhub.spawner import LocalProcessSpawner

        python = sys.executable if issubclass(spawner_class, LocalProcessSpawner) else "python3"
        return [python, "-I", "-m", "hubapps.proxy"]
