"""A sandbox served over loopback in a child process, so its CPU is not the benchmark's (a real provider is
another machine; on one interpreter the server and the client would also share the GIL).

    python -m benchmarks._server --invoices 1000 [--latency 0.05]
    python -m benchmarks._server --replay-pages 200
    python -m benchmarks._server --canned-creates --latency 0.05

prints one JSON line (``url``, ``credentials``, ``invoice_id``) once it serves, and serves until its stdin
closes. ``--replay-pages N`` serves N pages of 100 invoices for ``GET /api/v2/invoices.json?page=K``: the
first page the real sandbox renders, copied with new ids and numbers per page, behind the same
:class:`~invoicekit.sandbox.Sandbox` wrapper and uvicorn server. The listing benchmark uses it to measure the
client side alone: the real sandbox reads its whole store for every page (see docs/performance.md).
``--canned-creates`` answers every ``POST /api/v2/invoices.json`` with 201 and the invoice the real sandbox
rendered for one create, so the bulk benchmark can show the client side alone, without the sandbox's
create cost (which grows with its store); it is served by :func:`_stub_server`, not ``running()``.
:class:`ServerProcess` runs one from the parent.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx
import uvicorn

from invoicekit.sandbox import FaultRule, Sandbox, create_sandbox, running

__all__ = ["ServerProcess"]

ROOT = Path(__file__).resolve().parent.parent
_JSON = [(b"content-type", b"application/json")]


def _page_bytes(template: list[dict[str, Any]], page: int) -> bytes:
    items = []
    for j, item in enumerate(template):
        n = (page - 1) * len(template) + j + 1
        items.append({**item, "id": n, "serial_number": f"2026_{n:05d}", "sale_id": n})
    # The separators starlette's JSONResponse uses, so the bytes look like the sandbox's own.
    return json.dumps(items, ensure_ascii=False, separators=(",", ":")).encode()


def _replay(pages: int) -> tuple[Sandbox, dict[str, str]]:
    from benchmarks._data import seed_invoices

    real = create_sandbox("cashaca")
    seed_invoices(real, 100)
    with httpx.Client(base_url=real.base_url, transport=real.transport()) as http:
        first = http.get("/api/v2/invoices.json", params={**real.credentials(), "page": 1, "per_page": 100}).json()
    bodies = {page: _page_bytes(first, page) for page in range(1, pages + 1)}
    empty = b"[]"

    def app_factory(box: Sandbox) -> Any:
        async def app(scope: Any, receive: Any, send: Any) -> None:
            query = dict(part.split("=", 1) for part in scope["query_string"].decode().split("&") if "=" in part)
            body = bodies.get(int(query.get("page", "1")), empty)
            headers = [*_JSON, (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        return app

    return Sandbox("replay", app_factory), real.credentials()


def _canned() -> tuple[Sandbox, dict[str, str]]:
    from benchmarks._data import seed_invoices

    real = create_sandbox("cashaca")
    first = seed_invoices(real, 1)
    with httpx.Client(base_url=real.base_url, transport=real.transport()) as http:
        # A create answers with the invoice as a GET renders it (the same rendering in the sandbox).
        body = http.get(f"/api/v2/invoices/{first}.json", params=real.credentials()).content

    def app_factory(box: Sandbox) -> Any:
        async def app(scope: Any, receive: Any, send: Any) -> None:
            # The request body is left unread: every create gets the same answer (uvicorn discards it).
            found = scope["method"] == "POST" and scope["path"] == "/api/v2/invoices.json"
            answer = body if found else b'{"error":"not found"}'
            headers = [*_JSON, (b"content-length", str(len(answer)).encode())]
            await send({"type": "http.response.start", "status": 201 if found else 404, "headers": headers})
            await send({"type": "http.response.body", "body": answer})

        return app

    return Sandbox("canned", app_factory), real.credentials()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=1)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--replay-pages", type=int, default=0)
    parser.add_argument("--canned-creates", action="store_true")
    args = parser.parse_args(argv)
    if args.replay_pages:
        sandbox, credentials = _replay(args.replay_pages)
        invoice_id = "1"
    elif args.canned_creates:
        sandbox, credentials = _canned()
        invoice_id = ""
    else:
        from benchmarks._data import seed_invoices

        sandbox = create_sandbox("cashaca")
        invoice_id = seed_invoices(sandbox, args.invoices) if args.invoices else ""
        credentials = sandbox.credentials()
    if args.latency:
        sandbox.faults.add(FaultRule.slow(args.latency))
    with _stub_server(sandbox) if args.canned_creates else running(sandbox) as url:
        print(json.dumps({"url": url, "credentials": credentials, "invoice_id": invoice_id}), flush=True)
        sys.stdin.read()
    return 0


@contextlib.contextmanager
def _stub_server(sandbox: Sandbox) -> Iterator[str]:
    """uvicorn on a socket made with ``IPPROTO_TCP``, so asyncio sets TCP_NODELAY on its connections.

    Only for the canned-create stub, which must cost the client nothing: ``running()`` today serves every
    small kept-alive answer ~40 ms late (its socket's ``proto`` is 0, see docs/performance.md).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    config = uvicorn.Config(
        sandbox.app, interface="asgi3", lifespan="off", access_log=False, log_level="warning", log_config=None
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


class ServerProcess:
    """``with ServerProcess(invoices=1000) as server: server.url, server.credentials, server.invoice_id``."""

    def __init__(
        self, *, invoices: int = 1, latency: float = 0.0, replay_pages: int = 0, canned_creates: bool = False
    ) -> None:
        self._argv = [
            sys.executable,
            "-m",
            "benchmarks._server",
            f"--invoices={invoices}",
            f"--latency={latency}",
            f"--replay-pages={replay_pages}",
            *(["--canned-creates"] if canned_creates else []),
        ]
        self._process: subprocess.Popen[str] | None = None
        self.url = ""
        self.credentials: dict[str, Any] = {}
        self.invoice_id = ""

    def __enter__(self) -> Self:
        self._process = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
            self._argv, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            self._process.wait()
            raise RuntimeError(f"the benchmark server did not start ({' '.join(self._argv[2:])})")
        info = json.loads(line)
        self.url, self.credentials, self.invoice_id = info["url"], info["credentials"], info["invoice_id"]
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._process is not None
        assert self._process.stdin is not None
        self._process.stdin.close()
        try:
            self._process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


if __name__ == "__main__":
    raise SystemExit(main())
