"""The invoicekit conformance suite."""
