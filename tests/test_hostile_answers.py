"""Hostile answers stop at the body cap or become a typed error: decompression bombs (chained codings too),
JSON nested 200k deep, HTML or XML where JSON was expected, numbers no JSON or decimal should hold. Every
scenario runs through the sync and the async runner.

The memory bound is measured in a fresh interpreter, over a real loopback socket: the peak RSS and the
traced peak while refusing a 1.4 KB ``gzip, gzip`` answer that would inflate to 769 MiB.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import textwrap
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from toy_server import TOKEN

from invoicekit.adapter import read_json
from invoicekit.engine import RetryPolicy
from invoicekit.engine._core import DEFAULT_MAX_BODY
from invoicekit.errors import MalformedResponse, NotFound
from invoicekit.testing import run_books
from invoicekit.xmlsafe import XmlSyntaxError, parse_xml

pytestmark = pytest.mark.usefixtures("toy_entry_point")

FAST = RetryPolicy(backoff=0.001, max_backoff=0.01)
MIB = 1024 * 1024


def deflate(data: bytes, wbits: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return packer.compress(data) + packer.flush()


def zeros(size: int, wbits: int) -> bytes:
    """``size`` zero bytes compressed without ever holding them (a bomb of any size costs no memory to make)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    block = bytes(MIB)
    parts = [packer.compress(block) for _ in range(size // MIB)]
    return b"".join(parts) + packer.compress(bytes(size % MIB)) + packer.flush()


GZIP, ZLIB, RAW = 31, 15, -15


def bomb(coding: str, size: int) -> bytes:
    """``size`` zeros under ``coding`` (applied left to right, as Content-Encoding lists them)."""
    names = [name.strip() for name in coding.split(",")]
    body = zeros(size, GZIP if names[0] == "gzip" else RAW)
    for name in names[1:]:
        body = deflate(body, GZIP if name == "gzip" else RAW)
    return body


class Chunked(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body handed over in small raw chunks, as a socket would (an in-memory transport gives it whole)."""

    def __init__(self, data: bytes, size: int = 7, fail_after: int | None = None) -> None:
        self.data, self.size, self.fail_after = data, size, fail_after

    def _chunks(self) -> Iterator[bytes]:
        for start in range(0, len(self.data), self.size):
            if self.fail_after is not None and start >= self.fail_after:
                raise httpx.ReadError("connection reset by peer")
            yield self.data[start : start + self.size]

    def __iter__(self) -> Iterator[bytes]:
        yield from self._chunks()

    async def __aiter__(self) -> Any:
        for chunk in self._chunks():
            yield chunk


def serve(*answers: Callable[[], httpx.Response]) -> Callable[[httpx.Request], httpx.Response]:
    pending = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("token") != TOKEN:
            return httpx.Response(401)
        return pending.pop(0)() if len(pending) > 1 else pending[0]()

    return handler


@pytest.fixture(params=["sync", "async"])
def get(request: pytest.FixtureRequest) -> Callable[..., Any]:
    """``get(handler)``: books.clients.get("1") of the toy provider, answered by ``handler``."""

    def run(handler: Callable[[httpx.Request], httpx.Response]) -> Any:
        transport = httpx.MockTransport(handler)
        op = lambda b: b.clients.get("1")  # noqa: E731
        return run_books(request.param, "toy", op, transport=transport, token=TOKEN, retry=FAST)

    return run


def encoded(body: bytes, coding: str, **kw: Any) -> Callable[[], httpx.Response]:
    headers = {"Content-Type": "application/json", "Content-Encoding": coding}
    return lambda: httpx.Response(200, headers=headers, stream=Chunked(body, **kw))


# --- codings: decoded exactly, bombs refused at the cap ------------------------------------------------------


@pytest.mark.parametrize(
    ("coding", "pack"),
    [
        ("gzip", lambda b: gzip.compress(b)),
        ("x-gzip", lambda b: gzip.compress(b)),
        ("deflate", lambda b: deflate(b, ZLIB)),  # RFC 9110: zlib-wrapped
        ("deflate", lambda b: deflate(b, RAW)),  # what some servers send instead
        ("gzip, gzip", lambda b: gzip.compress(gzip.compress(b))),
        ("deflate, gzip", lambda b: gzip.compress(deflate(b, ZLIB))),
        ("identity, gzip", lambda b: gzip.compress(b)),
    ],
)
def test_codings_are_decoded_exactly(get: Callable[..., Any], coding: str, pack: Callable[[bytes], bytes]) -> None:
    # Several 64 KiB pieces of output, from 7-byte raw chunks (so zlib headers arrive split).
    record = {"id": 1, "name": "Encoded BV", "notes": "".join(f"{i:07d}" for i in range(60_000))}
    got = get(serve(encoded(pack(json.dumps(record).encode()), coding)))
    assert got.name == "Encoded BV"
    assert got.raw == record


@pytest.mark.parametrize("coding", ["gzip, gzip", "gzip", "deflate", "deflate, gzip, gzip"])
def test_decompression_bombs_stop_at_the_body_cap(get: Callable[..., Any], coding: str) -> None:
    body = bomb(coding, 200 * MIB)
    with pytest.raises(MalformedResponse) as caught:
        get(serve(encoded(body, coding, size=64 * 1024)))
    assert f"larger than {DEFAULT_MAX_BODY} bytes" in str(caught.value)
    assert caught.value.status == 200


def test_codings_we_did_not_ask_for_are_refused(get: Callable[..., Any]) -> None:
    body = json.dumps({"id": 1, "name": "A"}).encode()
    with pytest.raises(MalformedResponse, match="'br'"):
        get(serve(encoded(body, "br")))
    with pytest.raises(MalformedResponse, match="5 Content-Encodings"):
        get(serve(encoded(body, "identity, identity, identity, identity, identity")))


def test_a_corrupt_gzip_body_is_malformed(get: Callable[..., Any]) -> None:
    packed = bytearray(gzip.compress(json.dumps({"id": 1, "name": "A" * 5000}).encode()))
    packed[30:40] = b"\xff" * 10
    with pytest.raises(MalformedResponse, match="could not be decoded"):
        get(serve(encoded(bytes(packed), "gzip")))


def test_we_only_ask_for_codings_we_can_bound(get: Callable[..., Any]) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["accept-encoding"])
        return httpx.Response(200, json={"id": 1, "name": "A"})

    get(handler)
    assert seen == ["gzip, deflate"]


def test_an_error_status_with_a_bomb_body_is_still_that_status(get: Callable[..., Any]) -> None:
    body = bomb("gzip, gzip", 100 * MIB)
    headers = {"Content-Encoding": "gzip, gzip"}
    unavailable = lambda: httpx.Response(503, headers=headers, stream=Chunked(body, size=65536))  # noqa: E731
    fine = lambda: httpx.Response(200, json={"id": 1, "name": "After Retries"})  # noqa: E731
    assert get(serve(unavailable, unavailable, fine)).name == "After Retries"  # retried as any 503 is
    with pytest.raises(NotFound):
        get(serve(lambda: httpx.Response(404, headers=headers, stream=Chunked(body, size=65536))))


def test_a_body_cut_short_on_a_read_is_retried(get: Callable[..., Any]) -> None:
    body = json.dumps({"id": 1, "name": "Second Try", "notes": "x" * 1000}).encode()
    cut = lambda: httpx.Response(200, stream=Chunked(body, size=100, fail_after=300))  # noqa: E731
    whole = lambda: httpx.Response(200, stream=Chunked(body, size=100))  # noqa: E731
    assert get(serve(cut, whole)).name == "Second Try"


# --- what JSON readers refuse --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"[" * 200_000 + b"]" * 200_000, "application/json"),
        (b'{"a": ' * 200_000 + b"1" + b"}" * 200_000, "application/json"),
        (b"<!DOCTYPE html><html><body><h1>Maintenance</h1></body></html>", "text/html"),
        (b"<?xml version='1.0'?><client><client_id>1</client_id><name>Foreign</name></client>", "application/xml"),
        (b"", "application/json"),
        (b'{"id": 1, "name": "A", "total": NaN}', "application/json"),
        (b'{"id": 1, "name": "A", "total": Infinity}', "application/json"),
        (b'{"id": 1, "name": "A", "total": -Infinity}', "application/json"),
        (b'{"id": 1, "name": "A", "total": 1e999999}', "application/json"),
        (b'{"id": 1, "name": "A", "total": 1e99999999999999999999999}', "application/json"),
        (b'{"id": 1, "name": "A", "total": 1' + b"0" * 5000 + b"}", "application/json"),
    ],
    ids=["deep-list", "deep-object", "html", "xml", "empty", "nan", "inf", "-inf", "1e999999", "1e1e23", "5000-digits"],
)
def test_what_json_readers_refuse_is_malformed(get: Callable[..., Any], body: bytes, content_type: str) -> None:
    with pytest.raises(MalformedResponse) as caught:
        get(serve(lambda: httpx.Response(200, content=body, headers={"Content-Type": content_type})))
    assert caught.value.status == 200
    assert len(str(caught.value)) < 400  # says why, without quoting the body back


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_an_error_answer_the_adapter_cannot_read_is_still_its_typed_error(mode: str) -> None:
    # Cashaca reads its error shape with response.json(), which a body nested 200k deep breaks.
    deep = b'{"error": ' * 200_000 + b"1" + b"}" * 200_000
    transport = httpx.MockTransport(lambda request: httpx.Response(404, content=deep))
    with pytest.raises(NotFound) as caught:
        run_books(mode, "cashaca", lambda b: b.clients.get("1"), token="tok-deep-0001", transport=transport)
    assert caught.value.status == 404


def test_json_numbers_are_decimals_within_range() -> None:
    answer = httpx.Response(200, content=b'{"a": 0.1, "b": 1e30, "c": 7, "d": -2.50}')
    data = read_json(answer, "toy")
    assert [str(data[k]) for k in "abd"] == ["0.1", "1E+30", "-2.50"]
    assert data["c"] == 7
    assert type(data["c"]) is int


def _json_loads_reading(body: bytes) -> Any:
    """What read_json gave when it was json.loads alone (with its hooks): the data, or the reason it refused."""
    from invoicekit.adapter import _json_decimal, _no_constant

    try:
        return json.loads(body, parse_float=_json_decimal, parse_constant=_no_constant)
    except RecursionError:
        return MalformedResponse("the JSON answer is nested too deeply", provider="toy")
    except ValueError as exc:
        return MalformedResponse(f"the response body is not valid JSON ({exc})", provider="toy")


@pytest.mark.parametrize(
    "body",
    [
        b'[{"a": "1.50", "b": 2.50, "c": -0, "d": 1E2, "e": [true, false, null], "a": "last"}]',
        b'\xef\xbb\xbf{"bom": 1.5}',  # msgspec refuses a BOM and UTF-16; json.loads reads them
        '{"utf16": 2.5}'.encode("utf-16"),
        b'["\\ud800"]',  # a lone surrogate escape: msgspec refuses it, json.loads reads it
        b"[" * 1500 + b"]" * 1500,  # deeper than msgspec goes, within the interpreter's stack
        b"-" + b"1" * 4300,  # the last integer length json.loads reads
        b"1" * 4301,
        b'{"a": 1e309}',
        b'{"a": "\x01"}',
        b"[1,]",
    ],
    ids=["page", "bom", "utf16", "surrogate", "depth-1500", "4300-digits", "4301-digits", "1e309", "control", "comma"],
)
def test_read_json_reads_and_refuses_what_json_loads_did(body: bytes) -> None:
    # read_json decodes with msgspec and leaves what it refuses to json.loads: the result, or the reason, is
    # json.loads's, whichever decoder gave it.
    expected = _json_loads_reading(body)
    if isinstance(expected, MalformedResponse):
        with pytest.raises(MalformedResponse) as caught:
            read_json(httpx.Response(200, content=body), "toy")
        assert caught.value.message == expected.message
    else:
        assert read_json(httpx.Response(200, content=body), "toy") == expected


def test_xml_nested_200k_deep_is_a_syntax_error_not_a_recursion_error() -> None:
    with pytest.raises(XmlSyntaxError):
        parse_xml(b"<a>" * 200_000 + b"</a>" * 200_000)


# --- the memory bound, measured over loopback in a fresh interpreter -------------------------------------------

_MEASURE = textwrap.dedent(
    r"""
    import asyncio, json, re, socket, sys, threading, time, tracemalloc
    import invoicekit
    from invoicekit.errors import MalformedResponse, NotFound

    body, coding, mode = open(sys.argv[1], "rb").read(), sys.argv[2], sys.argv[3]
    server = socket.create_server(("127.0.0.1", 0))

    def answer(connection, first):
        with connection:
            request = b""
            while b"\r\n\r\n" not in request:
                request += connection.recv(65536)
            if first:
                head = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
                return connection.sendall(head)
            head = ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    f"Content-Encoding: {coding}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n")
            try:
                connection.sendall(head.encode() + body)
            except OSError:
                pass  # the client hung up once it had enough

    def serve():
        for number in range(2):
            connection, _ = server.accept()
            answer(connection, number == 0)

    threading.Thread(target=serve, daemon=True).start()
    base_url = f"http://127.0.0.1:{server.getsockname()[1]}/api/v2"

    def status(field):  # bytes
        return int(re.search(field + r":\s+(\d+) kB", open("/proc/self/status").read()).group(1)) * 1024

    def begin():
        # Forget the peak of the imports (Linux: "5" resets VmHWM and ru_maxrss), so the peak read after
        # the request is the request's own.
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
        tracemalloc.start()
        return status("VmRSS"), time.perf_counter()

    def end(begun, error):
        seconds = time.perf_counter() - begun[1]
        return {"error": error, "seconds": seconds, "traced_peak": tracemalloc.get_traced_memory()[1],
                "rss_peak_increase": status("VmHWM") - begun[0]}

    credentials = dict(token="tok-measure-0001", base_url=base_url)
    # A 404 first: every module and the connection machinery are loaded before anything is measured.
    if mode == "sync":
        with invoicekit.connect("cashaca", **credentials) as books:
            try:
                books.clients.get("2")
            except NotFound:
                pass
            begun = begin()
            try:
                books.clients.get("1")
            except MalformedResponse as exc:
                result = end(begun, str(exc))
    else:
        async def main():
            async with invoicekit.connect_async("cashaca", **credentials) as books:
                try:
                    await books.clients.get("2")
                except NotFound:
                    pass
                begun = begin()
                try:
                    await books.clients.get("1")
                except MalformedResponse as exc:
                    return end(begun, str(exc))
        result = asyncio.run(main())
    print(json.dumps(result))
    """
)


@pytest.fixture(scope="module")
def chained_gzip_bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bomb") / "gzip-gzip.bin"
    path.write_bytes(bomb("gzip, gzip", 769 * MIB))
    return path


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="measures peak RSS through Linux /proc")
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_refusing_a_chained_gzip_bomb_stays_within_30_mb_of_the_cap(chained_gzip_bomb: Path, mode: str) -> None:
    assert chained_gzip_bomb.stat().st_size < 2000  # 769 MiB of zeros, twice gzipped
    done = subprocess.run(  # noqa: S603 (this interpreter, a fixed script)
        [sys.executable, "-c", _MEASURE, str(chained_gzip_bomb), "gzip, gzip", mode],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"{mode}: {result}")  # the numbers, for pytest -s
    assert result["error"] is not None
    assert f"larger than {DEFAULT_MAX_BODY} bytes" in result["error"]
    assert result["rss_peak_increase"] <= DEFAULT_MAX_BODY + 30 * 1000 * 1000
    assert result["traced_peak"] <= DEFAULT_MAX_BODY + 30 * 1000 * 1000
