"""The ``invoicekit`` console script: runs the CLI, or says in one line which extra it needs."""

from __future__ import annotations

import sys

from invoicekit._extras import missing_extra

__all__ = ["main"]


def main() -> None:
    message = missing_extra("cli", "the invoicekit command")
    if message is not None:
        sys.exit(message)  # one line on stderr, exit status 1
    from invoicekit.cli import main as run

    run()
