"""One load worker of tests/scale/test_ratelimit.py, run as its own OS process.

``python -m tests.scale._load_worker BASE_URL START_AT SECONDS``; the token comes from the
environment (INVOICEKIT_CASHACA_TOKEN), the rate limit's Redis URL and limit from INVOICEKIT_TEST_REDIS and
INVOICEKIT_TEST_LIMIT. Sends requests on the shared account from START_AT (a time.time()) for SECONDS, as fast
as the limit lets it, and prints how many it sent.
"""

from __future__ import annotations

import os
import sys
import time

import invoicekit
from invoicekit.contrib.ratelimit import AccountRateLimit, RateLimitedTransport, account_key


def main(argv: list[str]) -> None:
    base_url, start_at, seconds = argv[0], float(argv[1]), float(argv[2])
    token = os.environ["INVOICEKIT_CASHACA_TOKEN"]
    limit = AccountRateLimit(os.environ["INVOICEKIT_TEST_REDIS"], limit=int(os.environ["INVOICEKIT_TEST_LIMIT"]))
    transport = RateLimitedTransport(limit, account_key("cashaca", token=token, base_url=base_url))
    sent = 0
    with invoicekit.connect(
        "cashaca", token=token, base_url=base_url, transport=transport, load_entry_point_hooks=False
    ) as books:
        time.sleep(max(0.0, start_at - time.time()))
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            list(books.clients.list())
            sent += 1
    print(sent)


if __name__ == "__main__":
    main(sys.argv[1:])
