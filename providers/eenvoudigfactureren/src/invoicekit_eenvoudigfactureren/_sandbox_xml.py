"""The sandbox's own XML, both ways: what it answers and how it reads a request body.

Written apart from the adapter's codec (``_xml``) on purpose: if both sides used one module, the adapter
would only ever be tested against its own idea of EF's XML. The element names come from seed 004's client
example (``<client>``, ``<contacts><contact>``, ``<details><detail>``, ``<custom_values><custom_value>``,
nested objects such as ``<delivery_address>``); every other name (list roots, the items of invoices,
``<response>`` for messages) is an assumption, and each one is listed in ``provenance.toml`` as a
``behaviour`` named ``xml.item.<list>`` or ``xml.root.<root>``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lxml import etree

from invoicekit.sandbox import Provenance
from invoicekit.xmlsafe import parse_xml

__all__ = ["ITEM_NAMES", "read_xml", "write_xml"]

# A list field (or a list answer under its root) and the name of its items.
ITEM_NAMES: Mapping[str, str] = {
    "contacts": "contact",
    "details": "detail",
    "custom_values": "custom_value",
    "clients": "client",
    "invoices": "invoice",
    "items": "item",
    "payments": "payment",
    "remarks": "remark",
    "events": "event",
    "tags": "tag",
    "recipients": "recipient",
    "layouts": "layout",
    "custom_fields": "custom_field",
    "responses": "response",
    "coda_statements": "coda_statement",
    "transactions": "transaction",
}
# Request fields that are lists even when they hold one element.
_LIST_INPUT = frozenset({"contacts", "custom_values", "items", "payments", "recipients"})


def _leaf(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _add(parent: etree._Element, name: str, value: Any, provenance: Provenance | None) -> None:
    element = etree.SubElement(parent, name)
    _fill(element, name, value, provenance)


def _fill(element: etree._Element, name: str, value: Any, provenance: Provenance | None) -> None:
    if value is None:
        return
    if isinstance(value, Mapping):
        for key, child in value.items():
            _add(element, str(key), child, provenance)
    elif isinstance(value, Sequence) and not isinstance(value, str | bytes):
        if provenance is not None:
            provenance.origin("behaviour", f"xml.item.{name}")
        for child in value:
            _add(element, ITEM_NAMES[name], child, provenance)
    else:
        text = _leaf(value)
        # Seed 004 shows the *_html fields as CDATA.
        element.text = etree.CDATA(text) if name.endswith("_html") and "]]>" not in text else text


def write_xml(root: str, data: Mapping[str, Any] | Sequence[Any], provenance: Provenance | None = None) -> bytes:
    """``data`` under the element ``root``; every list name is checked against ``provenance`` when given."""
    if provenance is not None:
        provenance.origin("behaviour", f"xml.root.{root}")
    element = etree.Element(root)
    _fill(element, root, data, provenance)
    return bytes(etree.tostring(element, xml_declaration=True, encoding="UTF-8"))


def _read(element: etree._Element) -> Any:
    children = [child for child in element if isinstance(child.tag, str)]
    name = etree.QName(element).localname
    if name in _LIST_INPUT:
        return [_read(child) for child in children]
    if not children:
        return element.text or ""
    names = [etree.QName(child).localname for child in children]
    if len(children) > 1 and len(set(names)) == 1:
        return [_read(child) for child in children]
    data: dict[str, Any] = {}
    for key, child in zip(names, children, strict=True):
        data.setdefault(key, _read(child))
    return data


def read_xml(body: bytes, *, max_bytes: int) -> Any:
    """A request body in XML as data (``<client/>`` is ``{}``); :class:`invoicekit.xmlsafe.XmlError` when bad."""
    data = _read(parse_xml(body, max_bytes=max_bytes))
    return {} if isinstance(data, str) else data
