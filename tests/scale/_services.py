"""A private redis-server and PostgreSQL cluster on loopback, started by the tests (session-scoped).

Both come from Debian's packages (`.ci/run` installs them when missing). Where a binary is not installed the
fixture skips with the reason; nothing here talks to a server the tests did not start.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Postgres", "Redis", "free_port", "postgres_server", "redis_server"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, process: subprocess.Popen[bytes], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with status {process.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {timeout} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass(frozen=True)
class Redis:
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def redis_missing() -> str | None:
    if shutil.which("redis-server") is None:
        return "redis-server is not installed (Debian package redis-server; .ci/run installs it)"
    return None


@contextlib.contextmanager
def redis_server() -> Iterator[Redis]:
    """A redis-server on a free loopback port, without persistence, for as long as the block runs."""
    port = free_port()
    binary = shutil.which("redis-server")
    assert binary is not None
    process = subprocess.Popen(  # noqa: S603 - the installed redis-server, fixed arguments
        [
            binary,
            "--bind", "127.0.0.1",
            "--port", str(port),
            "--save", "",
            "--appendonly", "no",
            "--protected-mode", "yes",
            "--loglevel", "warning",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_for_port(port, process, "redis-server")
        yield Redis(port)
    finally:
        _stop(process)


@dataclass(frozen=True)
class Postgres:
    port: int
    user: str = "invoicekit"

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"


def _postgres_bin() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    # Debian keeps the server binaries out of PATH, one directory per major version: take the newest.
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(candidates[-1]).parent if candidates else None


def postgres_missing() -> str | None:
    if _postgres_bin() is None:
        return "PostgreSQL is not installed (Debian package postgresql; .ci/run installs it)"
    if os.geteuid() == 0 and _unprivileged_user() is None:
        return "PostgreSQL refuses to run as root and there is no 'postgres' or 'nobody' user to run it as"
    return None


def _unprivileged_user() -> pwd.struct_passwd | None:
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    return None


@contextlib.contextmanager
def postgres_server() -> Iterator[Postgres]:
    """A throw-away PostgreSQL cluster (initdb in a temporary directory, trust auth, loopback only)."""
    bindir = _postgres_bin()
    assert bindir is not None
    # PostgreSQL will not run as root; as root, the cluster belongs to an unprivileged user instead. The
    # directory is made directly under the temporary root, as pytest's own directories are private to root.
    account = _unprivileged_user() if os.geteuid() == 0 else None
    base = Path(tempfile.mkdtemp(prefix="invoicekit-pg-"))
    as_user: dict[str, int] = {}
    if account is not None:
        os.chown(base, account.pw_uid, account.pw_gid)
        as_user = {"user": account.pw_uid, "group": account.pw_gid}
    data = base / "data"
    port = free_port()
    process: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run(  # noqa: S603 - the installed initdb, fixed arguments
            [bindir / "initdb", "-D", data, "-A", "trust", "-U", Postgres.user, "-E", "UTF8", "--no-sync"],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=base,
            **as_user,  # type: ignore[arg-type]
        )
        process = subprocess.Popen(  # noqa: S603 - the installed postgres, fixed arguments
            [
                bindir / "postgres", "-D", data, "-k", base, "-p", str(port),
                "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
                "-c", "full_page_writes=off", "-c", "max_connections=200",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=base,
            **as_user,  # type: ignore[arg-type]
        )  # fmt: skip
        _wait_for_port(port, process, "postgres")
        yield Postgres(port)
    finally:
        if process is not None:
            _stop(process)
        shutil.rmtree(base, ignore_errors=True)
