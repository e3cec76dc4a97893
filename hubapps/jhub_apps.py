"""What upstream JHub Apps configurations import, offered by hubapps (the drop-in's one module).

Replace, in ``jupyterhub_config.py``::

    from jhub_apps import theme_template_paths, themes
    from jhub_apps.configuration import install_jhub_apps
    from jhub_apps.hub_client.utils import is_jupyterhub_5

with::

    from hubapps.jhub_apps import install_jhub_apps, is_jupyterhub_5, theme_template_paths, themes

and ``from jhub_apps import service_for_jhub_apps`` with
``from hubapps.jhub_apps import service_for_jhub_apps`` (see docs/migrating.md, "The import change").
Nothing else in the file changes: ``c = install_jhub_apps(c, spawner_to_subclass=...)`` returns the
configuration, ``c.JupyterHub.template_paths = theme_template_paths`` keeps the launcher's home page, and
``**themes.DEFAULT_THEME`` is a theme that loads nothing from outside the Hub.
"""

from __future__ import annotations

from hubapps.core import theme as themes
from hubapps.hub.home_page import TEMPLATES
from hubapps.hub.upstream import install_jhub_apps, is_jupyterhub_5, service_for_jhub_apps

__all__ = ["install_jhub_apps", "is_jupyterhub_5", "service_for_jhub_apps", "theme_template_paths", "themes"]

#: The Hub template folders hubapps installs (the launcher's home page, navigation, "not running" page).
theme_template_paths = [TEMPLATES]
