"""The test overlay around upstream JHub Apps' example configurations (tests/integration/test_upstream_configs.py).

It changes nothing but where things are: the addresses and ports (all on 127.0.0.1, free ports) and the
files the Hub writes (in the test's folder). It also adds the harness' own admin service (how the test
stops every server at the end) and, for the Kubernetes set, what the Zero to JupyterHub image does
before the chart's extraConfig files run: ``hub.config`` from the values applied to ``c``, and ``z2jh``.
The upstream files themselves are read from ``../shared/reference/upstream-configs/`` with only their
``jhub_apps`` imports rewritten (:func:`upstream_source`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

#: ``from jhub_apps...`` imports, as hubapps' one module offers the names.
JHUB_APPS_IMPORT = re.compile(r"^(\s*)from jhub_apps(?:\.[\w.]+)? import ", re.MULTILINE)


def upstream_source(path: str) -> str:
    """An upstream config with its ``jhub_apps`` imports (and only those) rewritten."""
    return JHUB_APPS_IMPORT.sub(r"\1from hubapps.jhub_apps import ", Path(path).read_text())


def _env(name: str) -> str:
    return os.environ[f"HUBAPPS_TEST_{name}"]


def before(c: Any) -> None:
    """What must be set before upstream's file runs, because install_jhub_apps() reads it."""
    tmp = Path(_env("DIR"))
    c.HubApps.service_port = int(_env("SERVICE_PORT"))
    c.HubApps.status_key_file = str(tmp / "jupyterhub_hubapps_status_key")
    # The deployment's environment (docker-compose sets these for upstream's docker config).
    os.environ.setdefault("DOCKER_NOTEBOOK_IMAGE", "jhub:latest")
    os.environ.setdefault("DOCKER_NETWORK_NAME", "jupyterhub-network")
    os.environ.setdefault("JUPYTERHUB_ADMIN", "admin")
    # A hub pod has its cluster's credentials (in-cluster config); KubeSpawner loads them whenever the
    # Hub makes a spawner (the home page does), though nothing here is spawned. This one names an
    # API address where nothing listens.
    kubeconfig = tmp / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: test\n"
        "clusters: [{name: test, cluster: {server: 'http://127.0.0.1:9'}}]\n"
        "users: [{name: test, user: {token: not-a-cluster}}]\n"
        "contexts: [{name: test, context: {cluster: test, user: test, namespace: hub}}]\n"
    )
    os.environ.setdefault("KUBECONFIG", str(kubeconfig))


def z2jh_hub_config(c: Any) -> None:
    """What the Zero to JupyterHub image's own config does with the chart's ``hub.config``."""
    import z2jh  # type: ignore[import-not-found]  # the stub beside this file, on sys.path in the Hub

    for section, values in (z2jh.get_config("hub.config") or {}).items():
        for key, value in values.items():
            c[section][key] = value


def after(c: Any) -> None:
    """Addresses, ports and writable files, set once upstream's file has run."""
    tmp = Path(_env("DIR"))
    public = f"http://127.0.0.1:{_env('PROXY_PORT')}"
    hub = f"http://127.0.0.1:{_env('HUB_PORT')}"
    c.JupyterHub.bind_url = public
    c.JupyterHub.hub_bind_url = hub
    c.JupyterHub.hub_connect_url = hub
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{_env('PROXY_API_PORT')}"
    c.ConfigurableHTTPProxy.command = [_env("CHP")]
    c.ConfigurableHTTPProxy.pid_file = str(tmp / "chp.pid")
    c.ConfigurableHTTPProxy.should_start = True
    c.JupyterHub.db_url = f"sqlite:///{tmp / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(tmp / "jupyterhub_cookie_secret")
    c.JupyterHub.pid_file = str(tmp / "jupyterhub.pid")
    c.JupyterHub.cleanup_servers = True
    c.JupyterHub.cleanup_proxy = True
    c.HubApps.proxy_url = public
    # The launcher's own address: upstream's Kubernetes config names the hub pod's Service ("hub").
    launcher = next(s for s in c.JupyterHub.services if s["name"] == "japps")
    launcher["url"] = f"http://127.0.0.1:{_env('SERVICE_PORT')}"
    command = launcher["command"]
    command[command.index("--host") + 1] = "127.0.0.1"
    # The harness: a service whose token the test acts through as an administrator.
    c.JupyterHub.services = [*c.JupyterHub.services, {"name": "test-admin", "api_token": _env("ADMIN_TOKEN")}]
    c.JupyterHub.load_roles = [
        *c.JupyterHub.load_roles,
        {
            "name": "test-admin",
            "scopes": ["admin:users", "admin:servers", "tokens", "read:hub", "list:services", "read:services"],
            "services": ["test-admin"],
        },
    ]
