"""The proxy's Hub API client: the three calls against the fake Hub, HTTP framing, limits, timeouts, TLS;
and the activity reporter that uses it."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from hubapps.proxy.activity import RETRY_JITTER, ActivityReporter, retry_delay
from hubapps.proxy.config import HubSettings
from hubapps.proxy.hub_client import HubAPI, HubAPIError
from tests.unit.proxy.certs import Certs, make_certs
from tests.unit.proxy.fakehub import FakeHub

SERVER_TOKEN = "server-token"


def settings(base_url: str, **extra: str) -> HubSettings:
    return HubSettings(
        api_url=base_url + "/hub/api",
        api_token=SERVER_TOKEN,
        client_id="jupyterhub-user-alice-my-app",
        activity_url=base_url + "/hub/api/users/alice/activity",
        **extra,  # type: ignore[arg-type]
    )


class RawServer:
    """Answers every request with fixed bytes (or never, with ``answer=None``); records the requests."""

    def __init__(self, answer: bytes | None, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self.answer = answer
        self.ssl_context = ssl_context
        self.requests: list[bytes] = []
        self._release = asyncio.Event()
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"{'https' if self.ssl_context else 'http'}://127.0.0.1:{port}"

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self.ssl_context)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._release.set()
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
        await asyncio.sleep(0.05)  # let handlers finish closing their connections

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            self.requests.append(head + await reader.readexactly(length))
            if self.answer is None:
                await self._release.wait()
            else:
                writer.write(self.answer)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            writer.close()


# -- the three calls, against the fake Hub ----------------------------------------------------------


async def test_get_user_returns_the_model_or_403(fake_hub: FakeHub) -> None:
    api = HubAPI(settings(fake_hub.url), timeout=5)
    reply = await api.get_user("alice-token")
    assert reply.status == 200
    assert reply.ok
    assert reply.data["name"] == "alice"
    assert reply.data["scopes"] == ["access:servers!server=alice/my-app", "read:users!user=alice"]
    refused = await api.get_user("nope")
    assert refused.status == 403
    assert not refused.ok
    assert fake_hub.token_lookups == ["alice-token", "nope"]


async def test_exchange_code_sends_the_oauth_form(fake_hub: FakeHub) -> None:
    api = HubAPI(settings(fake_hub.url), timeout=5)
    reply = await api.exchange_code("good-code", redirect_uri="/user/alice/my-app/oauth_callback", code_verifier="v")
    assert reply.status == 200
    assert reply.data["access_token"] == "alice-token"
    assert fake_hub.code_exchanges == [
        {
            "client_id": "jupyterhub-user-alice-my-app",
            "client_secret": SERVER_TOKEN,
            "grant_type": "authorization_code",
            "code": "good-code",
            "redirect_uri": "/user/alice/my-app/oauth_callback",
            "code_verifier": "v",
        }
    ]
    bad = await api.exchange_code("bad-code", redirect_uri="/x")
    assert bad.status == 400
    assert bad.data == {"error": "invalid_grant"}
    assert "code_verifier" not in fake_hub.code_exchanges[-1]


async def test_post_activity_sends_json_with_the_server_token(fake_hub: FakeHub) -> None:
    api = HubAPI(settings(fake_hub.url), timeout=5)
    report = {"servers": {"my-app": {"last_activity": "2024-01-01T00:00:00Z"}}, "last_activity": "x"}
    reply = await api.post_activity(report)
    assert reply.status == 204
    assert reply.data is None
    assert fake_hub.activity == [report]


# -- framing and limits ------------------------------------------------------------------------------


async def test_chunked_answer_is_read() -> None:
    body = b'{"name": "alice", "scopes": []}'
    answer = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"%x\r\n%s\r\n" % (10, body[:10])
        + b"%x\r\n%s\r\n" % (len(body) - 10, body[10:])
        + b"0\r\n\r\n"
    )
    async with RawServer(answer) as server:
        reply = await HubAPI(settings(server.url), timeout=5).get_user("alice-token")
    assert reply.status == 200
    assert reply.data == {"name": "alice", "scopes": []}
    request = server.requests[0]
    assert request.startswith(b"GET /hub/api/user HTTP/1.1\r\n")
    assert b"\r\nAuthorization: token alice-token\r\n" in request
    assert b"\r\nConnection: close\r\n" in request


async def test_answer_delimited_by_close_is_read() -> None:
    async with RawServer(b'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{"name": "alice"}') as server:
        reply = await HubAPI(settings(server.url), timeout=5).get_user("t")
    assert reply.data == {"name": "alice"}


async def test_truncated_answer_is_an_error() -> None:
    async with RawServer(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{}") as server:
        with pytest.raises(HubAPIError, match="closed the connection"):
            await HubAPI(settings(server.url), timeout=5).get_user("t")


async def test_garbage_is_an_error() -> None:
    async with RawServer(b"SSH-2.0-OpenSSH\r\n\r\n") as server:
        with pytest.raises(HubAPIError, match="not valid HTTP"):
            await HubAPI(settings(server.url), timeout=5).get_user("t")


async def test_oversize_answers_are_refused() -> None:
    declared = b"HTTP/1.1 200 OK\r\nContent-Length: 2000000\r\n\r\n" + b"x" * 1000
    async with RawServer(declared) as server:
        with pytest.raises(HubAPIError, match="larger than"):
            await HubAPI(settings(server.url), timeout=5).get_user("t")  # the default limit: 1 MiB
    chunk = b"x" * 4096
    streamed = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + (b"1000\r\n" + chunk + b"\r\n") * 20
    async with RawServer(streamed) as server:
        with pytest.raises(HubAPIError, match="larger than"):
            await HubAPI(settings(server.url), timeout=5, max_response=50_000).get_user("t")


async def test_silent_hub_times_out_within_the_deadline() -> None:
    async with RawServer(None) as server:
        api = HubAPI(settings(server.url), timeout=0.3)
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            await api.get_user("t")
        assert time.monotonic() - started < 2
        assert len(server.requests) == 1


async def test_unreachable_hub_is_an_os_error_without_the_token(unused_tcp_port: int) -> None:
    api = HubAPI(settings(f"http://127.0.0.1:{unused_tcp_port}"), timeout=5)
    with pytest.raises(OSError, match=r"^(?!.*secret-token)"):
        await api.get_user("secret-token")


async def test_header_injection_is_refused_before_connecting() -> None:
    async with RawServer(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}") as server:
        with pytest.raises(HubAPIError) as caught:
            await HubAPI(settings(server.url), timeout=5).get_user("t\r\nX-Evil: 1")
        assert server.requests == []
    assert "X-Evil" not in str(caught.value)


async def test_non_http_url_is_refused() -> None:
    with pytest.raises(HubAPIError):
        await HubAPI(HubSettings(api_url="ftp://hub/api"), timeout=5).get_user("t")


# -- internal SSL ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("certs"))


def _hub_tls(certs: Certs) -> ssl.SSLContext:
    """The Hub's side: its certificate, and client certificates required (signed by the internal CA)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(certs["ca"]))
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_cert_chain(certs["hub"], certs["hub-key"])
    return context


