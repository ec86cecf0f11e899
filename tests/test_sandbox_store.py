"""Sandbox stores under many clients: transactions across threads and processes, and queries whose cost
is the page, not the store."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from invoicekit.sandbox import MemoryStore, Sandbox, SqliteStore, StateStore


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateStore]:
    made: StateStore = MemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "state.db")
    yield made
    made.close()


def fill(store: StateStore, count: int) -> None:
    with store.transaction():  # one transaction: 20k inserts in SQLite take a fraction of a second
        for i in range(count):
            store.insert("invoices", {"number": f"2026-{i:05d}", "client_id": i % 7, "paid": i % 2 == 0})


# --- queries -----------------------------------------------------------------------------------------------


def test_page_count_and_find_agree_with_all(store: StateStore) -> None:
    fill(store, 30)
    store.delete("invoices", 3)
    everything = store.all("invoices")
    assert store.count("invoices") == 29
    assert store.page("invoices", 0, 10) == everything[:10]
    assert store.page("invoices", 25, 10) == everything[25:]
    assert store.page("invoices", 40, 10) == []
    assert store.page("nothing", 0, 10) == []
    assert store.last("invoices") == everything[-1]
    assert store.last("nothing") is None
    with pytest.raises(ValueError, match="must not be negative"):
        store.page("invoices", -1, 10)

    unindexed = store.find("invoices", "client_id", 2)
    store.index("invoices", "client_id")
    store.index("invoices", "number")
    assert store.find("invoices", "client_id", 2) == unindexed == [r for r in everything if r["client_id"] == 2]
    assert store.find("invoices", "client_id", 2, limit=2) == unindexed[:2]
    assert store.find("invoices", "client_id", 2, offset=1, limit=2) == unindexed[1:3]
    assert store.find("invoices", "client_id", 2, offset=3) == unindexed[3:]
    assert store.find("invoices", "missing", None, offset=28, limit=5) == everything[28:]
    assert store.find("invoices", "number", "2026-00007") == [everything[6]]  # id 8; id 3 was deleted
    assert store.find("invoices", "paid", True) == [r for r in everything if r["paid"]]
    assert store.find("invoices", "missing", None) == everything
    with pytest.raises(ValueError, match="plain identifier"):
        store.index("invoices", "a') OR 1=1 --")


def test_an_index_follows_replace_delete_and_later_inserts(store: StateStore) -> None:
    store.index("clients", "reference")
    first = store.insert("clients", {"reference": "A"})
    second = store.insert("clients", {"reference": "B"})
    store.replace("clients", first, {"reference": "C"})
    store.delete("clients", second)
    third = store.insert("clients", {"reference": "A"})
    assert store.find("clients", "reference", "A") == [{"id": third, "reference": "A"}]
    assert store.find("clients", "reference", "B") == []
    assert store.find("clients", "reference", "C") == [{"id": first, "reference": "C"}]


def test_an_index_files_a_record_as_its_text_reads_back(store: StateStore) -> None:
    # The memory store files a record by the values it was given where JSON gives them back unchanged, and
    # by its decoded text otherwise (a tuple is stored as a list): both must agree with SQLite's index.
    store.index("notes", "tag")
    one = store.insert("notes", {"tag": 1.0})
    two = store.insert("notes", {"tag": True})
    assert store.find("notes", "tag", 1) == [{"id": one, "tag": 1.0}, {"id": two, "tag": True}]  # as in SQLite
    store.replace("notes", two, {"tag": ("a",)})
    assert store.find("notes", "tag", 1) == [{"id": one, "tag": 1.0}]
    assert store.get("notes", two) == {"id": two, "tag": ["a"]}
    store.delete("notes", one)
    assert store.find("notes", "tag", 1) == []


@pytest.mark.parametrize("size", [1_000, 20_000])
def test_a_list_page_and_a_lookup_read_the_page_whatever_the_store_holds(store: StateStore, size: int) -> None:
    fill(store, size)
    store.index("invoices", "number")
    before = store.records_read
    store.insert("invoices", {"number": "new", "client_id": 0, "paid": False})
    first = store.page("invoices", 0, 50)
    middle = store.page("invoices", size // 2, 50)
    found = store.find("invoices", "number", "2026-00042")
    last = store.last("invoices")
    total = store.count("invoices")
    assert (len(first), len(middle), len(found), total) == (50, 50, 1, size + 1)
    assert last is not None
    assert last["number"] == "new"
    # Records decoded: the two pages, the one match and the last; never the store.
    assert store.records_read - before == 102


def test_sqlite_finds_through_the_expression_index_not_a_scan(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "plan.db")
    try:
        store.index("invoices", "number")
        plan = store.query_plan(
            "SELECT data FROM records WHERE collection = ? AND json_extract(data, '$.number') = ? ORDER BY id",
            ("invoices", "2026-00001"),
        )
        assert "USING INDEX records_by_number" in plan, plan
        page_plan = store.query_plan(
            "SELECT data FROM records WHERE collection = ? ORDER BY id LIMIT ? OFFSET ?", ("invoices", 50, 0)
        )
        assert "SCAN records" not in page_plan, page_plan
    finally:
        store.close()


# --- transactions ---------------------------------------------------------------------------------------


def test_read_modify_write_in_a_transaction_loses_nothing_across_threads(store: StateStore) -> None:
    total = store.insert("totals", {"value": 0})

    def work() -> None:
        for _ in range(50):
            with store.transaction():
                record = store.get("totals", total)
                assert record is not None
                store.replace("totals", total, {"value": record["value"] + 1})

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.get("totals", total) == {"id": total, "value": 300}


def test_a_transaction_that_raises_leaves_nothing_behind(store: StateStore) -> None:
    kept = store.insert("notes", {"text": "kept"})
    store.index("notes", "text")

    def refused_change() -> None:
        with store.transaction():
            store.insert("notes", {"text": "gone"})
            store.replace("notes", kept, {"text": "changed"})
            with store.transaction():  # nested: joins the outer one
                store.next_value("serial")
            raise RuntimeError("refused")

    with pytest.raises(RuntimeError, match="refused"):
        refused_change()
    assert store.all("notes") == [{"id": kept, "text": "kept"}]
    assert store.find("notes", "text", "gone") == []
    assert store.find("notes", "text", "kept") == [{"id": kept, "text": "kept"}]
    assert store.next_value("serial") == 1
    assert store.insert("notes", {"text": "next"}) == kept + 1


def test_sandbox_lock_is_the_store_transaction(store: StateStore) -> None:
    box = Sandbox("locked", lambda sandbox: _no_app, store=store)

    def handler() -> None:
        with box.lock:
            store.insert("notes", {"text": "in the lock"})
            raise KeyError("a handler's error")

    with pytest.raises(KeyError):
        handler()
    assert store.all("notes") == []


async def _no_app(scope: object, receive: object, send: object) -> None:
    raise NotImplementedError


WORKER = textwrap.dedent(
    """
    import sys
    from invoicekit.sandbox import SqliteStore

    store = SqliteStore(sys.argv[1])
    for i in range(int(sys.argv[2])):
        with store.transaction():
            # What a sandbox does for a create: the next serial number, then the record, then a total.
            serial = store.next_value("invoice_serial")
            store.insert("invoices", {"serial": serial, "worker": sys.argv[3]})
            total = store.get("totals", 1)
            store.replace("totals", 1, {"value": total["value"] + 1})
    store.close()
    """
)


def test_several_processes_on_one_sqlite_file_keep_numbers_unique_and_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    setup = SqliteStore(path)
    setup.insert("totals", {"value": 0})
    setup.close()
    processes, each = 4, 150
    workers = [
        subprocess.Popen([sys.executable, "-c", WORKER, str(path), str(each), str(n)])  # noqa: S603 - our interpreter
        for n in range(processes)
    ]
    assert [worker.wait(timeout=120) for worker in workers] == [0] * processes

    store = SqliteStore(path)
    try:
        records = store.all("invoices")
        serials = [r["serial"] for r in records]
        assert len(records) == processes * each  # no lost insert
        assert sorted(serials) == list(range(1, processes * each + 1))  # unique, continuous
        assert sorted(r["id"] for r in records) == list(range(1, processes * each + 1))
        assert {r["worker"] for r in records} == {str(n) for n in range(processes)}
        assert store.get("totals", 1) == {"id": 1, "value": processes * each}  # no lost update
    finally:
        store.close()
