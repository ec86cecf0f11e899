"""Many sandboxes served over real loopback HTTP by one uvicorn server: one port each, one event loop.

Twenty accounts are twenty sandboxes (each has its own book); a server thread each would cost twenty event
loops on two cores, so one server listens on every socket and hands each request to the sandbox of the port
it came in on.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator, Sequence

import uvicorn
from starlette.types import Receive, Scope, Send

from invoicekit.sandbox import Sandbox
from invoicekit.sandbox._server import _bind


@contextlib.contextmanager
def serve_all(sandboxes: Sequence[Sandbox], timeout: float = 10.0) -> Iterator[list[str]]:
    """Serve every sandbox on its own free loopback port; yield their base URLs, in order."""
    sockets = [_bind("127.0.0.1", 0) for _ in sandboxes]
    by_port = {sock.getsockname()[1]: box for sock, box in zip(sockets, sandboxes, strict=True)}

    async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            return
        await by_port[scope["server"][1]].app(scope, receive, send)

    config = uvicorn.Config(
        dispatch, lifespan="off", access_log=False, log_level="warning", log_config=None, timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": sockets}, name="sandboxes", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the sandbox server did not start")
            time.sleep(0.01)
        yield [
            f"http://127.0.0.1:{sock.getsockname()[1]}{box.api_root}"
            for sock, box in zip(sockets, sandboxes, strict=True)
        ]
    finally:
        server.should_exit = True
        thread.join(timeout)
        for sock in sockets:
            sock.close()
