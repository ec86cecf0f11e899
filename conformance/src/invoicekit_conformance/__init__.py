"""invoicekit-conformance: the shared scenarios every invoicekit adapter must pass, as a pytest plugin.

Run it against an installed provider::

    pytest --pyargs invoicekit_conformance --invoicekit-provider NAME

and regenerate the feature matrix from a fresh run of every installed provider::

    python -m invoicekit_conformance.matrix --output docs/providers.md

A provider tells the suite what the neutral API cannot with a :class:`ConformanceProfile`
(see docs/plugin-authors.md).
"""

from invoicekit_conformance.profile import ConformanceProfile, DocumentKind, ProviderTotals, load_profile

__all__ = ["ConformanceProfile", "DocumentKind", "ProviderTotals", "load_profile"]
