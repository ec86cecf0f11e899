"""The conformance scenarios: test modules run with ``pytest --pyargs invoicekit_conformance``."""
