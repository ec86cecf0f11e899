"""The one hardened XML parser of invoicekit.

Everything that reads XML from outside the process (UBL import, validation, provider adapters that speak XML)
goes through :func:`parse_xml`. It defends against the classic attacks on XML parsers:

* **Entity expansion ("billion laughs") and external entities (XXE).** A document whose DOCTYPE declares any
  entity, or points at an external DTD, is refused with :class:`UnsafeXml` *before* the parser runs, by a
  cheap scan of the prolog, so a hostile document costs microseconds and no file or URL it names is ever
  opened. The parser itself is also configured never to resolve entities, load a DTD or touch the network,
  and the parsed tree is checked again, so a prolog the scan could not read (an exotic encoding) is still
  caught.
* **Oversized input.** The size is checked before parsing (default limit 10 MiB), and ``huge_tree=False``
  keeps libxml2's own limits on text node size and nesting depth.

The errors (defined in :mod:`invoicekit.errors`, re-exported here)::

    XmlError (InvoicekitError, ValueError)
    ├── UnsafeXml ........ the document was refused for safety (entities, external DTD, too large)
    └── XmlSyntaxError ... the document is not well-formed XML
"""

from __future__ import annotations

import codecs
import re

from lxml import etree

from invoicekit.errors import UnsafeXml, XmlError, XmlSyntaxError

__all__ = ["DEFAULT_MAX_BYTES", "UnsafeXml", "XmlError", "XmlSyntaxError", "parse_xml"]

DEFAULT_MAX_BYTES = 10 * 1024 * 1024

# The prolog scan only needs to find "<!DOCTYPE" and what follows it. Documents in UTF-16/32 are decoded
# first so that the scan sees characters, not interleaved NUL bytes.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_NO_BOM = (
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00?\x00", "utf-16-le"),
    (b"\x00<\x00?", "utf-16-be"),
)
_WIDE_STARTS = tuple(bom for bom, _ in _BOMS) + tuple(start for start, _ in _NO_BOM)
_DOCTYPE = "<!DOCTYPE"
_ENTITY_DECL = "<!ENTITY"
_EXTERNAL_ID = re.compile(r"<!DOCTYPE\s+[^\s\[>]+\s+(SYSTEM|PUBLIC)\b")


def _make_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=False,
        remove_pis=False,
    )


def _as_text(data: bytes) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, errors="replace")
    for start, encoding in _NO_BOM:
        if data.startswith(start):
            return data.decode(encoding, errors="replace")
    # Every other encoding XML allows in practice (UTF-8, ISO-8859-x, windows-125x) is ASCII-compatible
    # for the markup we look for; latin-1 maps bytes to characters one to one and never fails.
    return data.decode("latin-1")


def _scan_prolog(data: bytes) -> None:
    # Cheap enough to run on every document: a DOCTYPE is rare, and only then is anything decoded.
    if b"<!DOCTYPE" not in data and not data.startswith(_WIDE_STARTS):
        return
    text = _as_text(data)
    doctype = text.find(_DOCTYPE)
    if doctype == -1:
        return
    # An entity can only be declared in the DTD, but finding its end reliably means parsing it (comments
    # and quoted strings may contain "]" or ">"). Refusing "<!ENTITY" anywhere after a DOCTYPE is simpler
    # and only costs a false positive for a document that has a DOCTYPE *and* the text "<!ENTITY" in a
    # comment or CDATA section, which no e-invoice has.
    if text.find(_ENTITY_DECL, doctype) != -1:
        raise UnsafeXml(
            "refused: the DOCTYPE declares entities (entity expansion and external entities are a "
            "denial-of-service and file-disclosure risk; e-invoices never need them)"
        )
    if _EXTERNAL_ID.match(text, doctype):
        raise UnsafeXml("refused: the DOCTYPE points at an external DTD (SYSTEM/PUBLIC identifier)")


def _check_tree(root: etree._Element) -> None:
    docinfo = root.getroottree().docinfo
    dtd = docinfo.internalDTD
    # lxml-stubs lag behind lxml here: DTD.iterentities() exists since lxml 2.x.
    if dtd is not None and any(True for _ in dtd.iterentities()):  # type: ignore[attr-defined]
        raise UnsafeXml("refused: the DOCTYPE declares entities")
    # The stubs call it system_id; lxml calls it system_url.
    if getattr(docinfo, "system_url", None) or docinfo.public_id:
        raise UnsafeXml("refused: the DOCTYPE points at an external DTD (SYSTEM/PUBLIC identifier)")


def parse_xml(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> etree._Element:
    """Parse untrusted XML and return its root element.

    Raises :class:`UnsafeXml` for a body above ``max_bytes`` (checked before anything is parsed) or a
    DOCTYPE with entity declarations or an external DTD, and :class:`XmlSyntaxError` for XML that is not
    well-formed.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"parse_xml takes bytes, not {type(data).__name__} (encode text as UTF-8 first)")
    size = len(data)
    if size > max_bytes:
        raise UnsafeXml(
            f"refused: the document is {size:,} bytes, above the limit of {max_bytes:,} bytes "
            "(raise max_bytes if this document is legitimate)"
        )
    raw = bytes(data)
    if not raw or raw.isspace():
        raise XmlSyntaxError("the document is empty")
    _scan_prolog(raw)
    try:
        root = etree.fromstring(raw, parser=_make_parser())
    except etree.XMLSyntaxError as exc:
        message = str(exc.msg or exc)
        if "entity" in message.lower() and "amplification" in message.lower():
            raise UnsafeXml(f"refused: {message}") from None
        line, column = exc.position if exc.position else (None, None)
        raise XmlSyntaxError(_strip_position(message), line=line, column=column) from None
    if root is None:
        raise XmlSyntaxError("the document has no root element")
    _check_tree(root)
    return root


def _strip_position(message: str) -> str:
    # libxml2 appends "(<string>, line 1)" and ", line 1, column 11"; we report the position ourselves.
    message = re.sub(r"\s*\(<string>, line \d+\)$", "", message)
    return re.sub(r", line \d+, column \d+$", "", message)
