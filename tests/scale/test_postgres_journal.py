"""PostgresJournal passes the same backend contract as SQLiteJournal, on a real PostgreSQL server."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from invoicekit.contrib.postgres import PostgresJournal
from invoicekit.migrate import Journal
from invoicekit.migrate.testing import JournalContract
from tests.scale._services import Postgres


class TestPostgresJournal(JournalContract):
    @pytest.fixture
    def open_journal(self, postgres_service: Postgres) -> Callable[..., Journal]:
        table = f"journal_{uuid.uuid4().hex[:12]}"  # a new, empty journal for each test

        def open_one(**options: Any) -> Journal:
            return PostgresJournal(postgres_service.dsn(), table=table, **options)

        return open_one


def test_a_table_name_that_is_not_a_plain_identifier_is_refused(postgres_service: Postgres) -> None:
    with pytest.raises(ValueError, match="table"):
        PostgresJournal(postgres_service.dsn(), table="entries; DROP TABLE x")


def test_the_repr_shows_no_password(postgres_service: Postgres) -> None:
    journal = PostgresJournal(f"postgresql://invoicekit:s3cret@127.0.0.1:{postgres_service.port}/postgres")
    assert "s3cret" not in repr(journal)
    journal.close()
