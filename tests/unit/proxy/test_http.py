"""The proxy's HTTP/1.1 at the wire: exact bytes over raw sockets, for the edge cases a proxy must get right.

Most tests run against ``tests/resources/raw_http_app.py``, an app that writes the exact bytes a route
says (wrong ones included) and logs every complete request it received (route ``log``), so a test can
tell whether anything reached the app. Every read has a timeout (:data:`TIMEOUT`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from hubapps.proxy import http as proxy_http
from hubapps.proxy import listener
from hubapps.proxy.server import ProxyRuntime
from tests.unit.proxy.conftest import ECHO_APP, PREFIX, WS_APP, FakeHub, StartProxy, resource

RAW_APP = ["{python}", resource("raw_http_app.py"), "{port}"]
AUTH = "Authorization: token alice-token\r\n"
#: Seconds any single read may take.
TIMEOUT = 5.0


def pattern(size: int) -> bytes:
    """What ``raw_http_app.py``'s ``download`` route sends."""
    return hashlib.shake_128(b"hubapps").digest(size)


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    #: The body came with chunked framing (already decoded in ``body``).
    chunked: bool = False

    def header(self, name: str) -> str | None:
        values = [value for key, value in self.headers if key.lower() == name.lower()]
        return ", ".join(values) if values else None


