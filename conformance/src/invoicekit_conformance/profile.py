"""What a provider tells the conformance suite about itself, beyond its adapter's declared capabilities.

The scenarios are the same for every provider. What they cannot know from the neutral API alone comes
from a :class:`ConformanceProfile`: how to read the provider's own totals from a fetched document, how to
count documents in its sandbox (for the "every create lands exactly once" check), which fields it is known
to normalise, which clients its sandbox treats as reachable over Peppol, and where live credentials come
from. Every member is optional: a check that needs a missing member is skipped with a reason saying which.

A provider declares its profile in its :class:`~invoicekit.plugin.ProviderPlugin`::

    plugin = ProviderPlugin(
        name="acme", ...,
        extra={"conformance": "invoicekit_acme.conformance:profile"},
    )

The value may be a :class:`ConformanceProfile`, a zero-argument callable returning one, or a
``"module:attribute"`` string naming either; the string form keeps production imports free of test code.
Without a declaration the suite looks for a ``profile`` attribute in a ``conformance`` module of the
adapter's top-level package, then falls back to an empty profile.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from invoicekit.model import Address, Client, ClientKind, CreditNote, Invoice
from invoicekit.plugin import ProviderPlugin

if TYPE_CHECKING:
    from invoicekit.sandbox import Sandbox

__all__ = ["ConformanceProfile", "DocumentKind", "ProviderTotals", "load_profile"]

DocumentKind = Literal["client", "invoice", "credit_note", "payment"]


@dataclass(frozen=True)
class ProviderTotals:
    """A document's totals as the provider computed them (not as invoicekit's engine computes them).

    Leave a figure None when the provider does not report it; the suite compares the others.
    """

    tax_exclusive: Decimal | None = None
    vat_total: Decimal | None = None
    payable: Decimal | None = None


def _default_peppol_receiver() -> Client:
    return Client(
        name="Peppol Receiver NV",
        vat_number="BE0403019261",
        email="ap@receiver.example",
        address=Address(street="Havenlaan 2", postal_code="1080", city="Brussel"),
    )


def _default_peppol_non_receiver() -> Client:
    # A consumer has no enterprise number, so no Peppol participant id: no access point can reach them.
    return Client(
        kind=ClientKind.PERSON,
        name="An Janssens",
        email="an.janssens@consumer.example",
        address=Address(street="Dorpsstraat 7", postal_code="9000", city="Gent"),
    )


@dataclass(frozen=True)
class ConformanceProfile:
    """Provider specifics the scenarios need; see the module docstring for how to declare one."""

    #: Provider ids of the documents of one kind held in the sandbox's state, whatever the API says. Used
    #: to prove that under injected faults every create landed exactly once. Return None for a kind the
    #: sandbox does not keep (the check is then skipped for that kind).
    stored_ids: Callable[[Sandbox, DocumentKind], Sequence[str] | None] | None = None
    #: The provider's own totals of a fetched invoice or credit note (usually read from ``doc.raw``).
    provider_totals: Callable[[Invoice | CreditNote], ProviderTotals | None] | None = None
    #: Client fields (dotted paths, as in the fidelity report) the provider keeps but rewrites, with why:
    #: reported as "normalised" instead of failing the round trip.
    normalised_fields: Mapping[str, str] = field(default_factory=dict)
    #: A client the sandbox treats as registered on the Peppol network, and one it does not.
    peppol_receiver: Callable[[], Client] = _default_peppol_receiver
    peppol_non_receiver: Callable[[], Client] = _default_peppol_non_receiver
    #: An id that is well-formed for the provider but names no document.
    unknown_id: str = "999999999"
    #: Per kind, words of the URL path of the POST that creates a document of that kind (its own POST, not
    #: one made on its way, like a client an invoice creates first): how the exactly-once scenarios tell the
    #: create's write from the others. A kind left out is matched by its own name (``payment`` ...).
    write_paths: Mapping[DocumentKind, Sequence[str]] = field(default_factory=dict)
    #: Options for ``plugin.create_sandbox`` (the suite adds ``seed=``).
    sandbox_options: Mapping[str, Any] = field(default_factory=dict)
    #: Live runs: ``connect`` keyword -> environment variable. When every variable is set, each scenario that
    #: does not need the sandbox also runs against that account (marked ``live``); otherwise those are skipped.
    live_credentials: Mapping[str, str] = field(default_factory=dict)


def _resolve(value: object, where: str) -> ConformanceProfile:
    if isinstance(value, str):
        module_name, _, attribute = value.partition(":")
        module = importlib.import_module(module_name)
        value = getattr(module, attribute or "profile")
    if isinstance(value, ConformanceProfile):
        return value
    if callable(value):
        made = value()
        if isinstance(made, ConformanceProfile):
            return made
    raise TypeError(f"{where} is not a ConformanceProfile (nor a callable or 'module:attribute' naming one)")


def load_profile(plugin: ProviderPlugin) -> ConformanceProfile:
    """The provider's declared profile, the conventional ``<package>.conformance:profile``, or an empty one."""
    declared = (plugin.extra or {}).get("conformance")
    if declared is not None:
        return _resolve(declared, f"the 'conformance' extra of provider {plugin.name!r}")
    package = getattr(plugin.create_adapter, "__module__", "").split(".", 1)[0]
    if package:
        try:
            module = importlib.import_module(f"{package}.conformance")
        except ModuleNotFoundError as exc:
            if exc.name not in (package, f"{package}.conformance"):
                raise  # the module exists but is broken: say so rather than run with an empty profile
        else:
            if hasattr(module, "profile"):
                return _resolve(module.profile, f"{package}.conformance.profile")
    return ConformanceProfile()
