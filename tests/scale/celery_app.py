"""The Celery app of the scale-out tests: what a platform's worker module looks like (docs/scale-out.md).

Workers run ``celery -A tests.scale.celery_app worker``; everything comes from the environment the test
gives them. The accounts' credentials are read in the worker from a file only the test and the workers
can read, so no message carries one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from celery import Celery

from invoicekit.contrib.celery import Tasks, install
from invoicekit.contrib.postgres import PostgresJournal
from invoicekit.migrate import Journal


def make_app(env: Mapping[str, str]) -> tuple[Celery, Tasks]:
    app = Celery("invoicekit-scale-tests", broker=env["INVOICEKIT_TEST_BROKER"], backend=env["INVOICEKIT_TEST_BACKEND"])
    app.conf.update(
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        result_expires=3600,
    )

    def credentials(provider: str, account: str) -> Mapping[str, Any]:
        with open(env["INVOICEKIT_TEST_ACCOUNTS"], encoding="utf-8") as accounts:
            found: Mapping[str, Any] = json.load(accounts)[provider][account]
        return found

    def journal() -> Journal:
        return PostgresJournal(env["INVOICEKIT_TEST_JOURNAL"])

    tasks = install(
        app,
        credentials=credentials,
        redis_url=env["INVOICEKIT_TEST_REDIS"],
        rate_limits=json.loads(env.get("INVOICEKIT_TEST_LIMITS", "{}")),
        journal=journal if "INVOICEKIT_TEST_JOURNAL" in env else None,
        visibility_timeout=float(env["INVOICEKIT_TEST_VISIBILITY"]),
        lock_seconds=float(env["INVOICEKIT_TEST_LOCK"]),
    )
    return app, tasks


if "INVOICEKIT_TEST_BROKER" in os.environ:
    app, tasks = make_app(os.environ)
