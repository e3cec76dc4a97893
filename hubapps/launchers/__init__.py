"""Small launchers that run a framework's app the way hubapps needs it, with no change to the user's script.

Some servers have no command-line option for what the proxy needs (a unix socket, a root path, no
browser, no reload). Each launcher here runs in the app's own process, takes its settings as plain
arguments (never as code), applies them through the framework's public API, then runs the user's app:

- :mod:`hubapps.launchers.run_shiny`: ``shiny.run_app`` on a unix socket (``shiny run`` has no ``--uds``);
- :mod:`hubapps.launchers.run_nicegui`: the user's script, with ``ui.run()`` held to a unix socket and
  the app's root path (NiceGUI's own default binds ``0.0.0.0:8080``).

They import nothing of hubapps but the standard library, so they run in any environment that has
hubapps and the framework installed (``python -m hubapps.launchers.run_<name> ...``).
"""
