"""Where everything a sandbox serves comes from: a seed, a public client, or a marked assumption.

A sandbox is only useful if it behaves like the real API. Its endpoints, response fields, parameters,
defaults and refusals are therefore listed, each with its origin, in a ``provenance.toml`` data file that
ships inside the provider package::

    [provider]
    name = "cashaca"

    [[served]]
    kind = "field"                      # endpoint | field | param | default | refusal | behaviour
    name = "invoice.ogm"
    source = "client"                   # seed | client | assumed
    ref = "stijn1989/Zenfactuur:src/Entity/Invoice.php"

    [[served]]
    kind = "refusal"
    name = "client.create.company_without_vat_number"
    source = "assumed"
    why = "company clients of other invoicing APIs need a VAT number; no source says so for Cashaca"

Names, by kind:

- ``endpoint``: ``"METHOD /path/with/{id}"`` as the API spells it (``"GET /api/v2/clients/{id}.json"``);
- ``field``: a response field, ``"<resource>.<field>"``; nested objects and lists of objects extend the
  path (``"invoice.commercial_document_lines[].unit_price"``; the list itself is listed too, as
  ``"invoice.commercial_document_lines"``). A field entry may say ``same_as = "client"``: its value (an
  object, or a list of objects) is shaped like that resource, checked and filtered under its entries;
- ``param``: a request parameter or body field the sandbox reads, ``"<METHOD path>?<name>"`` or
  ``"<resource>.<field>"`` for body fields;
- ``default``: what a missing input becomes (``"invoice.payment_term"``, with ``value``);
- ``refusal``: a check that answers an error (a short dotted id);
- ``behaviour``: anything else a client can observe (numbering, rounding, ordering).

``source`` is ``seed`` (``ref`` names a file of the providers' documentation, shared/seeds, optionally with
a part after ``#``), ``client`` (``ref`` names a public client, ``owner/repo`` or ``owner/repo:path``, or a
stored page), or ``assumed`` (``why`` says why we believe it). An entry may add a free ``note``.

In **strict mode** (``Sandbox(strict=True)``, ``create_sandbox(name, strict=True)``, ``invoicekit sandbox
serve NAME --strict``) a sandbox serves only what is documented or observed: assumed fields are left out
of answers (:meth:`Provenance.shape`), assumed refusals are off (:meth:`Provenance.enforces`) and assumed
endpoints answer as unknown routes (:meth:`Provenance.serves`). An adapter that passes against a strict
sandbox does not depend on anything we made up.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from typing import Any, Literal, cast, get_args

__all__ = ["Kind", "Origin", "Provenance", "ProvenanceError", "Source", "UnlistedField"]

Kind = Literal["endpoint", "field", "param", "default", "refusal", "behaviour"]
Source = Literal["seed", "client", "assumed"]

_KINDS: tuple[str, ...] = get_args(Kind)
_SOURCES: tuple[str, ...] = get_args(Source)
# Values that are neither a mapping nor a list: served as they are.
_PLAIN = frozenset({str, int, float, bool, type(None), Decimal})
_KEYS = frozenset({"kind", "name", "source", "ref", "why", "note", "value", "same_as"})


class ProvenanceError(ValueError):
    """A provenance file is malformed: an entry without origin, an unknown kind, a duplicate."""


class UnlistedField(LookupError):
    """A sandbox served something that has no provenance entry: a bug in the sandbox, not in the client."""


@dataclass(frozen=True)
class Origin:
    """One served thing and where it comes from."""

    kind: Kind
    name: str
    source: Source
    ref: str = ""
    why: str = ""
    note: str = ""
    value: Any = None
    same_as: str = ""

    @property
    def assumed(self) -> bool:
        return self.source == "assumed"

    def describe(self) -> str:
        """The origin in words, for docs and messages."""
        if self.source == "seed":
            return f"documented: {self.ref}"
        if self.source == "client":
            return f"observed: {self.ref}"
        return f"assumed: {self.why}"


class Provenance:
    """The origins of everything one sandbox serves, looked up by ``(kind, name)``."""

    def __init__(self, provider: str, origins: Iterable[Origin]) -> None:
        self.provider = provider
        self._origins: dict[tuple[str, str], Origin] = {}
        for origin in origins:
            key = (origin.kind, origin.name)
            if key in self._origins:
                raise ProvenanceError(f"{provider}: {origin.kind} {origin.name!r} is listed twice")
            self._origins[key] = origin
        # (resource, key) -> (its path, its entry), filled by shape() with the listed fields it meets.
        self._fields: dict[tuple[str, Any], tuple[str, Origin]] = {}

    # --- loading ------------------------------------------------------------------------------------------

    @classmethod
    def from_toml(cls, text: str) -> Provenance:
        """Parse a provenance file; every entry is checked, so a typo fails at load time."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ProvenanceError(f"not valid TOML: {exc}") from None
        provider = str(data.get("provider", {}).get("name", ""))
        if not provider:
            raise ProvenanceError("[provider] name is missing")
        return cls(provider, [_origin(provider, i, entry) for i, entry in enumerate(data.get("served", []))])

    @classmethod
    def load(cls, package: str, resource: str = "provenance.toml") -> Provenance:
        """Read ``resource`` shipped inside ``package`` (e.g. ``"invoicekit_cashaca"``)."""
        return cls.from_toml(resources.files(package).joinpath(resource).read_text(encoding="utf-8"))

    # --- queries ------------------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Origin]:
        return iter(self._origins.values())

    def __len__(self) -> int:
        return len(self._origins)

    def get(self, kind: Kind, name: str) -> Origin | None:
        return self._origins.get((kind, name))

    def origin(self, kind: Kind, name: str) -> Origin:
        """The entry for ``(kind, name)``; :class:`UnlistedField` when the sandbox serves something unlisted."""
        found = self._origins.get((kind, name))
        if found is None:
            raise UnlistedField(f"{self.provider} sandbox: {kind} {name!r} has no provenance entry")
        return found

    def serves(self, kind: Kind, name: str, *, strict: bool) -> bool:
        """Whether a listed thing is served: always, except assumed ones in strict mode."""
        return not (strict and self.origin(kind, name).assumed)

    def enforces(self, refusal: str, *, strict: bool) -> bool:
        """Whether the refusal ``refusal`` is on (assumed refusals are off in strict mode)."""
        return self.serves("refusal", refusal, strict=strict)

    def shape(self, resource: str, record: Mapping[str, Any], *, strict: bool) -> dict[str, Any]:
        """``record`` as served: every key must be listed as a field of ``resource``; assumed ones are
        dropped in strict mode. Nested objects and lists of objects are checked the same way."""
        # Every answer is shaped (a served invoice has about 150 keys): the path and entry of each listed
        # key are looked up once, and plain values skip the isinstance checks against the ABCs.
        fields = self._fields
        shaped: dict[str, Any] = {}
        for key, value in record.items():
            found = fields.get((resource, key))
            if found is None:
                path = f"{resource}.{key}"
                found = fields[resource, key] = (path, self.origin("field", path))
            path, origin = found
            if strict and origin.assumed:
                continue
            shaped[key] = value if type(value) in _PLAIN else self._shape_value(origin, path, value, strict=strict)
        return shaped

    def _shape_value(self, origin: Origin, path: str, value: Any, *, strict: bool) -> Any:
        if isinstance(value, Mapping):
            return self.shape(origin.same_as or path, value, strict=strict)
        if isinstance(value, list) and any(isinstance(item, Mapping) for item in value):
            inner = origin.same_as or f"{path}[]"
            return [self.shape(inner, item, strict=strict) if isinstance(item, Mapping) else item for item in value]
        return value

    def assumed(self) -> list[Origin]:
        """Every assumed entry, in file order."""
        return [origin for origin in self._origins.values() if origin.assumed]

    # --- docs ---------------------------------------------------------------------------------------------

    def markdown(self) -> str:
        """The "What the sandbox assumes" section of the provider's page, generated from this data."""
        counts = {source: sum(1 for o in self if o.source == source) for source in _SOURCES}
        lines = [
            "<!-- generated from provenance.toml; do not edit by hand -->",
            "",
            f"The sandbox serves {len(self)} listed things: {counts['seed']} documented in the provider's own docs,"
            f" {counts['client']} observed in public clients, {counts['assumed']} assumed. In strict mode"
            " (`--strict`) the assumed ones below are off: fields left out, refusals not made, endpoints unknown.",
            "",
            "| kind | name | why we assume it |",
            "|---|---|---|",
        ]
        for origin in self.assumed():
            why = origin.why.replace("|", "\\|").replace("\n", " ")
            lines.append(f"| {origin.kind} | `{origin.name}` | {why} |")
        return "\n".join(lines) + "\n"


