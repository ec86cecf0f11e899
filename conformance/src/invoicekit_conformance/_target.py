"""The :class:`Target` a scenario receives: one provider, in one place (sandbox or live), in one mode.

It owns the connections a scenario opens (closed at teardown), the fresh seeded sandbox behind them, and
a request counter on each connection (through the ``invoicekit_before_request`` hook, so "nothing was
sent" is measured where the engine sends, not guessed).
"""

from __future__ import annotations

import os
import random
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import httpx
import pytest
from anyio.from_thread import BlockingPortal

import invoicekit
from invoicekit import Books, Capability
from invoicekit.engine import RetryPolicy
from invoicekit.hooks import hookimpl
from invoicekit.plugin import ProviderPlugin
from invoicekit.sandbox import Sandbox
from invoicekit_conformance._bridge import AsyncBridge, SyncBridge
from invoicekit_conformance._secrets import SecretWatch
from invoicekit_conformance.profile import ConformanceProfile

__all__ = ["Case", "Meter", "Target"]

Where = Literal["sandbox", "live"]
Mode = Literal["sync", "async"]


@dataclass(frozen=True)
class Case:
    provider: str
    where: Where
    mode: Mode

    @property
    def id(self) -> str:
        return f"{self.provider}-{self.where}-{self.mode}"


@dataclass
class Meter:
    """What one connection did, seen through invoicekit's own hooks."""

    requests: list[str] = field(default_factory=list)  # "METHOD /path", every attempt
    retries: list[tuple[str, float, str]] = field(default_factory=list)  # (method path, delay, reason)

    @hookimpl
    def invoicekit_before_request(self, provider: str, request: httpx.Request) -> None:
        self.requests.append(f"{request.method} {request.url.path}")

    @hookimpl
    def invoicekit_on_retry(
        self, provider: str, method: str, path: str, attempt: int, delay: float, reason: str
    ) -> None:
        self.retries.append((f"{method} {path}", delay, reason))


def sandbox_retry(seed: int) -> RetryPolicy:
    # The sandbox answers in microseconds: back off for milliseconds, so 250 invoices under 20 % faults
    # stay fast, but try often enough that a seeded run of bad luck cannot exhaust the attempts.
    return RetryPolicy(max_attempts=12, backoff=0.002, max_backoff=0.02, max_retry_after=5.0, rng=random.Random(seed))


class Target:
    """One provider under test; ``books`` is the scenario's default connection."""

    def __init__(
        self,
        case: Case,
        plugin: ProviderPlugin,
        profile: ConformanceProfile,
        *,
        watch: SecretWatch,
        portal: BlockingPortal,
        seed: int,
        node: pytest.Item,
        strict: bool = False,
    ) -> None:
        self.case = case
        self.provider = case.provider
        self.plugin = plugin
        self.profile = profile
        self.seed = seed
        self.strict = strict
        self._watch = watch
        self._portal = portal
        self._node = node
        self._open: list[Any] = []
        self.sandbox: Sandbox | None = None
        if case.where == "sandbox":
            if plugin.create_sandbox is None:
                pytest.skip(f"{self.provider} ships no sandbox: only live runs are possible")
            options = dict(profile.sandbox_options)
            if strict:
                # Only asked for when set: a provider without strict mode still runs the assumed suite.
                options["strict"] = True
            self.sandbox = plugin.create_sandbox(seed=seed, **options)
            watch.saw_repr("the sandbox", self.sandbox)
        self.meter = Meter()
        self.books = self.connect(meter=self.meter)
        self.capabilities: frozenset[Capability] = frozenset(self.books.capabilities)

    def __repr__(self) -> str:
        return f"<Target {self.case.id}>"

    @property
    def live(self) -> bool:
        return self.case.where == "live"

    def live_credentials(self) -> dict[str, str]:
        return {key: os.environ[var] for key, var in self.profile.live_credentials.items()}

    def connect(
        self,
        *,
        meter: Meter | None = None,
        allow_field_loss: bool = False,
        credentials: Mapping[str, str] | None = None,
        retry: RetryPolicy | None = None,
        sandbox: Sandbox | None = None,
    ) -> Books:
        """Another connection to the same sandbox (or account), in the scenario's mode.

        ``credentials`` replace the real ones (to test bad credentials); ``sandbox`` is another sandbox of
        the provider to connect to instead (the exactly-once race's, on a shared SQLite file).
        """
        plugins = [meter] if meter is not None else []
        options: dict[str, Any] = {"plugins": plugins, "allow_field_loss": allow_field_loss}
        if self.sandbox is not None:
            options.update(sandbox=sandbox or self.sandbox, retry=retry or sandbox_retry(self.seed))
        else:
            options.update(self.live_credentials())
            if retry is not None:
                options["retry"] = retry
        options.update(credentials or {})
        connect = invoicekit.connect_async if self.case.mode == "async" else invoicekit.connect
        raw: Any = connect(self.provider, **options)
        self._open.append(raw)
        self._watch.add_secrets(raw.adapter.secrets())
        for box in (self.sandbox, sandbox):
            if box is not None:
                self._watch.add_secrets(box.credentials().values())
        self._watch.add_secrets((credentials or {}).values())
        for what, value in (("the connection", raw), ("the adapter", raw.adapter), ("the engine", raw._ops.core)):
            self._watch.saw_repr(what, value)
        bridge: Any = (
            AsyncBridge(raw, self._watch, self._portal) if self.case.mode == "async" else SyncBridge(raw, self._watch)
        )
        return cast(Books, bridge)

    def close(self) -> None:
        for raw in reversed(self._open):
            if isinstance(raw, invoicekit.AsyncBooks):
                self._portal.call(raw.aclose)
            else:
                raw.close()
        self._open.clear()
        if self.sandbox is not None:
            self.sandbox.close()

    # --- helpers for scenarios ----------------------------------------------------------------------
    def supports(self, *capabilities: Capability) -> bool:
        return all(c in self.capabilities for c in capabilities)

    def need(self, *capabilities: Capability) -> None:
        """Skip the rest of a scenario that needs ``capabilities``, naming the missing ones."""
        missing = [c.value for c in capabilities if c not in self.capabilities]
        if missing:
            pytest.skip(f"{self.provider} does not declare {', '.join(missing)}")

    def tag(self) -> str:
        """A short unique token, so documents made by this run are told apart (on a live account too)."""
        return secrets.token_hex(3)

    def report(self, key: str, value: object) -> None:
        """Attach a finding to the test report (the feature matrix reads them)."""
        self._node.user_properties.append((key, value))
