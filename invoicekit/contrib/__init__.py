"""Integrations with infrastructure outside the library, each behind its own extra (docs/scale-out.md).

- :mod:`invoicekit.contrib.ratelimit`: a request rate limit per provider account, shared through Redis by every
  worker (``invoicekit[redis]``);
- :mod:`invoicekit.contrib.celery`: Celery tasks for a migration per account and for creating and sending a
  document from an order event (``invoicekit[celery]``).

Nothing here is imported by ``import invoicekit``: a module is loaded only by the code that uses it.
"""
