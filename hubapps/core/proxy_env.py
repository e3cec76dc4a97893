"""What the spawner hands an app's proxy in the server's environment, apart from the Hub's own variables
(the proxy reads these and keeps them from the app). Standard library only: the proxy imports it."""

__all__ = ["APP_ENV_VAR"]

#: The app's own environment (a JSON object), set by the spawner, read by the proxy.
APP_ENV_VAR = "HUBAPPS_APP_ENV"
