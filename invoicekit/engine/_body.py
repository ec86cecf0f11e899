"""Reading a response body under one size cap, for the bytes received and for the bytes decoded.

httpx decodes ``Content-Encoding`` itself, but it inflates each received chunk whole, with no bound on what
one chunk turns into, and httpx 0.28 has no option or hook for one: a single 64 KiB gzip chunk becomes
64 MiB, and ``Content-Encoding: gzip, gzip`` turns a 1.4 KB answer into 769 MiB before any caller sees a
byte. So the runners read the raw stream (``iter_raw``) and decode it here with zlib's own bound
(``max_length``), in pieces of at most :data:`PIECE` bytes, counting every piece of every coding against
the cap. Peak memory while refusing a bomb is the cap plus a few pieces.

Only the codings we ask for (:data:`ACCEPT_ENCODING`) are decoded; brotli and zstd are not requested, because
their Python bindings cannot all bound their output, and an answer in a coding we cannot read is refused.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx

__all__ = ["ACCEPT_ENCODING", "BODY_HEADERS", "PIECE", "BodyReader", "UnreadableBody", "reading"]

ACCEPT_ENCODING = "gzip, deflate"
PIECE = 64 * 1024
# More codings than this is no real server's answer, and each one holds a decompressor's window.
MAX_CODINGS = 4
_GZIP = zlib.MAX_WBITS | 16
_ZLIB = zlib.MAX_WBITS
_RAW_DEFLATE = -zlib.MAX_WBITS
# Headers that describe the body on the wire, not the decoded body a response carries afterwards.
BODY_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


class UnreadableBody(Exception):
    """Raised by a runner into the program: a success status arrived, but its body could not be read.

    ``headers`` are the answer's, without the ones that describe the body (a ``Location`` may name what a
    write made). ``lost`` is the connection failure that cut the body short (None when the body itself was
    at fault: too large, or not decodable).
    """

    def __init__(self, response: httpx.Response, reason: str, *, lost: httpx.TransportError | None = None) -> None:
        self.status = response.status_code
        self.headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in BODY_HEADERS]
        self.reason = reason
        self.lost = lost
        super().__init__(reason)


class _TooMuch(Exception):
    pass


class _Undecodable(Exception):
    pass


class _Inflate:
    """One gzip or deflate coding, inflated in bounded pieces."""

    def __init__(self, wbits: int, limit: int) -> None:
        self._z = zlib.decompressobj(wbits)
        self._limit = limit
        self._produced = 0
        # "deflate" is zlib-wrapped by the RFC, but some servers send raw deflate (httpx accepts both): what
        # came before the first output is kept to start again as raw deflate.
        self._seen: bytes | None = b"" if wbits == _ZLIB else None

    def decode(self, data: bytes) -> Iterator[bytes]:
        while not self._z.eof:
            try:
                out = self._z.decompress(data, PIECE)
            except zlib.error as exc:
                if self._seen is None:
                    raise _Undecodable(str(exc)) from None
                data, self._seen = self._seen + data, None
                self._z = zlib.decompressobj(_RAW_DEFLATE)
                continue
            if self._seen is not None:
                self._seen = None if out else self._seen + data[: len(data) - len(self._z.unconsumed_tail)]
            yield from self._count(out)
            data = self._z.unconsumed_tail
            # A full piece may leave output inside zlib even when all the input was taken: ask again.
            if not data and len(out) < PIECE:
                return

    def finish(self) -> Iterator[bytes]:
        # What zlib still holds once the input is over is at most one window (32 KiB).
        yield from self._count(self._z.flush())

    def _count(self, out: bytes) -> Iterator[bytes]:
        if not out:
            return
        self._produced += len(out)
        if self._produced > self._limit:
            raise _TooMuch
        yield out


def _coding(name: str, limit: int) -> _Inflate | None:
    if name in ("gzip", "x-gzip"):
        return _Inflate(_GZIP, limit)
    if name == "deflate":
        return _Inflate(_ZLIB, limit)
    if name == "identity":
        return None
    raise _Undecodable(f"the answer is in a Content-Encoding invoicekit did not ask for ({name!r})")


@contextmanager
def reading(response: httpx.Response, limit: int) -> Iterator[BodyReader]:
    """Read ``response``'s body under ``limit``: the with-block feeds the reader raw chunks while it
    ``wants_more``; afterwards the response holds the decoded body.

    A success whose body cannot be read raises :class:`UnreadableBody`. An error status whose body cannot be
    read goes on without it (a 503 is still retried, a 404 still NotFound): only a success needs its body.
    """
    reader = BodyReader(response, limit)
    try:
        try:
            yield reader
        except httpx.TransportError as exc:
            raise reader.lost(exc) from None
        body = reader.finish()
    except UnreadableBody:
        if response.is_success:
            raise
        body = b""
    # What httpx's own read() does with the body it decoded; here the decoding was bounded.
    response._content = body


class BodyReader:
    """Collects one response's body: fed raw chunks, it decodes them and refuses anything past ``limit``.

    Nothing raises on construction: a body refused from its headers alone (a Content-Length past the cap, a
    coding we cannot read) does not ``want_more`` and raises from :meth:`finish`.
    """

    def __init__(self, response: httpx.Response, limit: int) -> None:
        self._response = response
        self._limit = limit
        self._received = 0
        self._size = 0
        self._parts: list[bytes] = []
        self._codings: list[_Inflate] = []
        self._refused: UnreadableBody | None = None
        # An in-memory transport (a test's MockTransport) may hand over a body it read and decoded itself.
        already_read = response.is_stream_consumed
        try:
            self._start(response, already_read)
            if already_read:
                self.feed(response.content)
        except UnreadableBody as exc:
            self._refused = exc
        self.wants_more = not already_read and self._refused is None

    def _start(self, response: httpx.Response, already_read: bool) -> None:
        declared = response.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self._limit:
            raise self._too_large()
        names = [v.strip().lower() for v in response.headers.get_list("content-encoding", split_commas=True)]
        names = [name for name in names if name and not already_read]
        if len(names) > MAX_CODINGS:
            raise UnreadableBody(response, f"the answer has {len(names)} Content-Encodings, more than {MAX_CODINGS}")
        try:
            # The last coding applied comes off first.
            codings = [_coding(name, self._limit) for name in reversed(names)]
        except _Undecodable as exc:
            raise UnreadableBody(response, str(exc)) from None
        self._codings = [coding for coding in codings if coding is not None]

    def feed(self, raw: bytes) -> None:
        self._received += len(raw)
        if self._received > self._limit:
            raise self._too_large()
        self._run(lambda: self._through(0, raw))

    def finish(self) -> bytes:
        if self._refused is not None:
            raise self._refused
        self._run(self._flush)
        body = b"".join(self._parts)
        self._parts.clear()
        return body

    def lost(self, error: httpx.TransportError) -> UnreadableBody:
        """The error to raise when the connection failed in the middle of the body."""
        reason = f"the connection failed while the answer was read ({error})"
        return UnreadableBody(self._response, reason, lost=error)

    def _run(self, pieces: Callable[[], Iterator[bytes]]) -> None:
        try:
            for piece in pieces():
                self._size += len(piece)
                if self._size > self._limit:
                    raise _TooMuch
                self._parts.append(piece)
        except _TooMuch:
            self._parts.clear()
            raise self._too_large() from None
        except _Undecodable as exc:
            self._parts.clear()
            raise UnreadableBody(self._response, f"the answer could not be decoded ({exc})") from None

    def _through(self, index: int, data: bytes) -> Iterator[bytes]:
        if index == len(self._codings):
            if data:
                yield data
            return
        for piece in self._codings[index].decode(data):
            yield from self._through(index + 1, piece)

    def _flush(self) -> Iterator[bytes]:
        for index, coding in enumerate(self._codings):
            for piece in coding.finish():
                yield from self._through(index + 1, piece)

    def _too_large(self) -> UnreadableBody:
        return UnreadableBody(self._response, f"the response body is larger than {self._limit} bytes")
