"""TLS on the launcher service's hops under JupyterHub's ``internal_ssl`` (issue 17, requirement 8), without
a Hub: the service's URL and environment as ``install()`` leaves them, uvicorn's TLS options, the proxy's
trust for its reports, and the fix of JupyterHub's readiness check of an https service. The real Hub runs
all of it in tests/integration/test_proxy_internal_ssl.py."""

from __future__ import annotations

import copy
import ssl
from pathlib import Path
from typing import Any

import pytest
from certipy import Certipy
from jupyterhub.objects import Server
from traitlets.config import Config

import hubapps
from hubapps.core.reports import REPORT_CA_ENV_VAR, SERVERS_CA, SERVICE_CERTS_ENV_VAR
from hubapps.hub import internal_ssl
from hubapps.proxy.config import ConfigError, parse_config
from hubapps.proxy.hub_client import _ssl_context
from hubapps.proxy.process import app_environment
from hubapps.service.serve import tls_arguments


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # install() keeps its status key file in the folder the Hub runs in


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A certificate store made by JupyterHub's own library, with the CA that signs servers."""
    path = tmp_path / "internal-ssl"
    certipy = Certipy(store_dir=str(path))
    certipy.create_ca(SERVERS_CA)
    certipy.create_ca("hub-ca")
    certipy.create_signed_pair("japps", SERVERS_CA, alt_names=["IP:127.0.0.1"])
    return path


def _applied(c: Config) -> dict[str, Any]:
    """The launcher's entry as JupyterHub applies it (a deep copy, once the whole file has run)."""
    services = copy.deepcopy(c.JupyterHub.services)
    return next(s for s in services if s["name"] == "japps")


def test_the_service_url_is_https_under_internal_ssl_even_when_set_after_install(tmp_path: Path) -> None:
    plain = Config()
    hubapps.install(plain)
    assert _applied(plain)["url"].startswith("http://")
    assert SERVICE_CERTS_ENV_VAR not in _applied(plain)["environment"]

    late = Config()
    hubapps.install(late, service_port=10300)
    late.JupyterHub.internal_ssl = True  # as configs often do: after install(c)
    late.JupyterHub.internal_certs_location = "certs"
    entry = _applied(late)
    assert entry["url"] == "https://127.0.0.1:10300"
    assert entry["environment"][SERVICE_CERTS_ENV_VAR] == str(tmp_path / "certs")

    rewritten = Config()
    hubapps.install(rewritten)
    rewritten.JupyterHub.internal_ssl = True
    rewritten.JupyterHub.services[-1]["url"] = "http://launcher.internal:9000"  # the admin's own choice wins
    assert _applied(rewritten)["url"] == "http://launcher.internal:9000"


def test_without_internal_ssl_the_service_serves_plain_http(tmp_path: Path) -> None:
    assert tls_arguments({}, str(tmp_path)) == []
    assert tls_arguments({"JUPYTERHUB_SSL_CERTFILE": "c.pem"}, str(tmp_path)) == []  # (no key: not TLS)


def test_the_service_asks_for_the_hubs_and_the_servers_certificates(store: Path, tmp_path: Path) -> None:
    files = Certipy(store_dir=str(store)).store.get_record("japps")["files"]
    hub_ca = Certipy(store_dir=str(store)).store.get_record("hub-ca")["files"]["cert"]
    servers_ca = Path(Certipy(store_dir=str(store)).store.get_record(SERVERS_CA)["files"]["cert"]).read_text()
    env = {
        "JUPYTERHUB_SSL_CERTFILE": files["cert"],
        "JUPYTERHUB_SSL_KEYFILE": files["key"],
        "JUPYTERHUB_SSL_CLIENT_CA": hub_ca,
        SERVICE_CERTS_ENV_VAR: str(store),
    }
    options = tls_arguments(env, str(tmp_path))
    assert options[:4] == ["--ssl-certfile", files["cert"], "--ssl-keyfile", files["key"]]
    assert options[options.index("--ssl-cert-reqs") + 1] == str(int(ssl.CERT_REQUIRED))
    bundle = Path(options[options.index("--ssl-ca-certs") + 1]).read_text()
    assert Path(hub_ca).read_text().strip() in bundle
    assert servers_ca.strip() in bundle
    # The bundle is a usable CA file (as uvicorn loads it).
    ssl.create_default_context(cafile=options[options.index("--ssl-ca-certs") + 1])


