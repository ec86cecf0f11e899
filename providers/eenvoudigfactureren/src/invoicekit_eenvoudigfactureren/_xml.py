"""The adapter's XML codec: what it sends to EenvoudigFactureren and how it reads the answers.

The sandbox has its own XML code (``_sandbox_xml``), so the two are never the same code agreeing with itself.

EF's XML has no namespaces and no attributes: an object is an element whose children are its fields
(``<client><name>..</name>...</client>``), a list is an element named after the list field whose children
are the items, named in the singular (``<contacts><contact>..</contact></contacts>``, seed 004). Every
leaf is text, so numbers and ids come back as strings; the mapping reads them tolerantly.

Reading goes through :func:`invoicekit.xmlsafe.parse_xml` only: no entities, no DTD, no network, bounded
size. Anything it refuses surfaces as :class:`invoicekit.xmlsafe.XmlError`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from lxml import etree

from invoicekit.xmlsafe import DEFAULT_MAX_BYTES, XmlError, parse_xml

__all__ = ["LIST_ITEMS", "XmlEncodeError", "element_data", "from_xml", "to_xml"]

# List fields and the name of the items the adapter writes. The client example in seed 004 shows contacts,
# details and custom_values; the rest follow the same singular/plural pattern (assumed). Reading does not
# depend on the item names: a known list field is a list whatever its children are called.
LIST_ITEMS: Mapping[str, str] = {
    "clients": "client",
    "invoices": "invoice",
    "contacts": "contact",
    "custom_values": "custom_value",
    "details": "detail",
    "items": "item",
    "payments": "payment",
    "remarks": "remark",
    "events": "event",
    "costs": "cost",
    "tags": "tag",
    "recipients": "recipient",
    "attachments": "attachment",
    "layouts": "layout",
    "custom_fields": "custom_field",
    "responses": "response",
}

# XML 1.0 cannot carry these at all, not even escaped; lxml refuses them with a bare ValueError.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class XmlEncodeError(ValueError):
    """A value cannot be written as XML; ``path`` is the EF field (dotted) that holds it."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


def _text(value: Any, path: str) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    if _ILLEGAL.search(text):
        raise XmlEncodeError(path, "contains control characters that XML cannot carry")
    return text


def _fill(element: etree._Element, value: Any, path: str) -> None:
    if value is None:
        return
    if isinstance(value, Mapping):
        for key, child in value.items():
            _fill(etree.SubElement(element, str(key)), child, f"{path}.{key}" if path else str(key))
        return
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        item_name = LIST_ITEMS.get(str(element.tag), "item")
        for index, child in enumerate(value):
            _fill(etree.SubElement(element, item_name), child, f"{path}.{index}")
        return
    text = _text(value, path)
    # EF sends its *_html fields as CDATA (seed 004); a CDATA section cannot contain "]]>", so such a
    # value is escaped the ordinary way, which any XML reader treats the same.
    if path.endswith("_html") and "]]>" not in text:
        element.text = etree.CDATA(text)
    else:
        element.text = text


def to_xml(root: str, data: Mapping[str, Any] | Sequence[Any]) -> bytes:
    """Serialise ``data`` (an object or a list) under the element ``root``, with an XML declaration."""
    element = etree.Element(root)
    _fill(element, data, "")
    return etree.tostring(element, xml_declaration=True, encoding="UTF-8")


def _name(element: etree._Element) -> str:
    return etree.QName(element).localname


def element_data(element: etree._Element) -> Any:
    """An element as data: a list for a list field, a dict for an object, a string for a leaf."""
    children = [child for child in element if isinstance(child.tag, str)]  # skips comments and PIs
    name = _name(element)
    if name in LIST_ITEMS:
        return [element_data(child) for child in children if len(child) or (child.text or "").strip()]
    if not children:
        return element.text or ""
    names = [_name(child) for child in children]
    if len(children) > 1 and len(set(names)) == 1:
        # A list field this module does not know by name: the repeated item element gives it away.
        return [element_data(child) for child in children]
    data: dict[str, Any] = {}
    for key, child in zip(names, children, strict=True):
        data.setdefault(key, element_data(child))
    return data


def from_xml(body: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, many: bool = False) -> Any:
    """Parse an EF XML document with the hardened parser and return its data.

    The root of an object is a dict even when it has no fields (``<client/>`` -> ``{}``). With ``many`` the
    answer is a list: the root's children are its items, whatever the root and the items are called (no
    source shows EF's list roots), so a one-item list reads as a list too. EF's XML has no namespaces: a
    namespaced document (an Atom feed, a SOAP fault, XHTML) is refused as foreign.
    """
    root = parse_xml(body, max_bytes=max_bytes)
    if any(etree.QName(element).namespace for element in root.iter() if isinstance(element.tag, str)):
        raise XmlError("namespaced XML is not EenvoudigFactureren's")
    if many:
        return [element_data(child) for child in root if isinstance(child.tag, str)]
    data = element_data(root)
    if isinstance(data, str):
        return {} if not data.strip() else {_name(root): data}
    return data
