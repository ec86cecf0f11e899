"""Hostile answers from a server posing as EenvoudigFactureren: an XML bomb, external entities pointing at a
local file, a 50 MB body. Each gives a typed MalformedResponse, quickly, without reading the file and
without holding the body in memory."""

from __future__ import annotations

import asyncio
import os
import secrets
import threading
import time
import tracemalloc
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import invoicekit
from invoicekit.errors import MalformedResponse, ProviderRejected

KEY = "ef-hostile-test-key-0123"
MB = 1024 * 1024
XML = {"Content-Type": "application/xml; charset=utf-8"}


def _billion_laughs(levels: int = 9) -> bytes:
    """The classic entity bomb: ten references per level, so ``&lol9;`` would expand to 10**9 "lol"s."""
    lines = ['<!ENTITY lol0 "lol">']
    for level in range(1, levels + 1):
        lines.append(f'<!ENTITY lol{level} "' + f"&lol{level - 1};" * 10 + '">')
    dtd = "\n ".join(lines)
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE client [\n {dtd}\n]>\n<client><name>&lol{levels};</name></client>'.encode()
    )


BOMB = _billion_laughs()


def xxe(target: Path, *, parameter: bool = False) -> bytes:
    url = target.resolve().as_uri()
    if parameter:
        return f'<?xml version="1.0"?><!DOCTYPE client [<!ENTITY % p SYSTEM "{url}"> %p;]><client/>'.encode()
    return (
        f'<?xml version="1.0"?><!DOCTYPE client [<!ENTITY xxe SYSTEM "{url}">]>'
        "<client><client_id>1</client_id><name>&xxe;</name></client>"
    ).encode()


def connect(serve: Callable[[httpx.Request], httpx.Response], **kw: Any) -> invoicekit.Books:
    return invoicekit.connect("eenvoudigfactureren", api_key=KEY, transport=httpx.MockTransport(serve), **kw)


def answer(body: bytes, status: int = 200) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(status, content=body, headers=XML)


def test_an_xml_bomb_is_refused_at_once() -> None:
    started = time.perf_counter()
    with connect(answer(BOMB)) as books, pytest.raises(MalformedResponse) as caught:
        books.clients.get("1")
    assert time.perf_counter() - started < 1.0
    assert caught.value.provider == "eenvoudigfactureren"
    assert caught.value.status == 200
    assert "entities" in caught.value.message
    assert "lollol" not in str(caught.value)


def test_an_xml_bomb_in_a_list_and_in_an_error_answer() -> None:
    with connect(answer(BOMB)) as books, pytest.raises(MalformedResponse):
        list(books.invoices.list())
    # A hostile error body still gives the typed error of its status; it is never expanded.
    with connect(answer(BOMB, status=400)) as books, pytest.raises(ProviderRejected) as caught:
        books.clients.create(invoicekit.Client(name="Target BV"))
    assert caught.value.status == 400
    assert "lollol" not in caught.value.message


@pytest.mark.parametrize("parameter", [False, True], ids=["general-entity", "parameter-entity"])
def test_an_external_entity_never_reads_the_file(tmp_path: Path, parameter: bool) -> None:
    secret = tmp_path / "secret.txt"
    marker = "TOP-SECRET-" + secrets.token_hex(8)
    secret.write_text(marker)
    with connect(answer(xxe(secret, parameter=parameter))) as books, pytest.raises(MalformedResponse) as caught:
        books.clients.get("1")
    for text in (str(caught.value), repr(caught.value), caught.value.body or ""):
        assert marker not in text
    assert "entities" in caught.value.message


def test_an_external_entity_is_not_even_opened(tmp_path: Path) -> None:
    # A FIFO blocks whoever opens it for reading until a writer comes: if the parser tried to open the
    # entity's target, the request would hang instead of failing at once.
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    outcome: list[BaseException] = []

    def fetch() -> None:
        with connect(answer(xxe(fifo))) as books:
            try:
                books.clients.get("1")
            except BaseException as exc:  # collected for the main thread
                outcome.append(exc)

    worker = threading.Thread(target=fetch, daemon=True)
    worker.start()
    worker.join(timeout=5)
    assert not worker.is_alive(), "the parser opened the external entity's file"
    assert len(outcome) == 1
    assert isinstance(outcome[0], MalformedResponse)


