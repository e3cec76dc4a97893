"""The ``hubapps`` command (``pyproject.toml``: ``hubapps = "hubapps.cli:main"``; ``python -m hubapps.cli``).

Modules: ``entry`` (the parser, :func:`main`), ``commands`` (the app subcommands over the launcher's
REST API), ``client`` (:class:`~hubapps.cli.client.LauncherClient`, that REST API's client, usable from
scripts), ``demo`` (``hubapps demo``: a local JupyterHub with example apps) and ``reference``
(``hubapps config-reference``). It imports nothing from ``hubapps.service`` or ``hubapps.proxy``, and of
the Hub side only the settings for the reference.
"""

from hubapps.cli.entry import main

__all__ = ["main"]
