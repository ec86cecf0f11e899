"""Fixtures of the scale-out tests: one private redis-server and one PostgreSQL cluster per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.scale._services import Postgres, Redis, postgres_missing, postgres_server, redis_missing, redis_server


@pytest.fixture(scope="session")
def redis_service() -> Iterator[Redis]:
    reason = redis_missing()
    if reason:
        pytest.skip(reason)
    with redis_server() as server:
        yield server


@pytest.fixture(scope="session")
def postgres_service() -> Iterator[Postgres]:
    reason = postgres_missing()
    if reason:
        pytest.skip(reason)
    with postgres_server() as server:
        yield server
