"""Many documents through one connection: bounded concurrency that backs off on 429, results as they finish.

::

    bulk = invoicekit.Bulk(books, concurrency=16, on_progress=print)
    for result in bulk.create(invoices):
        if result.ok:
            print(result.index, result.document.provider_id)
        else:
            print(result.index, result.error)          # a typed InvoicekitError, the batch goes on

    async with invoicekit.connect_async("cashaca", token=...) as books:
        async for result in invoicekit.AsyncBulk(books, concurrency=16).create(invoices):
            ...

At most ``concurrency`` operations are under way at any time. The limit adapts (AIMD, as TCP does): every
429 episode halves it (never below ``min_concurrency``) and stops new work for the Retry-After the provider
asked for; each run of ``limit`` successes without a 429 gives one slot back, up to ``concurrency``.

The engine itself still retries each 429 (its :class:`~invoicekit.engine.RetryPolicy`); the helper only
watches, through an observer it registers on the connection's engine for the time of a run (the engine's
own, not a pluggy hook: hooks get masked copies of every request and response, which cost a third of a
call). It sees every 429 (with its Retry-After), also the last one, after which the engine gives up and
the item's result carries :class:`~invoicekit.errors.RateLimited`.

Results come in the order operations finish; ``result.index`` is the input's position. An
:class:`~invoicekit.errors.InvoicekitError` becomes that item's result; any other exception is a bug and
stops the batch (after the operations under way have finished). Leaving the loop early starts nothing
more and waits for what is under way; with ``AsyncBulk`` wrap the iterator in ``contextlib.aclosing``
when you may leave early, so that happens in your task.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Iterable, Iterator, Sized
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

import httpx

from invoicekit.engine import RetryPolicy
from invoicekit.errors import InvoicekitError
from invoicekit.model import Client, CreditNote, Invoice, Payment

if TYPE_CHECKING:
    from invoicekit.adapter import SendResult
    from invoicekit.books import AsyncBooks, Books
    from invoicekit.engine import EngineCore
    from invoicekit.engine._core import Observer

__all__ = ["AsyncBulk", "Bulk", "BulkProgress", "BulkResult"]

In = TypeVar("In")
Out = TypeVar("Out")
Document = TypeVar("Document", Client, Invoice, CreditNote, Payment)
Sendable = Invoice | CreditNote
Connection = TypeVar("Connection", "Books", "AsyncBooks")
Via = Literal["email", "peppol"]

# After a cut, further 429s within this many seconds (or the Retry-After, if longer) belong to the same
# episode: they were sent before the cut took effect, so they must not cut again.
_EPISODE = 0.5


@dataclass(frozen=True)
class BulkResult(Generic[In, Out]):
    """The outcome of one input: ``document`` when it worked, else ``error`` (a typed invoicekit error)."""

    index: int
    input: In
    document: Out | None
    error: InvoicekitError | None
    seconds: float

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class BulkProgress:
    """Counters of a run, as of one moment. ``total`` is None when the input has no length."""

    total: int | None
    done: int
    succeeded: int
    failed: int
    in_flight: int
    limit: int
    rate_limited: int
    elapsed: float

    @property
    def rate(self) -> float:
        """Results per second since the run started."""
        return self.done / self.elapsed if self.elapsed > 0 else 0.0


class _Limit:
    """The adaptive concurrency limit (additive increase, multiplicative decrease). Thread-safe."""

    def __init__(self, maximum: int, minimum: int, clock: Callable[[], float]) -> None:
        self.maximum = maximum
        self.minimum = minimum
        self.value = maximum
        self.rate_limited = 0
        self.paused_until = 0.0
        self._clock = clock
        self._calm_after = 0.0
        self._credit = 0
        self._lock = threading.Lock()

    def on_rate_limited(self, retry_after: float | None) -> None:
        with self._lock:
            now = self._clock()
            self.rate_limited += 1
            wait = retry_after or 0.0
            self.paused_until = max(self.paused_until, now + wait)
            if now >= self._calm_after:
                self.value = max(self.minimum, self.value // 2)
                self._credit = 0
                self._calm_after = now + max(wait, _EPISODE)

    def on_success(self) -> None:
        with self._lock:
            if self.value >= self.maximum or self._clock() < self._calm_after:
                return
            self._credit += 1
            if self._credit >= self.value:
                self.value += 1
                self._credit = 0

    def wait_before_start(self) -> float:
        """Seconds to hold back new work (a Retry-After still running), 0 when it may start."""
        return max(0.0, self.paused_until - self._clock())


def _watcher(limit: _Limit) -> Observer:
    """The observer a run registers on its connection's engine: it reports 429 answers to the limit."""

    def watch(response: httpx.Response) -> None:
        if response.status_code == 429:
            limit.on_rate_limited(RetryPolicy.retry_after(response))

    return watch


def _engine(books: Books | AsyncBooks) -> EngineCore:
    # The connection keeps its engine private; the one place where the helper reaches it.
    return books._ops.core


