"""A third-party hubapps plugin, as pip would install it (see ``../hubapps_plugin_example-1.0.dist-info``).

Used by tests/unit/test_framework_plugins.py: put this folder on ``sys.path`` and the registry finds the
framework below through the ``hubapps.frameworks`` entry point, like any installed plugin's.
"""

from __future__ import annotations

from hubapps.core.frameworks import Framework


def frameworks() -> list[Framework]:
    return [
        Framework(
            name="mesop",
            display_name="Mesop",
            description="Mesop apps (a plugin's framework).",
            help="A .py file with @me.page functions.",
            argv=("{python}", "-m", "mesop", "{file}", "--port", "{port}"),
            tcp_only="mesop listens on a port only",
            requires=("python:mesop",),
            protected_env_prefixes=("MESOP_",),
        )
    ]
