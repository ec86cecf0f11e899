"""Where the client's time goes: cProfile of ``books.invoices.get`` / ``list()`` / ``connect()``.

    uv run python -m benchmarks.profile get [--calls 300] [--top 25]
    uv run python -m benchmarks.profile list [--pages 20]
    uv run python -m benchmarks.profile connect [--calls 50]
    uv run python -m benchmarks.profile validation   # CPU per listed invoice, layer by layer

The answers are the real sandbox's bytes, captured once and replayed through ``httpx.MockTransport``, so
the profile holds the client alone (no socket, no server). It prints the top functions by own time and by
cumulative time, as a share of the whole, and per operation the call counts of the suspects named in
issue 13 (model builds, OGM checks, URL parsing, SSL contexts).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
from collections.abc import Callable, Sequence
from typing import Any

import httpx
from invoicekit_cashaca._mapping import invoice_from_json  # the profile is about internals, unlike the figures

import invoicekit
from benchmarks._data import PROVIDER, seed_invoices
from benchmarks._validation_floor import report
from invoicekit.model import Invoice
from invoicekit.sandbox import create_sandbox

__all__ = ["main"]

# (label, module path fragment or "" for any, function name) whose call counts per operation are printed.
SUSPECTS = (
    ("model builds (from_provider)", "invoicekit/model", "from_provider"),
    ("pydantic validations (model_validate)", "invoicekit/model", "model_validate"),
    ("NeutralModel.__init__", "invoicekit/model", "__init__"),
    ("OGM checks (belgium.validate_ogm)", "invoicekit/belgium", "validate_ogm"),
    ("client mapped (client_from_json)", "_mapping", "client_from_json"),
    ("httpx.URL built", "httpx/_urls", "__init__"),
    ("URL parsed (httpx urlparse)", "httpx/_urlparse", "urlparse"),
    ("SSL contexts (create_ssl_context)", "httpx/_config", "create_ssl_context"),
    ("CA bundles loaded (load_verify_locations)", "", "load_verify_locations"),
    ("hook calls (pluggy _hookexec)", "pluggy", "_hookexec"),
)


def _replay(sandbox_pages: dict[str, bytes]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        key = request.url.path + "?page=" + request.url.params.get("page", "")
        return httpx.Response(200, content=sandbox_pages[key], headers={"content-type": "application/json"})

    return httpx.MockTransport(answer)


def _captured(invoices: int) -> tuple[dict[str, bytes], dict[str, Any], str]:
    sandbox = create_sandbox(PROVIDER)
    first = seed_invoices(sandbox, invoices)
    pages: dict[str, bytes] = {}
    with httpx.Client(base_url=sandbox.base_url, transport=sandbox.transport()) as http:
        params = sandbox.credentials()
        pages[f"/api/v2/invoices/{first}.json?page="] = http.get(
            f"/api/v2/invoices/{first}.json", params=params
        ).content
        page = 1
        while True:
            body = http.get("/api/v2/invoices.json", params={**params, "page": page, "per_page": 100}).content
            pages[f"/api/v2/invoices.json?page={page}"] = body
            if body == b"[]":
                break
            page += 1
    return pages, sandbox.credentials(), first


def _report(profile: cProfile.Profile, operations: int, top: int) -> None:
    stats = pstats.Stats(profile)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    # The work function's cumulative time: own times double-count under generators and C calls.
    total = max(entry[3] for entry in raw.values())
    print(f"total {total * 1000:.1f} ms for {operations} operations: {total / operations * 1e6:.0f} us each\n")

    def name(key: tuple[str, int, str]) -> str:
        path, line, func = key
        short = path.split("site-packages/")[-1].split("/wt/perf/")[-1]
        return f"{short}:{line}({func})"

    for title, index in (("own time", 2), ("cumulative", 3)):
        print(f"top {top} by {title}:")
        for key, entry in sorted(raw.items(), key=lambda item: item[1][index], reverse=True)[:top]:
            print(f"  {entry[index] / total:6.1%}  {entry[1] / operations:8.1f} calls/op  {name(key)}")
        print()
    print("suspects (calls per operation, cumulative share):")
    for label, fragment, func in SUSPECTS:
        hits = [(k, v) for k, v in raw.items() if (k[2] == func or f"{func}'" in k[2]) and fragment in k[0]]
        calls = sum(v[1] for _, v in hits)
        cumulative = max((v[3] for _, v in hits), default=0.0)
        print(f"  {calls / operations:8.1f}  {cumulative / total:6.1%}  {label}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile")
    parser.add_argument("what", choices=("get", "list", "connect", "validation"))
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    calls: int = args.calls
    profile = cProfile.Profile()
    work: Callable[[], int]
    if args.what == "validation":
        pages, _, _ = _captured(100)
        report(pages["/api/v2/invoices.json?page=1"], lambda data: invoice_from_json(data, Invoice))
        return 0
    if args.what == "connect":

        def work() -> int:
            for _ in range(calls):
                invoicekit.connect(PROVIDER, token="profile").close()  # noqa: S106 (no request is sent)
            return calls

    else:
        pages, credentials, first = _captured(100 * args.pages if args.what == "list" else 1)
        books = invoicekit.connect(PROVIDER, transport=_replay(pages), **credentials)
        books.invoices.get(first)

        if args.what == "get":

            def work() -> int:
                for _ in range(calls):
                    books.invoices.get(first)
                return calls

        else:

            def work() -> int:
                return sum(1 for _ in books.invoices.list())

    profile.enable()
    operations = work()
    profile.disable()
    print(f"{args.what}: {operations} operations (python {sys.version.split()[0]})")
    _report(profile, operations, args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
