"""Celery tasks: a migration per account, and documents from order events (``invoicekit[celery]``).

Install the tasks on your Celery app, in the module your workers import::

    app = Celery("shop", broker="redis://redis.internal:6379/0")
    tasks = invoicekit.contrib.celery.install(
        app,
        credentials=my_vault_lookup,            # (provider, account) -> connect() keywords, in the worker
        redis_url="redis://redis.internal:6379/1",
        rate_limits={"cashaca": 10, "eenvoudigfactureren": 5},   # requests per second per account
        journal=lambda: PostgresJournal(os.environ["JOURNAL_DSN"]),
    )

and send work from anywhere::

    tasks.create_and_send.delay("cashaca", "merchant-42", invoice.model_dump(mode="json"), f"order-{order.id}")
    tasks.migrate_account.delay("cashaca", "merchant-42", "eenvoudigfactureren", "merchant-42")

**Credentials never travel in a message.** A task names an account (any string that is not a secret); the
worker asks ``credentials(provider, account)`` for the keywords of :func:`invoicekit.connect`.
:func:`environment_credentials` reads them from ``INVOICEKIT_<PROVIDER>_<CREDENTIAL>`` (account
``"default"``) or ``INVOICEKIT_<ACCOUNT>_<PROVIDER>_<CREDENTIAL>``.

**Redelivery is safe.** Both tasks acknowledge late (``acks_late``) and are rejected back to the queue when
their worker dies (``reject_on_worker_lost``); with the Redis broker a message whose worker was SIGKILLed
comes back after ``visibility_timeout`` seconds. Whatever runs twice converges on one result:

- ``create_and_send`` is get-or-create by the idempotency key (:meth:`Books.invoices.create
  <invoicekit.books.Invoices.create>` with ``idempotency_key=``), so a redelivered event finds the
  document it made instead of making a second one; a document already sent is not sent again (a marker in
  Redis, set once the send succeeded; a worker dying between the send and the marker sends it twice, the
  one at-least-once step);
- ``migrate_account`` resumes from the journal (:mod:`invoicekit.migrate`): what is done stays done, and a
  create that was in flight is searched for by its key on the target before anything is created again.

A task holds a lock in Redis (per migration run, per order key) for as long as it works, renewed every
``lock_seconds / 3``: a copy delivered while another still works (a visibility timeout shorter than the
task) waits and tries again later instead of working alongside it, and once the first has finished, returns
its result (a marker per task id) without doing anything. A lock whose worker died lapses after
``lock_seconds``; the next copy then releases the dead worker's claims in the journal and resumes. A worker
that finds its own lock lapsed when renewing it (Redis out of reach for longer than ``lock_seconds``, a
stalled process) logs it, sends no further request for that task and tries the task again later.

Every request of an account, from every worker, takes a slot of that account's limit in Redis
(:mod:`invoicekit.contrib.ratelimit`), and a 429 blocks the account in all workers for its Retry-After.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
import redis
from celery import Celery, Task
from redis.exceptions import LockNotOwnedError

import invoicekit
from invoicekit._environ import account_credentials, borrowed_credentials
from invoicekit.books import Books
from invoicekit.contrib.ratelimit import AccountRateLimit, RateLimitedTransport, account_key
from invoicekit.errors import (
    ConfigurationError,
    MalformedResponse,
    ProviderUnavailable,
    RateLimited,
    TransportError,
    UncertainOutcome,
    WriteLanded,
)
from invoicekit.migrate import EntryState, Journal, RunSpec, migrate
from invoicekit.model import Client, CreditNote, Invoice
from invoicekit.registry import load_provider

__all__ = ["CREATE_AND_SEND", "MIGRATE_ACCOUNT", "Tasks", "environment_credentials", "install"]

#: The task names, for ``app.send_task`` from code that does not import invoicekit.
CREATE_AND_SEND = "invoicekit.create_and_send"
MIGRATE_ACCOUNT = "invoicekit.migrate_account"

CredentialResolver = Callable[[str, str], Mapping[str, Any]]

# Errors after which the same task, run again later, can succeed and cannot duplicate anything: creates are
# get-or-create by key, so even an uncertain or landed write is found on the next run instead of resent.
_TRANSIENT = (ProviderUnavailable, RateLimited, TransportError, MalformedResponse, UncertainOutcome, WriteLanded)
_SENT_FOR = 90 * 24 * 3600
_log = logging.getLogger("invoicekit.contrib.celery")
_DONE_FOR = 7 * 24 * 3600


def environment_credentials(provider: str, account: str) -> dict[str, Any]:
    """The credentials of ``account`` at ``provider`` from the environment (the scheme of
    :func:`invoicekit.connect`): ``INVOICEKIT_CASHACA_TOKEN`` for account ``"default"``,
    ``INVOICEKIT_SHOP42_CASHACA_TOKEN`` for account ``"shop42"`` (upper case, anything but letters and
    digits as ``_``)."""
    return account_credentials(load_provider(provider), account)


@dataclass
class _Settings:
    credentials: CredentialResolver
    redis_url: str
    rate_limits: Mapping[str, int]
    journal: Callable[[], Journal] | None
    lock_seconds: float
    _limits: dict[str, AccountRateLimit] = field(default_factory=dict)
    _redis: redis.Redis | None = None

    def redis(self) -> redis.Redis:
        if self._redis is None:
            self._redis = redis.Redis.from_url(self.redis_url)
        return self._redis

    def connect(self, provider: str, account: str, guard: _Guard) -> tuple[Books, str]:
        """A connection to ``account`` whose every request takes a slot of the account's shared limit, and
        which sends nothing once ``guard`` says a lock of the task was lost."""
        credentials = dict(self.credentials(provider, account))
        # connect() fills a keyword left out from INVOICEKIT_<PROVIDER>_<CREDENTIAL>: in a worker serving
        # many accounts that is some other account's secret, so every one of those must come from the resolver.
        borrowed = borrowed_credentials(load_provider(provider), credentials)
        if borrowed:
            raise ConfigurationError(
                f"the credentials of {provider} account {account!r} lack {', '.join(f'{b}=' for b in borrowed)}; "
                "they would be taken from the environment's default account"
            )
        key = account_key(provider, **credentials)
        transport: httpx.BaseTransport = httpx.HTTPTransport()
        if provider in self.rate_limits:
            if provider not in self._limits:
                self._limits[provider] = AccountRateLimit(self.redis(), limit=self.rate_limits[provider])
            transport = RateLimitedTransport(self._limits[provider], key, transport)
        return invoicekit.connect(provider, transport=_GuardedTransport(guard, transport), **credentials), key


class _Busy(Exception):
    """Another worker holds the lock: this copy of the task tries again later."""


class _LockLost(Exception):
    """A lock this execution held lapsed or was taken over: its work stops, and the task tries again later.

    Not an :class:`~invoicekit.errors.InvoicekitError` on purpose: nothing on the way (Bulk, the migration's
    journal) may take it for one document's failure and carry on with the next.
    """


class _Guard:
    """The locks of one task execution. Once one is lost, no further request of its connections is sent:
    another worker may be doing the same work by then, and only the lock kept the two apart."""

    def __init__(self) -> None:
        self.lost: str | None = None

    def check(self) -> None:
        if self.lost is not None:
            raise _LockLost(self.lost)


class _GuardedTransport(httpx.BaseTransport):
    """Refuses every request once the guard's lock is lost (before it is sent, so nothing can land)."""

    def __init__(self, guard: _Guard, transport: httpx.BaseTransport) -> None:
        self._guard = guard
        self._transport = transport

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self._guard.check()
        return self._transport.handle_request(request)

    def close(self) -> None:
        self._transport.close()