def test_unusable_ssl_files_stop_the_service_instead_of_serving_plain_http(store: Path, tmp_path: Path) -> None:
    files = Certipy(store_dir=str(store)).store.get_record("japps")["files"]
    env = {"JUPYTERHUB_SSL_CERTFILE": files["cert"], "JUPYTERHUB_SSL_KEYFILE": files["key"]}
    with pytest.raises(SystemExit, match="internal SSL"):
        tls_arguments({**env, "JUPYTERHUB_SSL_CLIENT_CA": str(tmp_path / "missing.crt")}, str(tmp_path))
    empty = tmp_path / "empty-store"
    Certipy(store_dir=str(empty))
    with pytest.raises(SystemExit, match=SERVERS_CA):
        tls_arguments({**env, SERVICE_CERTS_ENV_VAR: str(empty)}, str(tmp_path))


# -- the app's proxy ------------------------------------------------------------------------------------

ENV = {"JUPYTERHUB_SERVICE_PREFIX": "/user/ann/app/", "JUPYTERHUB_SERVICE_URL": "http://127.0.0.1:9000"}


def test_the_proxy_trusts_the_services_ca_for_reports_only(store: Path) -> None:
    pem = Path(Certipy(store_dir=str(store)).store.get_record(SERVERS_CA)["files"]["cert"]).read_text()
    hub_ca = Certipy(store_dir=str(store)).store.get_record("hub-ca")["files"]["cert"]
    env = {
        **ENV,
        "JUPYTERHUB_API_URL": "https://127.0.0.1:8081/hub/api",
        "JUPYTERHUB_SSL_CLIENT_CA": hub_ca,
        REPORT_CA_ENV_VAR: pem,
    }
    config = parse_config(["--report-url=https://127.0.0.1:10202/services/japps/", "--", "app"], env)
    assert config.report_ca == pem.strip()
    assert config.hub.ssl_extra_ca == ""  # the Hub's API: the Hub's CA alone
    hub_context = _ssl_context(config.hub)
    assert hub_context is not None
    assert len(hub_context.get_ca_certs()) == 1
    from dataclasses import replace

    report_context = _ssl_context(replace(config.hub, ssl_extra_ca=config.report_ca))
    assert report_context is not None
    assert len(report_context.get_ca_certs()) == 2
    # The app itself never sees it (nor anything else of the proxy's own).
    assert REPORT_CA_ENV_VAR not in app_environment(env, {}, 9001, pass_hub_token=False)


def test_a_report_ca_that_is_not_a_certificate_is_refused() -> None:
    with pytest.raises(ConfigError, match=REPORT_CA_ENV_VAR):
        parse_config(["--", "app"], {**ENV, REPORT_CA_ENV_VAR: "not a certificate"})


# -- JupyterHub's readiness check of an https service ---------------------------------------------------


def test_an_https_check_with_the_hubs_server_context_gets_a_client_context(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[ssl.SSLContext | None] = []

    def original(self: Any, timeout: float = 10, http: bool = False, ssl_context: Any = None, **_: Any) -> None:
        seen.append(ssl_context)

    monkeypatch.setattr(Server, "wait_up", original)
    client = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    monkeypatch.setattr(internal_ssl, "hub_client_context", lambda: client)
    internal_ssl.fix_service_checks()
    internal_ssl.fix_service_checks()  # once only
    assert getattr(Server.wait_up, "__wrapped__", None) is original

    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)  # what JupyterHub hands start_service
    service = Server(ip="127.0.0.1", port=10202, proto="https")
    service.wait_up(http=True, ssl_context=server_side)
    service.wait_up(http=True)  # the periodic health check: no context, no files of its own
    plain = Server(ip="127.0.0.1", port=10202)
    plain.wait_up(http=True, ssl_context=server_side)
    given = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    service.wait_up(http=True, ssl_context=given)  # a user's server: its own client context, untouched
    assert seen == [client, client, server_side, given]