OK_ANSWER = b'HTTP/1.1 200 OK\r\nContent-Length: 17\r\n\r\n{"name": "alice"}'


async def test_https_with_internal_ssl_files(certs: Certs) -> None:
    async with RawServer(OK_ANSWER, ssl_context=_hub_tls(certs)) as server:
        hub = settings(
            server.url,
            ssl_certfile=str(certs["proxy"]),
            ssl_keyfile=str(certs["proxy-key"]),
            ssl_client_ca=str(certs["ca"]),
        )
        reply = await HubAPI(hub, timeout=5).get_user("alice-token")
    assert reply.data == {"name": "alice"}


TLS_FAILURES: list[tuple[str, Callable[[Certs], dict[str, str]]]] = [
    ("no-client-cert", lambda c: {"ssl_client_ca": str(c["ca"])}),
    (
        "unknown-hub-ca",
        lambda c: {
            "ssl_certfile": str(c["proxy"]),
            "ssl_keyfile": str(c["proxy-key"]),
            "ssl_client_ca": str(c["other-ca"]),
        },
    ),
]


@pytest.mark.parametrize("files", [f for _, f in TLS_FAILURES], ids=[n for n, _ in TLS_FAILURES])
async def test_https_refuses_what_internal_ssl_refuses(certs: Certs, files: Callable[[Certs], dict[str, str]]) -> None:
    async with RawServer(OK_ANSWER, ssl_context=_hub_tls(certs)) as server:
        with pytest.raises((OSError, HubAPIError)):
            await HubAPI(settings(server.url, **files(certs)), timeout=5).get_user("alice-token")