class _Run(Generic[In, Out]):
    """Counters and the limit of one run; shared by the thread and the task-group loops."""

    def __init__(self, owner: _BulkBase[Any], total: int | None) -> None:
        self.limit = _Limit(owner.concurrency, owner.min_concurrency, owner._clock)
        self.total = total
        self.started = owner._clock()
        self.done = self.failed = self.in_flight = 0
        self._clock = owner._clock
        self._on_progress = owner.on_progress
        self._lock = threading.Lock()

    def start(self) -> float:
        with self._lock:
            self.in_flight += 1
        return self._clock()

    def finish(self, index: int, item: In, began: float, document: Out | None, error: InvoicekitError | None) -> Any:
        if error is None:
            self.limit.on_success()
        result = BulkResult(index, item, document, error, self._clock() - began)
        with self._lock:
            self.in_flight -= 1
            self.done += 1
            self.failed += error is not None
        return result

    def progress(self) -> BulkProgress:
        with self._lock:
            return BulkProgress(
                total=self.total,
                done=self.done,
                succeeded=self.done - self.failed,
                failed=self.failed,
                in_flight=self.in_flight,
                limit=self.limit.value,
                rate_limited=self.limit.rate_limited,
                elapsed=self._clock() - self.started,
            )

    def report(self) -> None:
        if self._on_progress is not None:
            self._on_progress(self.progress())


class _Feed(Generic[In, Out]):
    """Which inputs may start now, and what came back; the part the thread and task loops share."""

    def __init__(self, run: _Run[In, Out], items: Iterable[In]) -> None:
        self.run = run
        self.pending = 0
        self._source = enumerate(items)
        self._exhausted = False
        self._bug: Exception | None = None

    def startable(self) -> Iterator[tuple[int, In]]:
        limit = self.run.limit
        # Slots are counted here, before a thread or task even starts, so the bound holds strictly.
        while not self._exhausted and self.pending < limit.value and limit.wait_before_start() == 0.0:
            entry = next(self._source, None)
            if entry is None:
                self._exhausted = True
                return
            self.pending += 1
            yield entry

    def timeout(self) -> float | None:
        """How long to wait for the next result: until a pause ends if that frees a slot, else for ever."""
        if self._exhausted or self.pending >= self.run.limit.value:
            return None
        return self.run.limit.wait_before_start() or None

    def received(self, outcome: BulkResult[In, Out] | Exception) -> BulkResult[In, Out] | None:
        self.pending -= 1
        if isinstance(outcome, Exception):
            self._bug = self._bug or outcome
            self._exhausted = True  # start nothing more; what is under way still reports
            return None
        self.run.report()
        return outcome

    def raise_bug(self) -> None:
        if self._bug is not None:
            raise self._bug


