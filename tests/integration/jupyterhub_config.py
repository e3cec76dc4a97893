# JupyterHub configuration of the integration tests (started by tests/integration/conftest.py).
#
# Everything that differs between runs comes from the environment, so that each run uses its own
# free ports and its own temporary folder:
#
#   HUBAPPS_TEST_DIR            folder for the database, secrets, pid files and users' homes
#   HUBAPPS_TEST_PROXY_PORT     public port of configurable-http-proxy
#   HUBAPPS_TEST_PROXY_API_PORT configurable-http-proxy's REST API port
#   HUBAPPS_TEST_HUB_PORT       the Hub's own port
#   HUBAPPS_TEST_SERVICE_PORT   the hubapps launcher service's port
#   HUBAPPS_TEST_CHP            the configurable-http-proxy executable
#   HUBAPPS_TEST_PASSWORD       DummyAuthenticator's shared password
#   HUBAPPS_TEST_ADMIN_TOKEN    api_token of the test-only "test-admin" service
#   HUBAPPS_TEST_MARKER         put in every spawned server's environment, to find leftover processes
#   CONFIGPROXY_AUTH_TOKEN      read by the Hub for configurable-http-proxy's API (standard)
#   JUPYTERHUB_CRYPT_KEY        the Hub's encryption keys (standard): secret env values of apps
#   HUBAPPS_TEST_BASE_URL       (optional) c.JupyterHub.base_url, when not "/"
#   HUBAPPS_TEST_SUBDOMAIN_HOST (optional) c.JupyterHub.subdomain_host (<scheme>://hub.test:<proxy port>)
#   HUBAPPS_TEST_SSL_CERT       (optional) with HUBAPPS_TEST_SSL_KEY: the proxy serves https with them
#
# Test only: a shared password, an all-powerful service token and SimpleLocalProcessSpawner.

import os
from pathlib import Path

import hubapps

c = get_config()  # type: ignore[name-defined]  # noqa: F821

env = os.environ
tmp = Path(env["HUBAPPS_TEST_DIR"])

if env.get("HUBAPPS_TEST_BASE_URL"):
    # As Zero to JupyterHub sets it: ip, port and base_url (JupyterHub makes its bind_url of them; a
    # base_url beside a bind_url would put the bind_url back to JupyterHub's default ip and port).
    c.JupyterHub.ip = "127.0.0.1"
    c.JupyterHub.port = int(env["HUBAPPS_TEST_PROXY_PORT"])
    c.JupyterHub.base_url = env["HUBAPPS_TEST_BASE_URL"]
else:
    c.JupyterHub.bind_url = f"http://127.0.0.1:{env['HUBAPPS_TEST_PROXY_PORT']}"
if env.get("HUBAPPS_TEST_SUBDOMAIN_HOST"):
    c.JupyterHub.subdomain_host = env["HUBAPPS_TEST_SUBDOMAIN_HOST"]
if env.get("HUBAPPS_TEST_SSL_CERT"):
    c.JupyterHub.ssl_cert = env["HUBAPPS_TEST_SSL_CERT"]
    c.JupyterHub.ssl_key = env["HUBAPPS_TEST_SSL_KEY"]
    if "bind_url" in c.JupyterHub:
        c.JupyterHub.bind_url = c.JupyterHub.bind_url.replace("http://", "https://")
    # The launcher reaches apps through the proxy (status, logs): it trusts the self-signed certificate.
    c.HubApps.proxy_ca_file = env["HUBAPPS_TEST_SSL_CERT"]
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{env['HUBAPPS_TEST_HUB_PORT']}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{env['HUBAPPS_TEST_PROXY_API_PORT']}"
c.ConfigurableHTTPProxy.command = [env["HUBAPPS_TEST_CHP"]]
c.ConfigurableHTTPProxy.pid_file = str(tmp / "chp.pid")
c.ConfigurableHTTPProxy.should_start = True

c.JupyterHub.db_url = f"sqlite:///{tmp / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(tmp / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(tmp / "jupyterhub.pid")
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True
c.JupyterHub.log_level = env.get("HUBAPPS_TEST_LOG_LEVEL", "INFO")

c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = env["HUBAPPS_TEST_PASSWORD"]
c.Authenticator.allow_all = True
c.Authenticator.admin_users = {"admin"}

# Per-user limits (read by install() below) are high here: modules create and start many apps per
# user, ten at once. The limits themselves are tested with small values on a Hub of their own
# (test_user_limits.py).
c.HubApps.max_apps_per_user = 1000
c.HubApps.max_running_apps_per_user = 100
c.HubApps.max_public_apps_per_user = 100

# A service the tests act through as an administrator (mint tokens, list and stop servers).
c.JupyterHub.services = [{"name": "test-admin", "api_token": env["HUBAPPS_TEST_ADMIN_TOKEN"]}]
c.JupyterHub.load_roles = [
    {
        "name": "test-admin",
        "scopes": [
            "admin:users",
            "admin:servers",
            "admin:groups",
            "tokens",
            "shares",
            "access:servers",
            "read:hub",
            "proxy",
        ],
        "services": ["test-admin"],
    },
]

# grant_user_sharing adds shares!user, read:users:name and read:groups:name to the user role.
# Public apps and sharing are off without subdomain_host unless turned on; the suite tests them, so
# this Hub turns them on (the Hub logs what that risks). A module's own Hub that sets
# HUBAPPS_TEST_ORIGIN_DEFAULTS=1 (in its overlay, before loading this file) keeps install()'s defaults.
if env.get("HUBAPPS_TEST_ORIGIN_DEFAULTS") != "1":
    c.HubApps.allow_public_apps = True
    c.HubApps.allow_sharing = True
hubapps.install(c, spawner_class="simple", service_port=int(env["HUBAPPS_TEST_SERVICE_PORT"]), grant_user_sharing=True)

c.SimpleLocalProcessSpawner.home_dir_template = str(tmp / "home" / "{username}")
# Framework apps are slow to start on a small machine, and the tests start ten at once.
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 180
c.Spawner.environment = {"HUBAPPS_TEST_MARKER": env["HUBAPPS_TEST_MARKER"]}
if os.geteuid() == 0:
    # The test machine runs as root; jupyterhub-singleuser (JupyterLab apps) refuses that by default.
    c.Spawner.args = ["--allow-root"]