def test_an_external_dtd_and_a_hostile_ubl_download(tmp_path: Path) -> None:
    secret = tmp_path / "evil.dtd"
    secret.write_text('<!ENTITY leak "TOP-SECRET">')
    external = f'<?xml version="1.0"?><!DOCTYPE client SYSTEM "{secret.as_uri()}"><client/>'.encode()
    with connect(answer(external)) as books, pytest.raises(MalformedResponse, match="external DTD"):
        books.clients.get("1")
    with connect(answer(xxe(secret))) as books, pytest.raises(MalformedResponse, match="UBL"):
        books.invoices.ubl("1")


class Chunks(httpx.SyncByteStream, httpx.AsyncByteStream):
    """``total`` bytes of XML-looking text, made one fresh megabyte at a time as they are read."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.pulled = 0

    def _chunks(self) -> Iterator[bytes]:
        yield b"<clients>"
        while self.pulled * MB < self.total:
            self.pulled += 1
            yield b"<client><name>" + os.urandom(MB // 2).hex().encode()[: MB - 30] + b"</name></client>"

    def __iter__(self) -> Iterator[bytes]:
        yield from self._chunks()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks():
            yield chunk


def _huge(stream: Chunks, declared: bool) -> Callable[[httpx.Request], httpx.Response]:
    headers = {**XML, **({"Content-Length": str(stream.total)} if declared else {})}
    return lambda request: httpx.Response(200, headers=headers, stream=stream)


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_a_50_mb_body_is_cut_off_and_never_held(mode: str, declared: bool) -> None:
    stream = Chunks(50 * MB)
    started = time.perf_counter()
    tracemalloc.start()
    try:
        if mode == "sync":
            with connect(_huge(stream, declared)) as books, pytest.raises(MalformedResponse) as caught:
                list(books.clients.list())
        else:

            async def main() -> None:
                transport = httpx.MockTransport(_huge(stream, declared))
                async with invoicekit.connect_async("eenvoudigfactureren", api_key=KEY, transport=transport) as books:
                    [client async for client in books.clients.list()]

            with pytest.raises(MalformedResponse) as caught:
                asyncio.run(main())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 5.0
    assert "larger than" in caught.value.message
    assert caught.value.provider == "eenvoudigfactureren"
    if declared:
        assert stream.pulled == 0  # refused on its Content-Length, before a byte of the body was read
    else:
        assert 20 <= stream.pulled <= 21  # read up to the runner's 20 MiB cap, not the 50 MB offered
    assert peak < 30 * MB, f"{peak / MB:.1f} MB held for a body that was refused"


def test_the_adapter_caps_xml_below_the_transport_limit() -> None:
    body = b"<clients>" + b"<client><name>padding</name></client>" * 5000 + b"</clients>"
    with connect(answer(body), max_xml_bytes=64 * 1024) as books, pytest.raises(MalformedResponse) as caught:
        list(books.clients.list())
    assert "above the limit" in caught.value.message


def test_plain_garbage_is_malformed_too() -> None:
    for body in (b"<client><name>unclosed</client>", b"", b"\xff\xfe\x00<"):
        with connect(answer(body)) as books, pytest.raises(MalformedResponse):
            books.clients.get("1")


# --- answers that are not EF's (issue 10: "never a blank document") ------------------------------------------


def test_an_html_page_with_status_200_is_malformed() -> None:
    page = b"<!DOCTYPE html><html><body><h1>Aanmelden</h1></body></html>"
    books = connect(lambda request: httpx.Response(200, content=page, headers={"Content-Type": "text/html"}))
    with pytest.raises(MalformedResponse):
        books.clients.get("1")


@pytest.mark.parametrize(
    "body",
    [
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>status</title></feed>',
        b"<html><body>Onderhoud</body></html>",
        b"<response><status>ok</status></response>",
    ],
    ids=["atom", "xhtml-ish", "no-id"],
)
def test_foreign_xml_with_status_200_is_malformed_not_a_blank_client(body: bytes) -> None:
    with pytest.raises(MalformedResponse):
        connect(answer(body)).clients.get("1")


def test_a_one_item_list_is_read_under_any_root() -> None:
    # No source shows EF's list roots: <result> holding one <item> is still a list of one client.
    body = b"<result><item><client_id>7</client_id><name>Enig</name></item></result>"
    clients = list(connect(answer(body)).clients.list())
    assert [(c.provider_id, c.name) for c in clients] == [("7", "Enig")]