class _BulkBase(Generic[Connection]):
    def __init__(
        self,
        books: Connection,
        *,
        concurrency: int = 8,
        min_concurrency: int = 1,
        on_progress: Callable[[BulkProgress], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if concurrency < 1 or not 1 <= min_concurrency <= concurrency:
            raise ValueError("concurrency must be >= 1 and min_concurrency between 1 and concurrency")
        self.books: Connection = books
        self.concurrency = concurrency
        self.min_concurrency = min_concurrency
        self.on_progress = on_progress
        self._clock = clock
        self._run: _Run[Any, Any] | None = None

    @property
    def progress(self) -> BulkProgress | None:
        """The counters of the current (or last) run; None until the first iteration starts."""
        return None if self._run is None else self._run.progress()

    def _new_run(self, items: Iterable[Any]) -> _Run[Any, Any]:
        total = len(items) if isinstance(items, Sized) else None
        self._run = _Run(self, total)
        return self._run


def _recipient(to: str | Callable[[Sendable], str | None] | None, document: Sendable) -> str | None:
    return to(document) if callable(to) else to


def _creating(books: Books | AsyncBooks, document: object) -> Any:
    """The resource (``books.invoices``, ...) whose ``create`` takes ``document``."""
    for kind, resource in (
        (Invoice, "invoices"),
        (CreditNote, "credit_notes"),
        (Client, "clients"),
        (Payment, "payments"),
    ):
        if isinstance(document, kind):
            return getattr(books, resource)
    raise TypeError(f"bulk create takes clients, invoices, credit notes or payments, not {type(document).__name__}")


def _sending(books: Books | AsyncBooks, document: Sendable) -> Any:
    return books.credit_notes if isinstance(document, CreditNote) else books.invoices


class Bulk(_BulkBase["Books"]):
    """Bulk work through a :class:`~invoicekit.Books` connection, on up to ``concurrency`` threads."""

    def create(self, documents: Iterable[Document]) -> Generator[BulkResult[Document, Document], None, None]:
        """Create each client, invoice, credit note or payment (``books.<kind>.create``)."""
        return self.map(self._creator, documents)

    def send(
        self,
        documents: Iterable[Sendable],
        *,
        via: Via = "email",
        to: str | Callable[[Sendable], str | None] | None = None,
    ) -> Generator[BulkResult[Sendable, SendResult], None, None]:
        """Send each invoice or credit note; ``to`` is one address or a function of the document."""

        def send_one(document: Sendable) -> SendResult:
            result: SendResult = _sending(self.books, document).send(document, via=via, to=_recipient(to, document))
            return result

        return self.map(send_one, documents)

    def map(self, operation: Callable[[In], Out], items: Iterable[In]) -> Generator[BulkResult[In, Out], None, None]:
        """Run ``operation(item)`` (one call on this connection, e.g. ``books.invoices.create``) for each item."""
        return self._results(operation, items)

    def _creator(self, document: Any) -> Any:
        return _creating(self.books, document).create(document)

    def _results(
        self, operation: Callable[[In], Out], items: Iterable[In]
    ) -> Generator[BulkResult[In, Out], None, None]:
        run: _Run[In, Out] = self._new_run(items)
        # Imported here: `import invoicekit` should not pay for the thread pool of a helper it may never use.
        import queue
        from concurrent.futures import ThreadPoolExecutor

        finished: queue.SimpleQueue[BulkResult[In, Out] | Exception] = queue.SimpleQueue()

        def work(index: int, item: In) -> None:
            began = run.start()
            try:
                finished.put(run.finish(index, item, began, operation(item), None))
            except InvoicekitError as exc:
                finished.put(run.finish(index, item, began, None, exc))
            except Exception as exc:  # a bug: raised in the caller's thread once the others are done
                finished.put(exc)

        watcher = _watcher(run.limit)
        engine = _engine(self.books)
        engine.observe(watcher)
        feed = _Feed(run, items)
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="invoicekit-bulk")
        try:
            while True:
                for entry in feed.startable():
                    pool.submit(work, *entry)
                if feed.pending == 0:
                    break
                try:
                    outcome = finished.get(timeout=feed.timeout())
                except queue.Empty:
                    continue  # the Retry-After pause is over: start more
                result = feed.received(outcome)
                if result is not None:
                    yield result
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            engine.unobserve(watcher)
        feed.raise_bug()


class AsyncBulk(_BulkBase["AsyncBooks"]):
    """The async twin of :class:`Bulk`, for an :class:`~invoicekit.AsyncBooks` connection (an anyio task group)."""

    def create(self, documents: Iterable[Document]) -> AsyncGenerator[BulkResult[Document, Document], None]:
        """Create each client, invoice, credit note or payment (``books.<kind>.create``)."""
        return self.map(self._creator, documents)

    def send(
        self,
        documents: Iterable[Sendable],
        *,
        via: Via = "email",
        to: str | Callable[[Sendable], str | None] | None = None,
    ) -> AsyncGenerator[BulkResult[Sendable, SendResult], None]:
        """Send each invoice or credit note; ``to`` is one address or a function of the document."""

        async def send_one(document: Sendable) -> SendResult:
            result: SendResult = await _sending(self.books, document).send(
                document, via=via, to=_recipient(to, document)
            )
            return result

        return self.map(send_one, documents)

    def map(
        self, operation: Callable[[In], Awaitable[Out]], items: Iterable[In]
    ) -> AsyncGenerator[BulkResult[In, Out], None]:
        """Await ``operation(item)`` (one call on this connection) for each item."""
        return self._results(operation, items)

    async def _creator(self, document: Any) -> Any:
        return await _creating(self.books, document).create(document)

    async def _results(
        self, operation: Callable[[In], Awaitable[Out]], items: Iterable[In]
    ) -> AsyncGenerator[BulkResult[In, Out], None]:
        run: _Run[In, Out] = self._new_run(items)
        import anyio  # only async users need it at import time

        send, receive = anyio.create_memory_object_stream[BulkResult[In, Out] | Exception](max_buffer_size=math.inf)

        async def work(index: int, item: In) -> None:
            began = run.start()
            try:
                outcome: BulkResult[In, Out] | Exception = run.finish(index, item, began, await operation(item), None)
            except InvoicekitError as exc:
                outcome = run.finish(index, item, began, None, exc)
            except Exception as exc:  # a bug: raised in the caller's task once the others are done
                outcome = exc
            send.send_nowait(outcome)

        watcher = _watcher(run.limit)
        engine = _engine(self.books)
        engine.observe(watcher)
        feed = _Feed(run, items)
        try:
            # The streams close after the task group: its tasks may still be sending when the loop ends.
            async with send, receive, anyio.create_task_group() as group:
                try:
                    while True:
                        for entry in feed.startable():
                            group.start_soon(work, *entry)
                        if feed.pending == 0:
                            break
                        outcome = None
                        timeout = feed.timeout()
                        with anyio.move_on_after(math.inf if timeout is None else timeout):
                            outcome = await receive.receive()
                        if outcome is None:
                            continue  # the Retry-After pause is over: start more
                        result = feed.received(outcome)
                        if result is not None:
                            yield result
                except GeneratorExit:
                    pass  # the caller left early: start nothing more; the task group waits for the rest
        finally:
            engine.unobserve(watcher)
        feed.raise_bug()
