"""The sandbox's HTTP surface: format negotiation, request bodies, responses and errors, as EF does them.

EF answers in XML unless asked otherwise: ``?format=json``, ``Accept: application/json`` or a JSON request
body switch to JSON (EF help, eenvoudigfactureren.be/info/help/api). Errors are ``{"error": "<message>"}``
with a 4xx status, except for one quirk kept on purpose: a body that cannot be parsed gets HTTP **200** with
``{"code": 400, "error": "Syntax error"}`` (hvr4 efAPI.java).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from invoicekit.sandbox import ApiError as KitApiError
from invoicekit.sandbox import Provenance
from invoicekit.xmlsafe import XmlError
from invoicekit_eenvoudigfactureren._sandbox_xml import read_xml, write_xml

__all__ = ["ApiError", "Call", "read_call", "render", "render_error"]

Format = Literal["json", "xml"]
MAX_BODY = 5 * 1024 * 1024  # EF's own upload limit; a bigger API body is refused before parsing
JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "application/xml; charset=utf-8"


class ApiError(KitApiError):
    """The kit's :class:`invoicekit.sandbox.ApiError` in EF's shape: ``status`` and ``{"error": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status, {"error": message})
        self.message = message


class SyntaxQuirk(Exception):
    """A body EF cannot parse: answered with HTTP 200 and ``{"code": 400, "error": ...}``."""

    def __init__(self, message: str, body_format: Format) -> None:
        self.message = message
        self.body_format = body_format
        super().__init__(message)


@dataclass
class Call:
    """One API request, parsed: the path below /api/v1 split in segments, the query, the body."""

    method: str
    segments: list[str]
    query: dict[str, str]
    body: Any
    body_format: Format | Literal["form"] | None
    response_format: str
    base: str  # scheme://host/api/v1, for the uri fields
    headers: dict[str, str] = field(default_factory=dict)

    def flag(self, name: str) -> bool:
        """A bare query flag such as ``?send_peppol`` or ``?bulk``."""
        return name in self.query

    @property
    def wants(self) -> Format:
        return "json" if self.response_format == "json" else "xml"


def _body_format(content_type: str, body: bytes) -> Format | Literal["form"] | None:
    if not body.strip():
        return None
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind.endswith("json"):
        return "json"
    if kind.endswith("xml"):
        return "xml"
    if kind in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return "form"
    # No usable Content-Type (curl -d sends form encoding, some clients send none): sniff.
    first = body.lstrip()[:1]
    if first in (b"{", b"["):
        return "json"
    if first == b"<":
        return "xml"
    return "form"


def _parse_body(body: bytes, body_format: Format | Literal["form"] | None) -> Any:
    if body_format is None:
        return None
    if body_format == "json":
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise SyntaxQuirk("Malformed UTF-8 characters, possibly incorrectly encoded", "json") from None
        try:
            return json.loads(text)
        except ValueError:
            raise SyntaxQuirk("Syntax error", "json") from None
    if body_format == "xml":
        try:
            return read_xml(body, max_bytes=MAX_BODY)
        except XmlError:
            # Assumed: EF answers unparsable XML the way it answers unparsable JSON.
            raise SyntaxQuirk("Syntax error", "xml") from None
    return dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))


def _response_format(query: dict[str, str], accept: str, body_format: str | None) -> str:
    wanted = query.get("format", "").strip().lower()
    if wanted:
        return wanted
    if "application/json" in accept.lower():
        return "json"
    # The response follows the request: a JSON body gets JSON, an XML or form body gets XML.
    return "json" if body_format == "json" else "xml"


async def read_call(request: Request, base: str, segments: list[str]) -> Call:
    """Parse a request; raises :class:`SyntaxQuirk` or :class:`ApiError` for a body EF would refuse."""
    query = dict(parse_qsl(request.url.query, keep_blank_values=True))
    accept = request.headers.get("accept", "")
    body = await request.body()
    body_format = _body_format(request.headers.get("content-type", ""), body)
    response_format = _response_format(query, accept, body_format if body_format != "form" else None)
    if len(body) > MAX_BODY:
        raise ApiError(400, "request too large")
    parsed = _parse_body(body, body_format)
    return Call(
        method=request.method,
        segments=segments,
        query=query,
        body=parsed,
        body_format=body_format,
        response_format=response_format,
        base=base,
        headers={k.lower(): v for k, v in request.headers.items()},
    )


def render(data: Any, root: str, fmt: Format, status: int = 200, provenance: Provenance | None = None) -> Response:
    """``data`` as EF sends it: JSON, or XML under ``root`` (a list root is the plural domain name)."""
    if fmt == "json":
        return Response(json.dumps(data, ensure_ascii=False), status_code=status, media_type=JSON_TYPE)
    return Response(write_xml(root, data, provenance), status_code=status, media_type=XML_TYPE)


def render_error(status: int, message: str, fmt: Format) -> Response:
    # Assumed (provenance xml.root.response): the XML form of {"error": ...} is <response><error>..</error></response>,
    # the same <response> root as the success messages.
    return render({"error": message}, "response", fmt, status)


def render_quirk(quirk: SyntaxQuirk, fmt: Format) -> Response:
    return render({"code": 400, "error": quirk.message}, "response", fmt, 200)
