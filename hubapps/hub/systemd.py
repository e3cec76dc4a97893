"""Under SystemdSpawner: a systemd unit per named server, and app arguments passed on as they are.

SystemdSpawner (1.x) names a server's unit from ``unit_name_template``, which knows the user
(``{USERNAME}``, ``{USERID}``) but not the server: every named server of a user gets the same unit
(``jupyter-ann-singleuser``), so starting a second app stops the first ("Unit ... already exists but not
known to JupyterHub. Killing"). hubapps runs every app as a named server, so the server's name, escaped
the way ``systemd-escape`` does it, is appended to the unit name of every named server. The default
server keeps the admin's name. SystemdSpawner saves the unit name in the server's state, so a Hub
restart finds the running unit again.

SystemdSpawner also expands ``{USERNAME}`` and ``{USERID}`` in every argument with ``str.format``, so an
app's own arguments (the proxy's ``{python}`` placeholder, a user's ``--title={x}``) would raise
``KeyError`` or be rewritten: the app's arguments reach it with their braces doubled, which that
``str.format`` turns back into the arguments as written. The admin's own ``Spawner.args`` keep their
templates.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SystemdUnitPerServerMixin", "is_systemd_spawner", "unit_name_part"]


def is_systemd_spawner(spawner_class: type) -> bool:
    """Whether ``spawner_class`` is SystemdSpawner or a subclass of it (without importing systemdspawner)."""
    return any(cls.__module__.split(".")[0] == "systemdspawner" for cls in spawner_class.__mro__)


def unit_name_part(name: str) -> str:
    """``name`` as a part of a unit name: ASCII letters, digits, ``:_.`` and ``-`` kept, every other byte
    ``\\xNN`` (``systemd-escape``'s escaping, so two names never give the same unit)."""
    return "".join(
        chr(byte) if chr(byte).isascii() and (chr(byte).isalnum() or chr(byte) in ":_.-") else f"\\x{byte:02x}"
        for byte in name.encode("utf-8")
    )


class SystemdUnitPerServerMixin:
    """Mixed in before :class:`~hubapps.hub.spawner.HubAppsSpawnerMixin` when the base is a SystemdSpawner."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        spawner: Any = self
        if spawner.name:
            spawner.unit_name = f"{spawner.unit_name}-{unit_name_part(spawner.name)}"

    def _hubapps_literal_arg(self, arg: str) -> str:
        return arg.replace("{", "{{").replace("}", "}}")
