"""Serving a sandbox over real HTTP with uvicorn: in the foreground (CLI) or a background thread (tests)."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator

import uvicorn

from invoicekit.sandbox._core import Sandbox

__all__ = ["running", "serve"]

_DROPPED = "ASGI callable returned without completing response."


class _DropFaultNoise(logging.Filter):
    """Hide uvicorn's complaint about the responses the "drop after commit" fault abandons on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != _DROPPED


def _quiet_drop_faults() -> None:
    error_logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _DropFaultNoise) for f in error_logger.filters):
        error_logger.addFilter(_DropFaultNoise())


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit TCP_NODELAY from the listening socket (Linux, macOS). Without it the
    # answer's body, written after its headers, waits for the client's delayed ACK: about 40 ms for every
    # request after the first on a kept-alive connection.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    # Listening now (uvicorn would only do it once its loop runs) lets clients connect as soon as the URL is
    # printed: early connections wait in the backlog instead of being refused.
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _url(host: str, sock: socket.socket) -> str:
    port = sock.getsockname()[1]
    # A wildcard bind is reachable on loopback; print an address a client can actually use.
    shown = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)  # noqa: S104
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def _config(sandbox: Sandbox, host: str, port: int, *, log_config: bool) -> uvicorn.Config:
    config = uvicorn.Config(
        sandbox.app,
        host=host,
        port=port,
        interface="asgi3",  # uvicorn cannot tell from a bound method
        lifespan="off",
        # uvicorn's access log prints the query string, where Cashaca carries its token; the sandbox
        # logs method, path and status itself (logger "invoicekit.sandbox").
        access_log=False,
        log_level="info" if log_config else "warning",
        log_config=uvicorn.config.LOGGING_CONFIG if log_config else None,
        timeout_graceful_shutdown=2,
    )
    _quiet_drop_faults()
    return config


def serve(
    sandbox: Sandbox,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    ready: Callable[[str], None] | None = None,
) -> None:
    """Serve ``sandbox`` on ``host:port`` until Ctrl-C (blocking); ``ready(base_url)`` runs once bound."""
    sock = _bind(host, port)
    try:
        server = uvicorn.Server(_config(sandbox, host, port, log_config=True))
        if ready is not None:
            ready(_url(host, sock) + sandbox.api_root)
        # uvicorn turns the first Ctrl-C into a graceful shutdown, then re-raises it once done.
        with contextlib.suppress(KeyboardInterrupt):
            server.run(sockets=[sock])
    finally:
        sock.close()


@contextlib.contextmanager
def running(sandbox: Sandbox, host: str = "127.0.0.1", port: int = 0, *, timeout: float = 10.0) -> Iterator[str]:
    """Run ``sandbox`` under uvicorn in a background thread; yield its base URL (a free port by default).

    Like :attr:`Sandbox.base_url`, the URL ends in the sandbox's ``api_root`` (none for Cashaca).

    Shuts the server down and joins the thread on exit::

        with running(sandbox) as base_url:   # "http://127.0.0.1:54321"
            httpx.get(f"{base_url}/api/v2/clients.json", params=sandbox.credentials())
    """
    sock = _bind(host, port)
    server = uvicorn.Server(_config(sandbox, host, port, log_config=False))
    # uvicorn only installs signal handlers on the main thread, so Ctrl-C still reaches the test runner.
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"sandbox-{sandbox.name}", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError(f"the {sandbox.name} sandbox server failed to start")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the {sandbox.name} sandbox server did not start within {timeout}s")
            time.sleep(0.01)
        yield _url(host, sock) + sandbox.api_root
    finally:
        server.should_exit = True
        thread.join(timeout)
        sock.close()
