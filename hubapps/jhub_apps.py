"""What upstream JHub Apps configurations import, offered by hubapps (the drop-in's one module).

Replace, in ``jupyterhub_config.py``::

    from jhub_apps import theme_template_paths, themes
    from jhub_apps.configuration import install_jhub_apps
    from jhub_apps.hub_client.utils import is_jupyterhub_5

with::

    from hubapps.jhub_apps import install_jhub_apps, is_jupyterhub_5, theme_template_paths, themes

(see docs/migrating.md).
"""

from __future__ import annotations

from hubapps.hub.upstream import install_jhub_apps

__all__ = ["install_jhub_apps"]