async def test_missing_ssl_files_fail_each_call_clearly(tmp_path: Path) -> None:
    hub = settings("https://127.0.0.1:9", ssl_certfile=str(tmp_path / "no.crt"), ssl_keyfile=str(tmp_path / "no.key"))
    api = HubAPI(hub, timeout=5)  # does not raise: the proxy still starts and shows the error per call
    with pytest.raises(HubAPIError, match="SSL files"):
        await api.get_user("t")


# -- activity reports, through the client ------------------------------------------------------------


async def test_activity_reports_only_what_is_new(fake_hub: FakeHub) -> None:
    hub = settings(fake_hub.url, server_name="my-app")
    reporter = ActivityReporter(hub, interval=60, keep_alive=False, timeout=5)
    assert await reporter.report_once() is None  # nobody came
    reporter.touch()
    assert await reporter.report_once() is True
    assert await reporter.report_once() is None  # nothing new since
    (report,) = fake_hub.activity
    assert report["servers"]["my-app"]["last_activity"] == report["last_activity"]
    assert report["last_activity"].endswith("Z")


async def test_activity_failures_are_reported_for_retry(fake_hub: FakeHub, unused_tcp_port: int) -> None:
    fake_hub.activity_failures = 1
    reporter = ActivityReporter(settings(fake_hub.url), interval=60, keep_alive=True, timeout=5)
    assert await reporter.report_once() is False  # 503
    assert await reporter.report_once() is True
    unreachable = ActivityReporter(
        settings(f"http://127.0.0.1:{unused_tcp_port}"), interval=60, keep_alive=True, timeout=5
    )
    assert await unreachable.report_once() is False


def test_the_retry_schedule_doubles_up_to_its_cap_and_jitter_only_shortens_it() -> None:
    """The schedule of a Hub that stays away: 1, 2, 4, 8, ... seconds, held at the cap; every delay lies
    between (1 - RETRY_JITTER) of its step and the step itself, never above the cap."""
    steps = [retry_delay(n, first=1.0, cap=10.0, rand=lambda: 0.0) for n in range(1, 8)]
    assert steps == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0]
    shortest = [retry_delay(n, first=1.0, cap=10.0, rand=lambda: 1.0) for n in range(1, 8)]
    assert shortest == [step * (1 - RETRY_JITTER) for step in steps]
    assert retry_delay(50, first=0.5, cap=3.0, rand=lambda: 0.3) <= 3.0  # no overflow of 2**n
    assert retry_delay(1000, first=0.5, cap=3.0) <= 3.0


async def test_a_hub_that_is_away_is_retried_with_backoff_until_it_answers(
    fake_hub: FakeHub, unused_tcp_port: int
) -> None:
    """While the Hub is unreachable (restarting) the reporter retries on the backoff schedule, never
    waiting longer than its interval; once the Hub answers, it reports and returns to the interval."""
    slept: list[float] = []
    hub_is_back = asyncio.Event()
    reporter: ActivityReporter

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) == 6:  # five failed attempts: the Hub comes back
            reporter.hub = settings(fake_hub.url)
            reporter.api = HubAPI(reporter.hub, timeout=5)
        if len(slept) == 8:
            hub_is_back.set()
            await asyncio.Event().wait()  # stay here until cancelled

    reporter = ActivityReporter(
        settings(f"http://127.0.0.1:{unused_tcp_port}"),
        interval=20.0,
        keep_alive=True,
        timeout=5,
        retry_first=2.0,
        retry_max=12.0,
        sleep=sleep,
    )
    reporter.start()
    await asyncio.wait_for(hub_is_back.wait(), 30)
    await reporter.stop()
    first, *retries, after_success, later = slept
    assert first == 20.0  # the first report waits one interval
    # 2, 4, 8, 12 (capped) less jitter; a step of the schedule never reaches past the interval.
    for delay, step in zip(retries, [2.0, 4.0, 8.0, 12.0, 12.0], strict=True):
        assert step * (1 - RETRY_JITTER) <= delay <= step
    assert (after_success, later) == (20.0, 20.0)
    assert len(fake_hub.activity) == 2  # the report after the Hub came back, and the next one
