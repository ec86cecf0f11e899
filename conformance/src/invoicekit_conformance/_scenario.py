"""Declaring a scenario: which capabilities it verifies, which it merely needs, and whether it needs the sandbox."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from invoicekit import Capability

__all__ = ["scenario"]


def scenario(
    *,
    covers: Iterable[Capability],
    requires: Iterable[Capability] = (),
    sandbox_only: str | None = None,
    behaviour: str | None = None,
) -> pytest.MarkDecorator:
    """Mark a scenario.

    ``covers``: the capabilities whose behaviour it verifies; its result is their cell in the feature
    matrix. ``requires``: capabilities it needs on the way (creating the invoice a payment scenario pays).
    The scenario is skipped, naming what is missing, unless the adapter declares all of both.
    ``sandbox_only``: why it cannot run against a live account (fault injection, sandbox state, mail
    to real people), or None. ``behaviour``: for a scenario that verifies no single capability (errors,
    faults, secrets), its row in the "Behaviour" part of the feature matrix.
    """
    covered = tuple(covers)
    needed = tuple(dict.fromkeys((*covered, *requires)))
    return pytest.mark.invoicekit_scenario(
        covers=covered, requires=needed, sandbox_only=sandbox_only, behaviour=behaviour
    )