def _origin(provider: str, index: int, entry: Mapping[str, Any]) -> Origin:
    where = f"{provider} provenance entry {index + 1} ({entry.get('name', '?')!r})"
    unknown = set(entry) - _KEYS
    if unknown:
        raise ProvenanceError(f"{where}: unknown keys {sorted(unknown)}")
    kind, name, source = entry.get("kind"), entry.get("name"), entry.get("source")
    if kind not in _KINDS:
        raise ProvenanceError(f"{where}: kind must be one of {list(_KINDS)}, not {kind!r}")
    if not isinstance(name, str) or not name.strip():
        raise ProvenanceError(f"{where}: name is missing")
    if source not in _SOURCES:
        raise ProvenanceError(f"{where}: source must be one of {list(_SOURCES)}, not {source!r}")
    ref, why = str(entry.get("ref", "")), str(entry.get("why", ""))
    if source == "assumed" and not why.strip():
        raise ProvenanceError(f"{where}: an assumed entry says why")
    if source != "assumed" and not ref.strip():
        raise ProvenanceError(f"{where}: a {source} entry names its ref")
    return Origin(
        kind=cast(Kind, kind),
        name=name,
        source=cast(Source, source),
        ref=ref,
        why=why,
        note=str(entry.get("note", "")),
        value=entry.get("value"),
        same_as=str(entry.get("same_as", "")),
    )