class Connection:
    """A raw client connection to the proxy."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def read_answer(self, *, head_only: bool = False) -> Answer:
        """One answer, framed as the head says (``head_only``: the answer to a HEAD request)."""
        reader = self.reader
        async with asyncio.timeout(TIMEOUT):
            head = (await reader.readuntil(b"\r\n\r\n"))[:-4].decode("latin-1")
            status_line, *lines = head.split("\r\n")
            version, status, *_ = status_line.split(" ", 2)
            assert version == "HTTP/1.1", status_line
            headers = [(name, value.strip()) for name, _, value in (line.partition(":") for line in lines)]
            answer = Answer(int(status), headers, b"")
            if head_only or answer.status in (204, 304) or 100 <= answer.status < 200:
                return answer
            if answer.header("Transfer-Encoding") is not None:
                assert answer.header("Transfer-Encoding") == "chunked"
                assert answer.header("Content-Length") is None
                answer.chunked = True
                parts = []
                while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
                    part = await reader.readexactly(size + 2)
                    assert part.endswith(b"\r\n")
                    parts.append(part[:-2])
                assert await reader.readuntil(b"\r\n") == b"\r\n"  # (no trailers)
                answer.body = b"".join(parts)
            elif answer.header("Content-Length") is not None:
                answer.body = await reader.readexactly(int(answer.header("Content-Length") or 0))
            else:
                assert answer.header("Connection") == "close"
                answer.body = await reader.read()
            return answer

    async def read_exactly(self, size: int) -> bytes:
        return await asyncio.wait_for(self.reader.readexactly(size), TIMEOUT)

    async def closed(self) -> bool:
        """Whether the proxy closed the connection (no more bytes, then the end)."""
        try:
            return await asyncio.wait_for(self.reader.read(1), TIMEOUT) == b""
        except ConnectionResetError:
            return True

    async def request(self, data: bytes, *, head_only: bool = False) -> Answer:
        await self.send(data)
        return await self.read_answer(head_only=head_only)


@contextlib.asynccontextmanager
async def connect(proxy: ProxyRuntime) -> AsyncIterator[Connection]:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    try:
        yield Connection(reader, writer)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


def request(
    path: str,
    *,
    method: str = "GET",
    headers: str = "",
    body: bytes = b"",
    version: str = "1.1",
    auth: bool = True,
    target: str | None = None,
) -> bytes:
    """A request for ``path`` under the prefix (or ``target`` as is); ``headers`` are CRLF-terminated lines."""
    head = f"{method} {target or PREFIX + path} HTTP/{version}\r\nHost: 127.0.0.1\r\n"
    return (head + (AUTH if auth else "") + headers + "\r\n").encode("latin-1") + body


async def fetch(proxy: ProxyRuntime, data: bytes) -> Answer:
    """Send ``data`` on a new connection and read one answer."""
    async with connect(proxy) as connection:
        return await connection.request(data)


async def app_log(proxy: ProxyRuntime) -> list[str]:
    """The complete requests the app received (its ``log`` route, asked on a new connection)."""
    await asyncio.sleep(0.1)  # whatever the proxy may have relayed reaches the app first
    answer = await fetch(proxy, request("log"))
    assert answer.status == 200
    log = json.loads(answer.body)
    assert isinstance(log, list)
    return log


@pytest.fixture
async def proxy(start_proxy: StartProxy) -> ProxyRuntime:
    return await start_proxy(RAW_APP)


# -- pipelining, Expect, request bodies ------------------------------------------------------------------


async def test_pipelined_requests_are_answered_completely_and_in_order(proxy: ProxyRuntime) -> None:
    """The first answer is slow (and needs the Hub's word on the token); one is the proxy's own."""
    pipeline = [
        request("echo?n=1&delay=0.3"),
        request("", target="/elsewhere/"),  # outside the prefix: the proxy's own 404
        request("echo?n=3", method="POST", headers="Content-Length: 5\r\n", body=b"three"),
        request("fixed?size=70000"),
        request("echo?n=5"),
    ]
    async with connect(proxy) as connection:
        await connection.send(b"".join(pipeline))
        answers = [await connection.read_answer() for _ in pipeline]
        assert [answer.status for answer in answers] == [200, 404, 200, 200, 200]
        first, _, third, fourth, fifth = answers
        assert json.loads(first.body)["target"] == PREFIX + "echo?n=1&delay=0.3"
        assert json.loads(third.body)["target"] == PREFIX + "echo?n=3"
        assert json.loads(third.body)["body"] == "three"
        assert fourth.body == b"x" * 70000
        assert json.loads(fifth.body)["target"] == PREFIX + "echo?n=5"
        # Still open for more.
        assert (await connection.request(request("echo?n=6"))).status == 200


async def test_expect_100_continue(start_proxy: StartProxy) -> None:
    proxy = await start_proxy(ECHO_APP)
    async with connect(proxy) as connection:
        body = b"the body, sent after 100"
        await connection.send(
            request("upload-here", method="POST", headers=f"Expect: 100-continue\r\nContent-Length: {len(body)}\r\n")
        )
        interim = await asyncio.wait_for(connection.reader.readuntil(b"\r\n\r\n"), TIMEOUT)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        await connection.send(body)
        answer = await connection.read_answer()
        assert answer.status == 200
        seen = json.loads(answer.body)
        assert seen["body"] == body.decode()
        assert "expect" not in {name.lower() for name, _ in seen["headers"]}  # the 100 was the proxy's
        assert (await connection.request(request("again"))).status == 200  # no stray 100 in between


async def test_expect_100_continue_refused_before_the_body(proxy: ProxyRuntime) -> None:
    """No credentials: the viewer gets the refusal instead of a 100, and need not send the body."""
    async with connect(proxy) as connection:
        await connection.send(
            request("echo", method="POST", auth=False, headers="Expect: 100-continue\r\nContent-Length: 1000\r\n")
        )
        answer = await connection.read_answer()
        assert answer.status == 401
        assert answer.header("Connection") == "close"  # the unsent body cannot be skipped
        assert await connection.closed()
    assert not [line for line in await app_log(proxy) if line.startswith("POST")]


async def test_body_that_waited_for_the_hub_is_sent_whole(start_proxy: StartProxy, fake_hub: FakeHub) -> None:
    """A body much bigger than the proxy's waiting buffer, sent while the Hub checks the token: reading
    from the viewer pauses, and resumes once the connection to the app is there (no stall)."""
    proxy = await start_proxy(ECHO_APP)
    fake_hub.user_delay = 0.3  # the token is new: the request waits for the Hub
    body = pattern(4 * 1024 * 1024)
    async with connect(proxy) as connection:
        sending = asyncio.create_task(
            connection.send(request("upload", method="POST", headers=f"Content-Length: {len(body)}\r\n", body=body))
        )
        answer = await connection.read_answer()
        await asyncio.wait_for(sending, TIMEOUT)
    assert answer.status == 200
    assert json.loads(answer.body) == {"bytes": len(body), "sha256": hashlib.sha256(body).hexdigest()}


async def test_chunked_request_body_reaches_the_app_complete(start_proxy: StartProxy) -> None:
    proxy = await start_proxy(ECHO_APP)
    async with connect(proxy) as connection:
        await connection.send(request("chunked-upload", method="PUT", headers="Transfer-Encoding: chunked\r\n"))
        for piece in (b"6\r\nhello \r\n", b"9;ext=1\r\nchunked, \r\n", b"5\r\nworld\r\n", b"0\r\nX-Trailer: 1\r\n\r\n"):
            await connection.send(piece)
            await asyncio.sleep(0.01)
        answer = await connection.read_answer()
        assert answer.status == 200
        seen = json.loads(answer.body)
        assert seen["method"] == "PUT"
        assert seen["body"] == "hello chunked, world"
        headers = {name.lower(): value for name, value in seen["headers"]}
        assert headers["transfer-encoding"] == "chunked"
        assert "content-length" not in headers
        assert (await connection.request(request("next"))).status == 200


# -- what must be refused --------------------------------------------------------------------------------

SMUGGLED = f"GET {PREFIX}smuggled HTTP/1.1\r\nHost: 127.0.0.1\r\n{AUTH}\r\n"


def _post(headers: str, body: str) -> bytes:
    return request("echo?smuggle", method="POST", headers=headers, body=body.encode())


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(
            _post(f"Content-Length: {5 + len(SMUGGLED)}\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n" + SMUGGLED),
            id="content-length-and-chunked",
        ),
        pytest.param(
            _post(f"Transfer-Encoding: chunked\r\nContent-Length: {5 + len(SMUGGLED)}\r\n", "0\r\n\r\n" + SMUGGLED),
            id="chunked-and-content-length",
        ),
        pytest.param(_post("Content-Length: 5\r\nContent-Length: 50\r\n", "hello" + SMUGGLED), id="two-lengths"),
        pytest.param(_post("Content-Length: 5, 50\r\n", "hello" + SMUGGLED), id="length-list"),
        pytest.param(_post("Content-Length: +5\r\n", "hello" + SMUGGLED), id="signed-length"),
        pytest.param(
            _post("Transfer-Encoding: chunked\r\n", "zz\r\nhello\r\n0\r\n\r\n" + SMUGGLED), id="bad-chunk-size"
        ),
        pytest.param(
            _post("Transfer-Encoding: chunked\r\n", "1000000000000000000005\r\nhello\r\n0\r\n\r\n" + SMUGGLED),
            id="chunk-size-overflow",
        ),
        pytest.param(
            _post("Transfer-Encoding: chunked\r\n", "5\r\nhelloXX0\r\n\r\n" + SMUGGLED), id="chunk-longer-than-size"
        ),
        pytest.param(
            _post("Transfer-Encoding: xchunked\r\nContent-Length: 5\r\n", "hello" + SMUGGLED), id="odd-coding"
        ),
        pytest.param(_post("Transfer-Encoding: chunked, identity\r\n", "0\r\n\r\n" + SMUGGLED), id="chunked-not-last"),
        pytest.param(_post("Transfer-Encoding : chunked\r\n", "0\r\n\r\n" + SMUGGLED), id="space-before-colon"),
        pytest.param(_post("X-Padding: a\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n" + SMUGGLED), id="bare-lf"),
    ],
)
async def test_request_smuggling_shapes_are_refused(proxy: ProxyRuntime, data: bytes) -> None:
    async with connect(proxy) as connection:
        answer = await connection.request(data)
        assert answer.status == 400
        assert answer.header("Connection") == "close"
        assert await connection.closed()
    assert (await fetch(proxy, request("echo?control"))).status == 200  # (the log works)
    log = await app_log(proxy)
    assert f"GET {PREFIX}echo?control" in log
    assert not [line for line in log if "smuggle" in line], log


@pytest.mark.parametrize(
    ("bad", "status"),
    [
        pytest.param(b"NOT A REQUEST\r\n\r\n", 400, id="bad-request-line"),
        pytest.param(
            request("echo?broken", method="POST", headers="Transfer-Encoding: chunked\r\n", body=b"zz\r\n"),
            400,
            id="bad-chunk",
        ),
        pytest.param(request("echo?broken", headers=f"Cookie: big={'x' * 70 * 1024}\r\n"), 431, id="head-too-large"),
    ],
)
async def test_bad_request_behind_a_pipelined_one_waits_for_its_answer(
    proxy: ProxyRuntime, bad: bytes, status: int
) -> None:
    """The good request before it is answered (not cut off and answered with the refusal), then the refusal."""
    async with connect(proxy) as connection:
        await connection.send(request("echo?first&delay=0.2") + bad)
        answer = await connection.read_answer()
        assert answer.status == 200
        assert json.loads(answer.body)["target"] == PREFIX + "echo?first&delay=0.2"
        answer = await connection.read_answer()
        assert answer.status == status
        assert answer.header("Connection") == "close"
        assert await connection.closed()
    assert not [line for line in await app_log(proxy) if "broken" in line]


async def test_head_too_large_is_refused_with_431(proxy: ProxyRuntime) -> None:
    async with connect(proxy) as connection:
        answer = await connection.request(request("echo?big", headers=f"Cookie: big={'x' * 70 * 1024}\r\n"))
        assert answer.status == 431
        assert answer.header("Connection") == "close"
        assert await connection.closed()
    # A big head under the limit passes.
    answer = await fetch(proxy, request("echo?fine", headers=f"Cookie: fine={'x' * 50 * 1024}\r\n"))
    assert answer.status == 200
    assert not [line for line in await app_log(proxy) if "big" in line]


async def test_endless_header_line_is_refused_without_waiting_for_its_end(proxy: ProxyRuntime) -> None:
    """A header line that never ends must not be buffered for ever: 431 once the head passes the limit."""
    async with connect(proxy) as connection:
        start = request("echo?endless")[:-2] + b"X-Endless: "
        await connection.send(start)
        left = proxy_http.MAX_HEAD_SIZE + 1 - len(start)  # (no more: what the proxy did not read would reset)
        while left > 0:
            await connection.send(b"y" * min(left, 8192))
            left -= 8192
            await asyncio.sleep(0.002)
        answer = await connection.read_answer()
        assert answer.status == 431
        assert await connection.closed()
    assert not [line for line in await app_log(proxy) if "endless" in line]


# -- framing of answers ----------------------------------------------------------------------------------


async def test_head_request_gets_the_length_and_no_body(proxy: ProxyRuntime) -> None:
    async with connect(proxy) as connection:
        answer = await connection.request(request("fixed?size=1234", method="HEAD"), head_only=True)
        assert answer.status == 200
        assert answer.header("Content-Length") == "1234"
        # An app that wrongly sends a body with its HEAD answer: the body must not reach the viewer.
        answer = await connection.request(request("download?size=5000", method="HEAD"), head_only=True)
        assert answer.status == 200
        assert answer.header("Content-Length") == "5000"
        # The next answer on the connection starts right after the heads (no stray body bytes).
        answer = await connection.request(request("fixed?size=1234"))
        assert answer.status == 200
        assert answer.body == b"x" * 1234


@pytest.mark.parametrize("code", [204, 304])
async def test_bodiless_statuses_keep_the_connection_usable(proxy: ProxyRuntime, code: int) -> None:
    async with connect(proxy) as connection:
        await connection.send(request(f"status?code={code}") + request("fixed?size=10"))
        answer = await connection.read_answer()
        assert answer.status == code
        assert answer.header("Transfer-Encoding") is None
        answer = await connection.read_answer()
        assert (answer.status, answer.body) == (200, b"x" * 10)


async def test_interim_answers_of_the_app_are_not_relayed(proxy: ProxyRuntime) -> None:
    async with connect(proxy) as connection:
        answer = await connection.request(request("early-hints"))
        assert (answer.status, answer.body) == (200, b"ok")
        assert (await connection.request(request("fixed?size=3"))).body == b"xxx"


@pytest.mark.parametrize("framing", ["close", "chunked"])
async def test_http10_viewer_gets_a_close_delimited_answer(proxy: ProxyRuntime, framing: str) -> None:
    async with connect(proxy) as connection:
        await connection.send(request(f"download?size=5000&framing={framing}", version="1.0"))
        answer = await connection.read_answer()
        assert answer.status == 200
        assert answer.header("Transfer-Encoding") is None  # HTTP/1.0 knows no chunks
        assert answer.header("Connection") == "close"
        assert answer.body == pattern(5000)
        assert await connection.closed()


async def test_http10_viewer_with_a_length_gets_the_whole_answer(proxy: ProxyRuntime) -> None:
    async with connect(proxy) as connection:
        answer = await connection.request(request("fixed?size=300", version="1.0"))
        assert (answer.status, answer.body) == (200, b"x" * 300)
        assert answer.header("Connection") == "close"  # (1.0 without keep-alive)
        assert await connection.closed()


@pytest.mark.parametrize("framing", ["close", "chunked"])
async def test_answer_without_length_is_chunked_for_http11(proxy: ProxyRuntime, framing: str) -> None:
    async with connect(proxy) as connection:
        answer = await connection.request(request(f"download?size=300000&framing={framing}"))
        assert answer.status == 200
        assert answer.chunked
        assert answer.header("Connection") is None
        assert answer.body == pattern(300000)
        # The connection is reusable.
        answer = await connection.request(request("fixed?size=5"))
        assert (answer.status, answer.body) == (200, b"xxxxx")


def decode_chunked(raw: bytes) -> bytes:
    """The body of a complete chunked message body ``raw`` (which must end exactly at its last chunk)."""
    body, at = bytearray(), 0
    while True:
        end = raw.index(b"\r\n", at)
        size = int(raw[at:end], 16)
        at = end + 2
        if size == 0:
            assert raw[at:] == b"\r\n"
            return bytes(body)
        body += raw[at : at + size]
        assert raw[at + size : at + size + 2] == b"\r\n"
        at += size + 2


@pytest.mark.parametrize("framing", ["length", "close"])
async def test_slow_reader_gets_a_big_download_intact(proxy: ProxyRuntime, framing: str) -> None:
    """The viewer reads nothing at first, then slowly: the proxy must wait for it, not stock up or lose data."""
    size = 20 * 1024 * 1024
    async with connect(proxy) as connection:
        await connection.send(request(f"download?size={size}&framing={framing}"))
        await asyncio.sleep(0.3)
        # Meanwhile the proxy holds at most about its high-water mark for this viewer.
        assert proxy._server is not None
        buffered = [c.transport.get_write_buffer_size() for c in proxy._server.connections if c.transport]
        assert buffered
        assert max(buffered) < 2 * 1024 * 1024, buffered
        reader = connection.reader
        async with asyncio.timeout(TIMEOUT * 2):
            head = await reader.readuntil(b"\r\n\r\n")
            raw = bytearray()
            for _ in range(30):  # slowly at first
                raw += await reader.read(16384)
                await asyncio.sleep(0.005)
            if framing == "length":
                assert f"Content-Length: {size}\r\n".encode() in head
                raw += await reader.readexactly(size - len(raw))
                body = bytes(raw)
            else:
                assert b"Transfer-Encoding: chunked\r\n" in head
                while not raw.endswith(b"\r\n0\r\n\r\n"):
                    more = await reader.read(1 << 20)
                    assert more, "the answer ended early"
                    raw += more
                body = decode_chunked(bytes(raw))
        assert len(body) == size
        assert hashlib.sha256(body).digest() == hashlib.sha256(pattern(size)).digest()
        assert (await connection.request(request("fixed?size=2"))).body == b"xx"  # still in step


# -- the app's connections -------------------------------------------------------------------------------


async def test_request_meeting_a_connection_the_app_dropped_is_retried(proxy: ProxyRuntime) -> None:
    async with connect(proxy) as connection:
        assert (await connection.request(request("drop-next"))).body == b"ok"
        # The pooled connection carries this request; the app closes it unanswered: retried on a new one.
        answer = await connection.request(request("echo?retried"))
        assert answer.status == 200
        assert json.loads(answer.body)["target"] == PREFIX + "echo?retried"
    log = await app_log(proxy)
    assert f"DROPPED GET {PREFIX}echo?retried HTTP/1.1" in log  # it did meet the dropped connection
    assert log.count(f"GET {PREFIX}echo?retried") == 1


async def test_request_with_a_body_is_not_retried(proxy: ProxyRuntime) -> None:
    """The app may have acted on a request it did not answer: with a body, the viewer gets a 502."""
    async with connect(proxy) as connection:
        assert (await connection.request(request("drop-next"))).body == b"ok"
        answer = await connection.request(
            request("echo?once", method="POST", headers="Content-Length: 4\r\n", body=b"once")
        )
        assert answer.status == 502
    assert not [line for line in await app_log(proxy) if line.startswith("POST")]


async def test_connection_the_app_closed_while_idle_is_not_used(proxy: ProxyRuntime) -> None:
    async with connect(proxy) as connection:
        assert (await connection.request(request("close-soon"))).body == b"ok"
        await asyncio.sleep(0.2)
        answer = await connection.request(request("echo?after-close"))
        assert answer.status == 200
    assert not [line for line in await app_log(proxy) if line.startswith("DROPPED")]


async def test_malformed_answer_gives_a_502_page(proxy: ProxyRuntime) -> None:
    async with connect(proxy) as connection:
        answer = await connection.request(request("malformed-head", headers="Accept: text/html\r\n"))
        assert answer.status == 502
        assert answer.header("Content-Type") == "text/html; charset=utf-8"
        assert b"not valid HTTP" in answer.body
        assert (await connection.request(request("fixed?size=1"))).body == b"x"  # the viewer's connection lives on


@pytest.mark.parametrize("route", ["malformed-body", "truncated"])
async def test_answer_broken_off_after_its_head_is_not_made_to_look_complete(proxy: ProxyRuntime, route: str) -> None:
    async with connect(proxy) as connection:
        await connection.send(request(route))
        with pytest.raises((asyncio.IncompleteReadError, ConnectionResetError)):
            await connection.read_answer()


# -- websockets and upgrades -----------------------------------------------------------------------------


OWNER_TOKEN = "alice-token"  # (the fake Hub's)


def upgrade(path: str, *, origin: str = "http://127.0.0.1", token: str | None = OWNER_TOKEN) -> bytes:
    return request(
        path,
        auth=False,
        headers=(
            (f"Authorization: token {token}\r\n" if token else "")
            + "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
            + f"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: {origin}\r\n"
        ),
    )


#: Upgrades the proxy or the app refuses, and the status of the refusal.
REFUSED_UPGRADES = {
    "anonymous": (upgrade("raw-upgrade", token=None), 401),
    "stranger": (upgrade("raw-upgrade", token="bob-token"), 403),
    "unknown-token": (upgrade("raw-upgrade", token="nope"), 403),
    "cross-origin": (upgrade("raw-upgrade", origin="https://evil.example"), 403),
    "app": (upgrade("refuse-upgrade"), 403),
}


@pytest.mark.parametrize("case", sorted(REFUSED_UPGRADES))
async def test_a_refused_upgrade_is_a_plain_answer_that_closes_the_connection(proxy: ProxyRuntime, case: str) -> None:
    """``Connection: close``, never ``Upgrade`` (configurable-http-proxy copies the request's ``Connection:
    Upgrade`` into an answer that has no ``Connection`` header), the whole answer, then the close. Twice:
    the first Hub lookup of a token is awaited, the second is decided from the cache."""
    data, status = REFUSED_UPGRADES[case]
    for _ in range(2):
        async with connect(proxy) as connection:
            await connection.send(data)
            answer = await connection.read_answer()
            assert answer.status == status
            assert answer.header("Connection") == "close"
            assert answer.header("Upgrade") is None
            assert await connection.closed()


async def test_a_refused_upgrade_never_breaks_the_next_one(proxy: ProxyRuntime) -> None:
    """A client that pools connections (configurable-http-proxy's agent) sends the next upgrade on the same
    connection when the answer lets it; it must then be answered, or the answer must have said close."""
    refusals = [REFUSED_UPGRADES[case][0] for case in sorted(REFUSED_UPGRADES)]
    for attempt in range(40):
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        connection = Connection(reader, writer)
        try:
            refused = await connection.request(refusals[attempt % len(refusals)])
            assert refused.status in (401, 403)
            if refused.header("Connection") == "close":  # the pool drops it and opens another
                assert await connection.closed()
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
                connection = Connection(reader, writer)
            await connection.send(upgrade("raw-upgrade"))
            async with asyncio.timeout(TIMEOUT):
                head = await connection.reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 101 "), head
        finally:
            writer.close()


async def test_an_upgrade_while_the_app_starts_waits_for_it(start_proxy: StartProxy) -> None:
    proxy = await start_proxy([*WS_APP, "1.5"], wait_ready=False)
    started = asyncio.get_running_loop().time()
    async with connect(proxy) as connection:
        await connection.send(upgrade("ws"))
        async with asyncio.timeout(30):  # (a loaded machine takes a while to start Python and aiohttp)
            head = await connection.reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101 "), head
    assert asyncio.get_running_loop().time() - started > 1.0


async def test_an_upgrade_waits_for_a_starting_app_only_so_long(start_proxy: StartProxy) -> None:
    argv = ["{python}", resource("never_ready.py"), "{port}"]
    proxy = await start_proxy(argv, "--websocket-start-wait=0.5", "--ready-timeout=60", wait_ready=False)
    started = asyncio.get_running_loop().time()
    async with connect(proxy) as connection:
        answer = await connection.request(upgrade("ws"))
        assert answer.status == 503
        assert answer.header("Connection") == "close"
        assert await connection.closed()
    assert 0.4 < asyncio.get_running_loop().time() - started < 4


async def test_an_upgrade_stops_waiting_when_the_app_failed_for_good(start_proxy: StartProxy) -> None:
    argv = ["{python}", resource("crash_on_start.py"), "{port}"]
    proxy = await start_proxy(argv, "--websocket-start-wait=60", "--max-restarts=0", wait_ready=False)
    started = asyncio.get_running_loop().time()
    async with connect(proxy) as connection:
        await connection.send(upgrade("ws"))
        async with asyncio.timeout(30):
            answer = await connection.read_answer()
        assert (answer.status, answer.header("Connection")) == (503, "close")
    assert asyncio.get_running_loop().time() - started < 30
    assert proxy.process.state == "failed"


# -- targets ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["//evil.example" + PREFIX + "echo?target", "evil.example:443"])
async def test_odd_targets_never_leave_for_another_host(proxy: ProxyRuntime, target: str) -> None:
    method = "CONNECT" if not target.startswith("/") else "GET"
    async with connect(proxy) as connection:
        answer = await connection.request(request("", method=method, target=target))
        assert answer.status == 404  # (the prefix is not the target's path: nothing is forwarded)
        if method == "CONNECT":
            assert await connection.closed()  # no tunnel
    assert not [line for line in await app_log(proxy) if "evil" in line or "target" in line]


# -- idle connections ------------------------------------------------------------------------------------


async def test_idle_viewer_connections_are_closed(start_proxy: StartProxy, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(listener, "KEEP_ALIVE_TIMEOUT", 0.3)
    monkeypatch.setattr(listener, "SWEEP_INTERVAL", 0.1)
    proxy = await start_proxy(RAW_APP)
    async with connect(proxy) as idle, connect(proxy) as half_head:
        assert (await idle.request(request("fixed?size=1"))).status == 200
        await half_head.send(request("fixed?size=1")[:20])  # a head that never ends
        assert await idle.closed()
        assert await half_head.closed()


# -- slow senders ----------------------------------------------------------------------------------------

SLOW_LIMITS = ("--request-head-timeout=0.5", "--request-body-timeout=0.5", "--request-body-min-rate=100")


async def drip(connection: Connection, data: bytes, every: float) -> None:
    """Send ``data`` a byte every ``every`` seconds."""
    for byte in data:
        await connection.send(bytes([byte]))
        await asyncio.sleep(every)


@contextlib.asynccontextmanager
async def dripping(connection: Connection, data: bytes, every: float) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(drip(connection, data, every))
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await task


async def test_a_body_slower_than_the_minimum_rate_gets_408(start_proxy: StartProxy) -> None:
    proxy = await start_proxy(ECHO_APP, *SLOW_LIMITS)
    async with connect(proxy) as connection:
        await connection.send(request("upload", method="POST", headers="Content-Length: 1000\r\n"))
        async with dripping(connection, b"z" * 1000, 0.05) as sending:  # 20 bytes/s: 50 s for the body
            answer = await connection.read_answer()
            assert not sending.done()
        assert answer.status == 408
        assert answer.header("Connection") == "close"
        assert await connection.closed()


async def test_a_body_that_stops_gets_408(start_proxy: StartProxy) -> None:
    proxy = await start_proxy(ECHO_APP, *SLOW_LIMITS)
    async with connect(proxy) as connection:
        # Fast enough for a long deadline by rate (10 000 bytes at once), then nothing.
        await connection.send(request("upload", method="POST", headers="Content-Length: 20000\r\n", body=b"z" * 10000))
        answer = await connection.read_answer()
        assert answer.status == 408
        assert await connection.closed()


async def test_a_head_drip_gets_408(start_proxy: StartProxy) -> None:
    proxy = await start_proxy(RAW_APP, *SLOW_LIMITS)
    async with connect(proxy) as connection:
        await connection.send(f"GET {PREFIX}echo HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode())
        async with dripping(connection, b"X-Slow: " + b"a" * 1000, 0.05) as sending:
            answer = await connection.read_answer()
            assert not sending.done()
        assert answer.status == 408
        assert await connection.closed()
    assert not [line for line in await app_log(proxy) if "X-Slow" in line]


async def test_time_the_proxy_is_not_reading_does_not_count(start_proxy: StartProxy, fake_hub: FakeHub) -> None:
    """A body bigger than the waiting buffer while the Hub takes longer than the body timeout (reading
    paused), and a body held back for ``Expect: 100-continue`` while the Hub answers: both go through."""
    proxy = await start_proxy(ECHO_APP, *SLOW_LIMITS)
    fake_hub.user_delay = 1.0  # twice the body timeout
    body = pattern(2 * 1024 * 1024)
    async with connect(proxy) as connection:
        sending = asyncio.create_task(
            connection.send(request("upload", method="POST", headers=f"Content-Length: {len(body)}\r\n", body=body))
        )
        answer = await connection.read_answer()
        await asyncio.wait_for(sending, TIMEOUT)
    assert answer.status == 200
    assert json.loads(answer.body)["bytes"] == len(body)
    async with connect(proxy) as connection:
        small = b"after the 100"
        # Another token, new to the proxy: this request waits for the Hub too.
        headers = f"Authorization: token root-token\r\nExpect: 100-continue\r\nContent-Length: {len(small)}\r\n"
        await connection.send(request("upload", method="POST", headers=headers, auth=False))
        interim = await asyncio.wait_for(connection.reader.readuntil(b"\r\n\r\n"), TIMEOUT)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        await connection.send(small)
        assert (await connection.read_answer()).status == 200
