"""The hardened XML parser: hostile documents fail fast and leak nothing."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from invoicekit.xmlsafe import UnsafeXml, XmlError, XmlSyntaxError, parse_xml

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>"""

SECRET = "TOP-SECRET-7f3a9c"


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(SECRET)
    return path


def test_plain_document_parses() -> None:
    root = parse_xml(b'<?xml version="1.0" encoding="UTF-8"?><a xmlns="urn:x"><b>1</b></a>')
    assert root.tag == "{urn:x}a"
    assert root[0].text == "1"


def test_harmless_doctype_without_entities_is_accepted() -> None:
    assert parse_xml(b"<!DOCTYPE a><a/>").tag == "a"


def test_billion_laughs_is_refused_quickly() -> None:
    start = time.perf_counter()
    with pytest.raises(UnsafeXml, match="entities"):
        parse_xml(BILLION_LAUGHS)
    assert time.perf_counter() - start < 0.1


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32"])
def test_entities_are_refused_in_wide_encodings(encoding: str) -> None:
    text = f'<?xml version="1.0" encoding="{encoding.upper()}"?><!DOCTYPE r [<!ENTITY x "y">]><r>&x;</r>'
    with pytest.raises(UnsafeXml):
        parse_xml(text.encode(encoding))


def test_external_entity_to_a_local_file_is_refused_without_reading_it(secret_file: Path) -> None:
    payload = (f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file://{secret_file}">]><r>&xxe;</r>').encode()
    with pytest.raises(UnsafeXml) as caught:
        parse_xml(payload)
    assert SECRET not in str(caught.value)
    assert SECRET not in repr(caught.value.__cause__)


def test_parameter_entity_is_refused(secret_file: Path) -> None:
    payload = (f'<!DOCTYPE r [<!ENTITY % p SYSTEM "file://{secret_file}"> %p;]><r/>').encode()
    with pytest.raises(UnsafeXml):
        parse_xml(payload)


def test_external_dtd_is_refused(secret_file: Path) -> None:
    with pytest.raises(UnsafeXml, match="external DTD"):
        parse_xml(f'<!DOCTYPE r SYSTEM "file://{secret_file}"><r/>'.encode())


def test_fifty_megabyte_body_is_refused_before_parsing() -> None:
    body = b"<a>" + b"x" * (50 * 1024 * 1024) + b"</a>"
    start = time.perf_counter()
    with pytest.raises(UnsafeXml, match="above the limit"):
        parse_xml(body)
    assert time.perf_counter() - start < 0.05


def test_limit_is_configurable() -> None:
    with pytest.raises(UnsafeXml):
        parse_xml(b"<a>12345</a>", max_bytes=5)
    assert parse_xml(b"<a>12345</a>", max_bytes=100).text == "12345"


@pytest.mark.parametrize(
    "payload",
    [b"<a><b></a>", b"not xml at all", b"", b"   ", b"<a>", b"<a></a><b/>"],
)
def test_malformed_xml_raises_syntax_error(payload: bytes) -> None:
    with pytest.raises(XmlSyntaxError) as caught:
        parse_xml(payload)
    assert isinstance(caught.value, XmlError)
    assert isinstance(caught.value, ValueError)
    assert "not well-formed" in str(caught.value)


def test_syntax_error_reports_position() -> None:
    with pytest.raises(XmlSyntaxError) as caught:
        parse_xml(b"<a>\n<b></a>")
    assert caught.value.line == 2


def test_text_is_refused_with_a_clear_type_error() -> None:
    with pytest.raises(TypeError, match="bytes"):
        parse_xml("<a/>")  # type: ignore[arg-type]
