"""Celery worker processes for the scale-out tests: started, killed (SIGKILL) and stopped by the test."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import redis

REPO = Path(__file__).resolve().parents[2]


class Workers:
    """``count`` workers of tests.scale.celery_app, one process each (solo pool: one task at a time)."""

    def __init__(self, env: Mapping[str, str], count: int, logs: Path) -> None:
        self.env = dict(env)
        self.logs = logs
        self.processes: list[subprocess.Popen[bytes]] = []
        for index in range(count):
            self.start(f"w{index}")

    def start(self, name: str) -> None:
        log = (self.logs / f"{name}.log").open("ab")
        command = [
            sys.executable, "-m", "celery", "-A", "tests.scale.celery_app", "worker",
            "--pool=solo", "-n", f"{name}@scale", "--without-gossip", "--without-mingle", "--without-heartbeat",
            "--loglevel=INFO",
        ]  # fmt: skip
        process = subprocess.Popen(command, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        log.close()
        self.processes.append(process)

    def kill(self, pid: int) -> None:
        """SIGKILL one worker: no clean-up of any kind, as when its machine dies."""
        assert pid in {p.pid for p in self.processes}, f"{pid} is not one of our workers"
        os.kill(pid, signal.SIGKILL)

    def alive(self) -> list[int]:
        return [p.pid for p in self.processes if p.poll() is None]

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def log_text(self) -> str:
        return "\n".join(path.read_text(errors="replace") for path in sorted(self.logs.glob("*.log")))


@contextlib.contextmanager
def workers(env: Mapping[str, str], count: int, logs: Path) -> Iterator[Workers]:
    group = Workers(env, count, logs)
    try:
        yield group
    finally:
        group.stop()


def pid_holding(client: redis.Redis, pattern: str, timeout: float) -> tuple[str, int]:
    """Wait until some task holds a lock matching ``pattern``; its key and the pid of its worker.

    The tasks' lock token starts ``host:pid:``, which is how a test finds a worker in the middle of a job.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for key in client.scan_iter(match=pattern):
            token = client.get(key)
            if token is not None:
                return key.decode(), int(token.decode().split(":")[1])
        time.sleep(0.05)
    raise TimeoutError(f"no task held a lock {pattern!r} within {timeout} s")


def everything_in(client: redis.Redis) -> str:
    """Every key and value of one Redis database as text: messages, results, locks, markers."""
    parts: list[str] = []
    for key in client.scan_iter():
        kind = client.type(key).decode()
        values: list[bytes] = []
        if kind == "string":
            values = [client.get(key) or b""]
        elif kind == "hash":
            values = list(client.hvals(key))
        elif kind == "list":
            values = list(client.lrange(key, 0, -1))
        elif kind == "set":
            values = list(client.smembers(key))
        elif kind == "zset":
            values = list(client.zrange(key, 0, -1))
        parts.append(key.decode(errors="replace"))
        parts.extend(value.decode(errors="replace") for value in values)
    return "\n".join(parts)


def worker_env(
    redis_url: str,
    first_db: int,
    accounts: Mapping[str, Mapping[str, Mapping[str, str]]],
    limits: Mapping[str, int],
    directory: Path,
    *,
    journal: str | None = None,
) -> dict[str, str]:
    """The environment of tests.scale.celery_app: broker, results and invoicekit's keys in three emptied Redis
    databases from ``first_db``, the accounts' credentials (provider -> account -> keywords) in a file only
    the workers read, a visibility timeout of 4 s and locks of 3 s, so a killed worker's task returns fast."""
    for db in range(first_db, first_db + 3):
        redis.Redis.from_url(f"{redis_url}/{db}").flushdb()
    accounts_file = directory / "accounts.json"
    accounts_file.write_text(json.dumps(accounts))
    accounts_file.chmod(0o600)
    env = {
        "INVOICEKIT_TEST_BROKER": f"{redis_url}/{first_db}",
        "INVOICEKIT_TEST_BACKEND": f"{redis_url}/{first_db + 1}",
        "INVOICEKIT_TEST_REDIS": f"{redis_url}/{first_db + 2}",
        "INVOICEKIT_TEST_ACCOUNTS": str(accounts_file),
        "INVOICEKIT_TEST_LIMITS": json.dumps(dict(limits)),
        "INVOICEKIT_TEST_VISIBILITY": "4",
        "INVOICEKIT_TEST_LOCK": "3",
    }
    if journal is not None:
        env["INVOICEKIT_TEST_JOURNAL"] = journal
    return env