@contextlib.contextmanager
def _exclusive(
    settings: _Settings, name: str, owner: str, guard: _Guard, *, wait: float | None = None
) -> Iterator[None]:
    """Hold a Redis lock for the block, renewed in the background so a long task keeps it; wait up to ``wait``
    seconds for it (None: not at all), else :class:`_Busy`. A renewal that finds the lock no longer ours
    marks ``guard``: the work's next request raises :class:`_LockLost` instead of being sent."""
    lock = settings.redis().lock(
        name, timeout=settings.lock_seconds, blocking=wait is not None, blocking_timeout=wait, thread_local=False
    )
    if not lock.acquire(token=owner):
        raise _Busy(name)
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(settings.lock_seconds / 3):
            try:
                lock.reacquire()
            except LockNotOwnedError:
                # It lapsed (Redis unreachable for longer than lock_seconds, a stalled worker) and another copy
                # of the task may hold it now. The name holds provider, account and key, never a credential.
                _log.warning("lost the lock %s: this execution stops working on it and retries later", name)
                guard.lost = name
                return
            except redis.RedisError:
                continue  # unreachable for now: the lock holds until its timeout, try again at the next tick

    renewer = threading.Thread(target=renew, name="invoicekit-lock", daemon=True)
    renewer.start()
    try:
        yield
    finally:
        stop.set()
        renewer.join()
        if guard.lost != name:
            with contextlib.suppress(redis.RedisError):
                lock.release()


