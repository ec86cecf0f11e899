"""One scenario, two modes: the same test code drives :class:`~invoicekit.Books` or :class:`~invoicekit.AsyncBooks`.

Scenarios are written once, against the synchronous API. In async mode they get a bridge that runs each
call on an event loop (an anyio blocking portal) against a real ``AsyncBooks``: awaited results come back
as values, async iterators are drained on the loop and handed back as iterators. So the async run goes
through ``connect_async``, ``httpx.AsyncClient``, ``run_async`` and ``iterate_async``, and a scenario
cannot drift between the two modes.

Both bridges also show every exception that reaches the scenario, and the repr of every result, to the
secrets watch.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from anyio.from_thread import BlockingPortal

from invoicekit_conformance._secrets import SecretWatch

__all__ = ["AsyncBridge", "SyncBridge"]

_RESOURCES = frozenset({"clients", "invoices", "credit_notes", "payments"})


class _Drained:
    """A drained async iterator (told apart from a result that merely is a list)."""

    def __init__(self, items: list[Any]) -> None:
        self.items = items


class _Bridge:
    def __init__(self, target: Any, watch: SecretWatch) -> None:
        self._target = target
        self._watch = watch

    def __repr__(self) -> str:
        return repr(self._target)

    def _nested(self, value: Any) -> _Bridge:
        raise NotImplementedError

    def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if name in _RESOURCES:
            return self._nested(value)
        if callable(value) and not isinstance(value, type):

            def call(*args: Any, **kwargs: Any) -> Any:
                return self._call(value, *args, **kwargs)

            return call
        return value

    def _seen(self, result: Any) -> Any:
        self._watch.saw_repr("a result", result)
        return result


class SyncBridge(_Bridge):
    def _nested(self, value: Any) -> _Bridge:
        return SyncBridge(value, self._watch)

    def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:
            self._watch.saw_exception(exc)
            raise
        if isinstance(result, Iterator):
            return self._iterate(result)
        return self._seen(result)

    def _iterate(self, items: Iterator[Any]) -> Iterator[Any]:
        try:
            for item in items:
                yield self._seen(item)
        except Exception as exc:
            self._watch.saw_exception(exc)
            raise


class AsyncBridge(_Bridge):
    def __init__(self, target: Any, watch: SecretWatch, portal: BlockingPortal) -> None:
        super().__init__(target, watch)
        self._portal = portal

    def _nested(self, value: Any) -> _Bridge:
        return AsyncBridge(value, self._watch, self._portal)

    def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        async def invoke() -> Any:
            result = fn(*args, **kwargs)
            if inspect.isawaitable(result):
                return await result
            if isinstance(result, AsyncIterator):
                return _Drained([item async for item in result])
            return result

        try:
            result = self._portal.call(invoke)
        except Exception as exc:
            self._watch.saw_exception(exc)
            raise
        if isinstance(result, _Drained):
            return iter([self._seen(item) for item in result.items])
        return self._seen(result)