def _owner(task: Task[Any, Any]) -> str:
    """Names this execution (host, process, task id, a nonce); the test that kills a worker reads the pid."""
    return f"{socket.gethostname()}:{os.getpid()}:{task.request.id}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Tasks:
    """The tasks :func:`install` registered (``tasks.create_and_send.delay(...)``)."""

    create_and_send: Task[..., dict[str, Any]]
    migrate_account: Task[..., dict[str, Any]]


def install(
    app: Celery,
    *,
    credentials: CredentialResolver = environment_credentials,
    redis_url: str,
    rate_limits: Mapping[str, int] | None = None,
    journal: Callable[[], Journal] | None = None,
    visibility_timeout: float | None = None,
    lock_seconds: float = 30.0,
) -> Tasks:
    """Register the invoicekit tasks on ``app`` and set what redelivery needs.

    ``credentials(provider, account)`` runs in the worker. ``redis_url`` holds the rate limits, the locks and
    the sent markers (it may be the broker's server). ``rate_limits`` is requests per second per account, by
    provider (a provider left out is not limited). ``journal()`` opens the migrations' journal in the worker
    (a :class:`~invoicekit.contrib.postgres.PostgresJournal` when workers run on several hosts).
    ``visibility_timeout`` (seconds) is how long the Redis broker waits before handing the message of a dead
    worker to another (kombu's default: one hour). Sets ``worker_prefetch_multiplier=1``, so a worker that
    dies holds no more than the task it was running.
    """
    settings = _Settings(credentials, redis_url, dict(rate_limits or {}), journal, lock_seconds)
    app.conf.worker_prefetch_multiplier = 1
    if visibility_timeout is not None:
        app.conf.broker_transport_options = {
            **(app.conf.broker_transport_options or {}),
            "visibility_timeout": visibility_timeout,
            # kombu looks for expired messages every 10 s x 10 by default; a short timeout wants a faster sweep.
            "unacked_restore_interval": max(1, min(10, round(visibility_timeout / 4))),
            "unacked_restore_throttle": 1,
        }
    options: dict[str, Any] = {"bind": True, "acks_late": True, "reject_on_worker_lost": True}

    @app.task(name=CREATE_AND_SEND, max_retries=8, **options)
    def create_and_send(
        self: Task[..., dict[str, Any]],
        provider: str,
        account: str,
        document: dict[str, Any],
        idempotency_key: str,
        kind: Literal["invoice", "credit_note"] = "invoice",
        via: Literal["email", "peppol"] | None = "email",
        to: str | None = None,
    ) -> dict[str, Any]:
        """Create the invoice (or credit note) of an order event, once, and send it (``via``; None: do not
        send) to ``to``, by default the client's e-mail address, once."""
        owner, guard = _owner(self), _Guard()
        order = (provider, account, document, idempotency_key, kind, via, to)
        try:
            with _exclusive(settings, f"invoicekit:order:{provider}:{account}:{idempotency_key}", owner, guard):
                return _once(settings, self, lambda: _create_and_send(settings, owner, guard, *order))
        except (_Busy, _LockLost):
            raise self.retry(countdown=settings.lock_seconds / 3) from None
        except _TRANSIENT as exc:
            raise self.retry(countdown=min(60, 2**self.request.retries), exc=exc) from None

    @app.task(name=MIGRATE_ACCOUNT, max_retries=None, **options)
    def migrate_account(
        self: Task[..., dict[str, Any]],
        source_provider: str,
        source_account: str,
        target_provider: str,
        target_account: str,
        options: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Migrate one account's book (or resume the migration), then verify it."""
        run, guard = RunSpec(source_provider, source_account, target_provider, target_account), _Guard()
        try:
            with _exclusive(settings, f"invoicekit:migration:{run.run_id}", _owner(self), guard):
                return _once(settings, self, lambda: _migrate(settings, run, guard, options or {}))
        except (_Busy, _LockLost):
            raise self.retry(countdown=settings.lock_seconds / 3) from None
        except _TRANSIENT as exc:
            raise self.retry(countdown=min(60, 2 ** min(self.request.retries, 6)), exc=exc) from None

    return Tasks(create_and_send, migrate_account)


def _once(settings: _Settings, task: Task[Any, Any], work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run ``work`` unless this task id already finished: then return what it returned.

    A copy of a message delivered again while its first delivery still ran (the visibility timeout ran out)
    waits for the lock, then ends here at once instead of doing the work a second time.
    """
    marker = f"invoicekit:done:{task.request.id}"
    finished = settings.redis().get(marker)
    if finished is not None:
        result: dict[str, Any] = json.loads(finished)
        return result
    result = work()
    settings.redis().set(marker, json.dumps(result, default=str), ex=_DONE_FOR)
    return result


def _create_and_send(
    settings: _Settings,
    owner: str,
    guard: _Guard,
    provider: str,
    account: str,
    document: dict[str, Any],
    idempotency_key: str,
    kind: Literal["invoice", "credit_note"],
    via: Literal["email", "peppol"] | None,
    to: str | None,
) -> dict[str, Any]:
    model = CreditNote if kind == "credit_note" else Invoice
    doc = model.model_validate(document)  # an invoicekit ValidationError naming the field: no retry
    books, key = settings.connect(provider, account, guard)
    with books:
        if doc.client.provider_id is None:
            # The order's customer, made once too: keyed by its external id, or by the order's key.
            # Orders of one customer on several workers at once would each find no client and create one: the
            # get-or-create of a client key runs under a lock of its own.
            client_key = doc.client.external_id or f"{idempotency_key}-client"
            lock = f"invoicekit:client:{provider}:{account}:{client_key}"
            with _exclusive(settings, lock, owner, guard, wait=settings.lock_seconds):
                client: Client = books.clients.create(doc.client, idempotency_key=client_key)
            doc = doc.model_copy(update={"client": client})
        created: Invoice | CreditNote
        if isinstance(doc, CreditNote):
            created = books.credit_notes.create(doc, idempotency_key=idempotency_key)
        else:
            created = books.invoices.create(doc, idempotency_key=idempotency_key)
        sent = False
        if via is not None:
            marker = f"invoicekit:sent:{key}:{idempotency_key}"
            if not settings.redis().exists(marker):
                to = to or doc.client.email  # by default, the customer's address
                if isinstance(created, CreditNote):
                    books.credit_notes.send(created, via=via, to=to)
                else:
                    books.invoices.send(created, via=via, to=to)
                settings.redis().set(marker, "1", ex=_SENT_FOR)
            sent = True
    return {"provider_id": created.provider_id, "number": created.number, "sent": sent}


def _migrate(settings: _Settings, run: RunSpec, guard: _Guard, options: dict[str, Any]) -> dict[str, Any]:
    if settings.journal is None:
        raise ConfigurationError("migrate_account needs install(..., journal=...)")
    journal = settings.journal()
    try:
        # We hold the run's lock, so whoever still holds a claim in this run is a worker that died: its
        # entries become claimable at once (and are searched for by key before anything is created).
        for owner in {entry.owner for entry in journal.entries(run, state=EntryState.IN_FLIGHT) if entry.owner}:
            journal.release_owner(owner)
        source, _ = settings.connect(run.source_provider, run.source_account, guard)
        target, _ = settings.connect(run.target_provider, run.target_account, guard)
        with source, target:
            report = migrate(
                source,
                target,
                journal=journal,
                source_account=run.source_account,
                target_account=run.target_account,
                **options,
            )
        summary: dict[str, Any] = report.to_json()
        return summary
    finally:
        journal.close()
