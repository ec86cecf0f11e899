"""The shared sandbox machinery (invoicekit.sandbox), exercised with a throw-away notes API."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import anyio
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from invoicekit.errors import ConfigurationError, UnknownProvider
from invoicekit.sandbox import (
    FaultKind,
    FaultRule,
    Faults,
    LoggedRequest,
    MemoryStore,
    RequestLog,
    Sandbox,
    SqliteStore,
    StateStore,
    create_sandbox,
    running,
)
from invoicekit.testing import SandboxFactory

# --- a tiny provider -------------------------------------------------------------------------------------

TESTS = Path(__file__).resolve().parent


def notes_app(sandbox: Sandbox) -> Starlette:
    def unauthorized(request: Request) -> Response | None:
        if not sandbox.accepts(request.query_params.get("token")):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        return None

    async def notes(request: Request) -> Response:
        if (denied := unauthorized(request)) is not None:
            return denied
        if request.method == "POST":
            data = await request.json()
            note_id = sandbox.store.insert("notes", {"text": data["text"]})
            return JSONResponse(sandbox.store.get("notes", note_id), status_code=201)
        return JSONResponse(sandbox.store.all("notes"))

    async def note(request: Request) -> Response:
        record = sandbox.store.get("notes", request.path_params["id"])
        if record is None:
            return JSONResponse({"error": "not found"}, status_code=404)
        return JSONResponse(record)

    async def broken(request: Request) -> Response:
        raise RuntimeError("a bug in the fake")

    async def bump(request: Request) -> Response:
        # A read-modify-write, as a handler numbering documents does; sandbox.lock makes it atomic.
        with sandbox.lock:
            counter = sandbox.store.get("counter", 1)
            if counter is None:
                sandbox.store.insert("counter", {"value": 1})
                value = 1
            else:
                value = int(counter["value"]) + 1
                sandbox.store.replace("counter", 1, {"value": value})
            sandbox.store.insert("numbers", {"value": value})
        return JSONResponse({"value": value})

    return Starlette(
        routes=[
            Route("/api/notes", notes, methods=["GET", "POST"]),
            Route("/api/notes/{id:int}", note),
            Route("/api/broken", broken),
            Route("/api/bump", bump, methods=["POST"]),
        ]
    )


def make_tiny(*, store: StateStore | None = None, seed: int | None = None) -> Sandbox:
    """The tiny provider's ``create_sandbox``."""
    return Sandbox(
        "tiny",
        notes_app,
        store=store,
        seed=seed,
        api_root="/api",
        curl_template='curl -s "{base_url}/notes?token={token}"',
    )


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with make_tiny(seed=1234) as box:
        yield box


def client_for(sandbox: Sandbox, **kwargs: object) -> httpx.Client:
    return httpx.Client(base_url=sandbox.base_url, transport=sandbox.transport(), **kwargs)  # type: ignore[arg-type]


def post_note(http: httpx.Client, sandbox: Sandbox, text: str) -> httpx.Response:
    return http.post("/notes", params=sandbox.credentials(), json={"text": text})


@pytest.fixture(scope="module")
def tiny_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Installs the tiny sandbox as provider "tiny" through a real entry point (a *.dist-info on sys.path)."""
    site = tmp_path_factory.mktemp("tiny-site")
    # The provider module only re-exports this file's factory, found through sys.path like any package.
    (site / "tiny_sandbox_provider.py").write_text(
        textwrap.dedent(
            """
            from invoicekit.plugin import ProviderPlugin
            from test_sandbox_machinery import make_tiny

            def _no_adapter(**credentials):
                raise NotImplementedError

            plugin = ProviderPlugin(name="tiny", title="Tiny", create_adapter=_no_adapter, create_sandbox=make_tiny)
            """
        )
    )
    dist = site / "invoicekit_tiny-0.0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: invoicekit-tiny\nVersion: 0.0.1\n")
    (dist / "entry_points.txt").write_text("[invoicekit.providers]\ntiny = tiny_sandbox_provider:plugin\n")
    added = [str(site), str(TESTS)]
    sys.path[:0] = added
    try:
        yield os.pathsep.join(added)
    finally:
        for entry in added:
            sys.path.remove(entry)
        sys.modules.pop("tiny_sandbox_provider", None)


# --- stores ----------------------------------------------------------------------------------------------


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateStore]:
    made: StateStore = MemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "state.db")
    yield made
    made.close()


def test_store_records_get_ids_and_come_back_as_copies(store: StateStore) -> None:
    assert isinstance(store, StateStore)
    first = store.insert("clients", {"name": "A", "amount": "1.50"})
    second = store.insert("clients", {"name": "B"})
    other = store.insert("invoices", {"n": 1})
    assert (first, second, other) == (1, 2, 1)  # ids count per collection

    record = store.get("clients", first)
    assert record == {"id": 1, "name": "A", "amount": "1.50"}
    assert record is not None
    record["name"] = "mutated"
    assert store.get("clients", first) == {"id": 1, "name": "A", "amount": "1.50"}

    store.replace("clients", second, {"name": "B2", "id": 999})  # the id is the store's, not the record's
    assert store.all("clients") == [{"id": 1, "name": "A", "amount": "1.50"}, {"id": 2, "name": "B2"}]
    with pytest.raises(KeyError):
        store.replace("clients", 42, {"name": "ghost"})

    assert store.delete("clients", first) is True
    assert store.delete("clients", first) is False
    assert store.get("clients", first) is None
    assert store.insert("clients", {"name": "C"}) == 3  # ids are never reused
    assert [r["id"] for r in store.all("clients")] == [2, 3]
    assert store.all("nothing") == []


def test_store_counters_are_independent(store: StateStore) -> None:
    assert [store.next_value("invoice:2025") for _ in range(3)] == [1, 2, 3]
    assert store.next_value("invoice:2026") == 1
    # Counters do not disturb collection ids.
    assert store.insert("invoice:2025", {}) == 1


def test_store_refuses_what_is_not_plain_json(store: StateStore) -> None:
    with pytest.raises(TypeError, match="plain JSON"):
        store.insert("invoices", {"amount": Decimal("1.00")})


def test_store_is_thread_safe(store: StateStore) -> None:
    def work() -> None:
        for i in range(50):
            store.insert("notes", {"i": i})
            store.next_value("serial")

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r["id"] for r in store.all("notes")] == list(range(1, 301))
    assert store.next_value("serial") == 301


def test_sqlite_store_persists_across_reopen(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.db"
    first = SqliteStore(path)
    first.insert("notes", {"text": "kept"})
    first.next_value("serial")
    first.close()
    with pytest.raises(RuntimeError, match="closed"):
        first.all("notes")

    again = SqliteStore(path)
    assert again.all("notes") == [{"id": 1, "text": "kept"}]
    assert again.next_value("serial") == 2
    assert again.insert("notes", {"text": "new"}) == 2
    again.close()


def test_sandbox_on_a_reopened_store_keeps_its_state_and_token(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "tiny.db")
    box = make_tiny(store=store)
    credentials = box.credentials()
    with client_for(box) as http:
        assert post_note(http, box, "before restart").status_code == 201
    box.close()
    store.close()

    store = SqliteStore(tmp_path / "tiny.db")
    reopened = make_tiny(store=store)
    assert reopened.credentials() == credentials
    with client_for(reopened) as http:
        notes = http.get("/notes", params=credentials).json()
    assert notes == [{"id": 1, "text": "before restart"}]
    store.close()


# --- sandbox basics --------------------------------------------------------------------------------------


def test_credentials_can_be_issued_and_revoked_and_never_show_in_repr_or_log(sandbox: Sandbox) -> None:
    first = sandbox.credentials()
    assert set(first) == {"token"}
    fresh = sandbox.issue_credentials()
    assert fresh != first
    assert sandbox.accepts(first["token"])
    assert sandbox.accepts(fresh["token"])
    assert not sandbox.accepts("sbx_wrong")
    assert not sandbox.accepts(None)

    with client_for(sandbox) as http:
        assert post_note(http, sandbox, "x").status_code == 201
        assert http.get("/notes", params={"token": "nope"}).status_code == 401
        sandbox.revoke_credentials(fresh)
        assert http.get("/notes", params=fresh).status_code == 401

    assert sandbox.base_url == "http://tiny.sandbox/api"
    shown = repr(sandbox) + repr(sandbox.request_log) + repr(sandbox.transport())
    assert first["token"] not in shown
    assert fresh["token"] not in shown
    assert "token" not in "".join(path for _, path in sandbox.request_log)
    assert sandbox.curl_example() == f'curl -s "http://tiny.sandbox/api/notes?token={first["token"]}"'


def test_request_log_entries_are_method_path_pairs(sandbox: Sandbox) -> None:
    with client_for(sandbox) as http:
        post_note(http, sandbox, "a")
        http.get("/notes", params=sandbox.credentials())
        http.get("/notes/99")
    assert sandbox.request_log == [("POST", "/api/notes"), ("GET", "/api/notes"), ("GET", "/api/notes/99")]
    assert [entry.status for entry in sandbox.request_log] == [201, 200, 404]
    assert all(entry.fault is None for entry in sandbox.request_log)
    method, path = sandbox.request_log[0]
    assert (method, path) == ("POST", "/api/notes")


# --- in-process transport --------------------------------------------------------------------------------


def test_sync_transport_runs_the_app_without_a_socket(sandbox: Sandbox) -> None:
    with client_for(sandbox) as http:
        created = post_note(http, sandbox, "héllo")
        assert created.status_code == 201
        assert created.json() == {"id": 1, "text": "héllo"}
        assert http.get("/notes/1").json()["text"] == "héllo"
        assert http.get("/notes", params=sandbox.credentials()).json() == [{"id": 1, "text": "héllo"}]


def test_sync_transport_reraises_app_bugs_or_answers_500(sandbox: Sandbox) -> None:
    with client_for(sandbox) as http, pytest.raises(RuntimeError, match="a bug in the fake"):
        http.get("/broken")
    with httpx.Client(base_url=sandbox.base_url, transport=sandbox.transport(raise_app_exceptions=False)) as http:
        assert http.get("/broken").status_code == 500


@pytest.mark.anyio
async def test_async_transport(sandbox: Sandbox) -> None:
    async with httpx.AsyncClient(base_url=sandbox.base_url, transport=sandbox.transport()) as http:
        created = await http.post("/notes", params=sandbox.credentials(), json={"text": "async"})
        assert created.status_code == 201
        listed = await http.get("/notes", params=sandbox.credentials())
        assert listed.json() == [{"id": 1, "text": "async"}]


@pytest.mark.anyio
async def test_sync_transport_does_not_deadlock_inside_a_running_loop(sandbox: Sandbox) -> None:
    # A sync client used from async code (a common test mistake) must still get its answer.
    with client_for(sandbox) as http:
        assert post_note(http, sandbox, "from a coroutine").status_code == 201
    async with httpx.AsyncClient(base_url=sandbox.base_url, transport=sandbox.transport()) as http:
        assert len((await http.get("/notes", params=sandbox.credentials())).json()) == 1


def test_sync_transport_from_many_threads(sandbox: Sandbox) -> None:
    def work() -> None:
        with client_for(sandbox) as http:
            for i in range(10):
                assert post_note(http, sandbox, str(i)).status_code == 201

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(sandbox.store.all("notes")) == 40


# --- real server -----------------------------------------------------------------------------------------


def test_running_serves_over_loopback_and_stops(sandbox: Sandbox) -> None:
    with running(sandbox) as base_url:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/api", base_url)
        with httpx.Client(base_url=base_url) as http:
            assert post_note(http, sandbox, "over tcp").status_code == 201
            assert http.get("/notes", params=sandbox.credentials()).json() == [{"id": 1, "text": "over tcp"}]
            assert http.get("/notes", params={"token": "bad"}).status_code == 401
    assert sandbox.request_log[-1] == ("GET", "/api/notes")
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base_url}/notes", timeout=1)


def test_cli_serves_until_ctrl_c(tiny_provider: str) -> None:
    env = {**os.environ, "PYTHONPATH": tiny_provider + os.pathsep + os.environ.get("PYTHONPATH", "")}
    process = subprocess.Popen(
        [sys.executable, "-m", "invoicekit.sandbox._cli", "serve", "tiny", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(3)]
        banner = "".join(lines)
        base_url = re.search(r"on (http://127\.0\.0\.1:\d+/api)", banner)
        token = re.search(r"token=(sbx_\w+)", banner)
        assert base_url, banner
        assert token, banner
        assert f'curl -s "{base_url[1]}/notes?token={token[1]}"' in banner
        response = httpx.get(f"{base_url[1]}/notes", params={"token": token[1]}, timeout=5)
        assert response.status_code == 200
        assert response.json() == []
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=10)
        assert process.returncode == 0, output
        assert "stopped." in output
        assert token[1] not in output  # the request log shows the path only
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _serve(tiny_provider: str, db: Path) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONPATH": tiny_provider + os.pathsep + os.environ.get("PYTHONPATH", "")}
    process = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-m", "invoicekit.sandbox._cli", "serve", "tiny", "--port", "0", "--db", str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    found = re.search(r"on (http://127\.0\.0\.1:\d+/api)", process.stdout.readline())
    assert found, "the server printed no URL"
    return process, found[1]


def test_two_served_processes_on_one_db_keep_numbers_unique_and_lose_nothing(
    tiny_provider: str, tmp_path: Path
) -> None:
    db = tmp_path / "shared.db"
    servers = [_serve(tiny_provider, db) for _ in range(2)]
    token = make_tiny(store=(store := SqliteStore(db))).credentials()["token"]
    store.close()
    got: list[int] = []
    try:

        def hammer(base_url: str) -> None:
            with httpx.Client(base_url=base_url, params={"token": token}, timeout=30) as http:
                got.extend(int(http.post("/bump").json()["value"]) for _ in range(100))

        threads = [threading.Thread(target=hammer, args=(url,)) for _, url in servers for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for process, _ in servers:
            process.send_signal(signal.SIGINT)
            process.communicate(timeout=10)
    assert sorted(got) == list(range(1, 401))  # every answer a different number, none skipped
    reopened = SqliteStore(db)
    try:
        assert reopened.get("counter", 1) == {"id": 1, "value": 400}
        assert sorted(r["value"] for r in reopened.all("numbers")) == list(range(1, 401))
    finally:
        reopened.close()


def test_served_connections_are_not_delayed_by_nagle() -> None:
    from invoicekit.sandbox._server import _bind

    listener = _bind("127.0.0.1", 0)
    try:
        with socket.create_connection(listener.getsockname()[:2]):
            accepted, _ = listener.accept()
            with accepted:
                # The answer's body follows its headers in a second write: without TCP_NODELAY it waits
                # for the client's delayed ACK (about 40 ms per kept-alive request).
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        listener.close()


def test_the_request_log_keeps_the_newest_entries() -> None:
    log = RequestLog(maxlen=3)
    for i in range(10):
        log.append(LoggedRequest("GET", f"/{i}"))
    assert len(log) < 6
    assert log.recent() == [("GET", "/7"), ("GET", "/8"), ("GET", "/9")]
    assert log.dropped + len(log) == 10
    unbounded = RequestLog()
    for i in range(10):
        unbounded.append(LoggedRequest("GET", f"/{i}"))
    assert len(unbounded) == 10
    assert unbounded == [("GET", f"/{i}") for i in range(10)]


# --- faults ----------------------------------------------------------------------------------------------


def test_latency_delays_and_can_time_a_client_out(sandbox: Sandbox) -> None:
    sandbox.faults.add(FaultRule.slow(0.2, method="GET"))
    with client_for(sandbox) as http:
        started = time.monotonic()
        assert http.get("/notes", params=sandbox.credentials()).status_code == 200
        assert time.monotonic() - started >= 0.2
        started = time.monotonic()
        assert post_note(http, sandbox, "fast").status_code == 201  # POST is out of the rule's scope
        assert time.monotonic() - started < 0.2
        with pytest.raises(httpx.ReadTimeout):
            http.get("/notes", params=sandbox.credentials(), timeout=0.05)
    assert sandbox.request_log[0].fault is FaultKind.LATENCY


def test_server_error_before_commit_writes_nothing(sandbox: Sandbox) -> None:
    rule = sandbox.faults.add(FaultRule.server_error(status=502, method="POST", path="/api/notes"))
    with client_for(sandbox) as http:
        response = post_note(http, sandbox, "lost")
        assert response.status_code == 502
        assert response.headers["content-type"].startswith("text/html")
        assert sandbox.store.all("notes") == []
        assert http.get("/notes", params=sandbox.credentials()).status_code == 200  # GET is not in scope
    assert rule.fired == 1
    assert sandbox.request_log[0].fault is FaultKind.SERVER_ERROR
    assert sandbox.request_log[0].status == 502
    assert sandbox.request_log[1].fault is None


def test_server_error_after_commit_keeps_the_write(sandbox: Sandbox) -> None:
    sandbox.faults.add(FaultRule(FaultKind.SERVER_ERROR, status=500, after_commit=True, times=1))
    with client_for(sandbox) as http:
        assert post_note(http, sandbox, "landed").status_code == 500
        assert post_note(http, sandbox, "second").status_code == 201  # times=1: spent
    assert [note["text"] for note in sandbox.store.all("notes")] == ["landed", "second"]


def test_drop_after_commit_in_process(sandbox: Sandbox) -> None:
    sandbox.faults.add(FaultRule.drop_after_commit(method="POST", times=1))
    with client_for(sandbox) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            post_note(http, sandbox, "committed")
        assert http.get("/notes", params=sandbox.credentials()).json() == [{"id": 1, "text": "committed"}]
    assert sandbox.request_log[0].fault is FaultKind.DROP_AFTER_COMMIT


@pytest.mark.anyio
async def test_drop_after_commit_async(sandbox: Sandbox) -> None:
    sandbox.faults.add(FaultRule.drop_after_commit(method="POST"))
    async with httpx.AsyncClient(base_url=sandbox.base_url, transport=sandbox.transport()) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.post("/notes", params=sandbox.credentials(), json={"text": "x"})
    assert len(sandbox.store.all("notes")) == 1


def test_drop_after_commit_over_uvicorn(sandbox: Sandbox) -> None:
    sandbox.faults.add(FaultRule.drop_after_commit(method="POST"))
    with running(sandbox) as base_url, httpx.Client(base_url=base_url) as http:
        with pytest.raises(httpx.RemoteProtocolError, match=r"incomplete|complete message body"):
            post_note(http, sandbox, "committed")
        assert http.get("/notes", params=sandbox.credentials()).json() == [{"id": 1, "text": "committed"}]


def test_malformed_body_is_a_200_that_is_not_json(sandbox: Sandbox) -> None:
    sandbox.faults.add(FaultRule.malformed(method="GET"))
    with client_for(sandbox) as http:
        for i in range(6):
            post_note(http, sandbox, f"note {i}")
        for _ in range(6):
            response = http.get("/notes", params=sandbox.credentials())
            assert response.status_code == 200
            with pytest.raises(ValueError, match=r"Expecting|Unterminated|Extra data|Invalid|decode"):
                json.loads(response.content)
    assert {entry.fault for entry in sandbox.request_log if entry.method == "GET"} == {FaultKind.MALFORMED}


def test_malformed_over_uvicorn_has_a_consistent_content_length(sandbox: Sandbox) -> None:
    sandbox.faults.add(FaultRule.malformed(method="POST"))
    with running(sandbox) as base_url, httpx.Client(base_url=base_url) as http:
        response = post_note(http, sandbox, "garbled")
        assert response.status_code == 200
        assert int(response.headers["content-length"]) == len(response.content)
        with pytest.raises(ValueError, match=r"Expecting|Unterminated|Extra data|Invalid|decode"):
            response.json()
    assert len(sandbox.store.all("notes")) == 1  # the handler ran


def test_rules_can_be_changed_at_runtime(sandbox: Sandbox) -> None:
    with client_for(sandbox) as http:
        sandbox.faults.add(FaultRule.server_error(status=503))
        assert http.get("/notes/1").status_code == 503
        sandbox.faults.clear()
        assert http.get("/notes/1").status_code == 404
    assert len(sandbox.faults) == 0


def test_invalid_rules_are_refused() -> None:
    with pytest.raises(ValueError, match="5xx"):
        FaultRule.server_error(status=404)
    with pytest.raises(ValueError, match="probability"):
        FaultRule.malformed(1.5)
    with pytest.raises(ValueError, match="rate limit"):
        FaultRule.rate_limited(0)


def _statuses(seed: int) -> list[tuple[int | None, FaultKind | None]]:
    box = make_tiny(seed=seed)
    box.faults.add(FaultRule.server_error(0.3, status=500))
    box.faults.add(FaultRule.malformed(0.2))
    box.faults.add(FaultRule.slow(0.0, jitter=0.001))
    with client_for(box) as http:
        for _ in range(40):
            http.get("/notes", params=box.credentials())
    return [(entry.status, entry.fault) for entry in box.request_log]


def test_the_same_seed_replays_the_same_faults() -> None:
    first, again, other = _statuses(7), _statuses(7), _statuses(8)
    assert first == again
    assert first != other
    kinds = {fault for _, fault in first}
    assert {FaultKind.SERVER_ERROR, FaultKind.MALFORMED} <= kinds


def test_reseed_replays_too() -> None:
    faults = Faults([FaultRule.server_error(0.5)], seed=3)
    sequence = [faults.decide("GET", "/x").kind for _ in range(30)]
    faults.reseed(3)
    assert [faults.decide("GET", "/x").kind for _ in range(30)] == sequence


def test_a_throttle_answers_429_to_its_fraction_without_running_the_handler(sandbox: Sandbox) -> None:
    rule = sandbox.faults.add(FaultRule.throttled(0.5, retry_after=2, method="POST"))
    statuses = []
    with client_for(sandbox) as http:
        for i in range(40):
            response = http.post("/notes", params=sandbox.credentials(), json={"text": f"n{i}"})
            statuses.append(response.status_code)
            if response.status_code == 429:
                assert response.headers["retry-after"] == "2"
        stored = len(http.get("/notes", params=sandbox.credentials()).json())
    assert 5 < statuses.count(429) < 35  # a fraction, drawn from the seeded generator
    assert statuses.count(429) == rule.fired
    assert stored == 40 - rule.fired  # a throttled create made nothing
    with pytest.raises(ValueError, match="retry_after"):
        FaultRule.throttled(retry_after=-1)


def test_token_bucket_retry_after_is_the_wait_rounded_up() -> None:
    now = [100.0]
    faults = Faults([FaultRule.rate_limited(0.25, burst=2)], clock=lambda: now[0])
    assert faults.decide("GET", "/x").kind is None
    assert faults.decide("GET", "/x").kind is None
    refused = faults.decide("GET", "/x")
    assert (refused.kind, refused.status, refused.retry_after) == (FaultKind.RATE_LIMIT, 429, 4)
    now[0] += 3.9
    assert faults.decide("GET", "/x").retry_after == 1  # 0.975 tokens: 0.1 s to go, rounded up
    now[0] += 0.1
    assert faults.decide("GET", "/x").kind is None


def test_a_client_honouring_retry_after_gets_all_requests_through(sandbox: Sandbox) -> None:
    sandbox.faults.add(FaultRule.rate_limited(10, burst=10))
    done, refused, slept = 0, 0, 0.0
    with client_for(sandbox) as http:
        while done < 30:
            response = http.get("/notes", params=sandbox.credentials())
            if response.status_code == 429:
                refused += 1
                assert response.json() == {"error": "Too many requests, slow down"}
                wait = int(response.headers["retry-after"])
                assert wait == 1  # at 10/s the next token is 0.1 s away: rounded up to a whole second
                time.sleep(wait)
                slept += wait
                assert refused <= 5, "a client that waits Retry-After must get through"
                continue
            assert response.status_code == 200
            done += 1
    assert refused >= 1
    assert slept <= 3
    assert sum(1 for entry in sandbox.request_log if entry.fault is FaultKind.RATE_LIMIT) == refused


# --- plugin lookup and the pytest fixture ----------------------------------------------------------------


def test_create_sandbox_finds_providers_through_entry_points(tiny_provider: str) -> None:
    box = create_sandbox("tiny", seed=5)
    assert box.name == "tiny"
    assert box.faults.seed == 5
    with pytest.raises(UnknownProvider, match="no invoicekit provider named 'no-such-provider'"):
        create_sandbox("no-such-provider")


def test_the_pytest_fixture_builds_fresh_sandboxes(tiny_provider: str, invoicekit_sandbox: SandboxFactory) -> None:
    one = invoicekit_sandbox("tiny")
    two = invoicekit_sandbox("tiny", seed=1)
    with client_for(one) as http:
        assert post_note(http, one, "only in one").status_code == 201
    assert two.store.all("notes") == []
    assert one.credentials() != two.credentials()


def test_the_fixture_asks_for_strict_mode_and_names_a_provider_without_it(
    tiny_provider: str, invoicekit_sandbox: SandboxFactory
) -> None:
    # The tiny provider's create_sandbox takes no strict= option: one clear error naming it, not a TypeError.
    with pytest.raises(ConfigurationError, match="the sandbox of provider 'tiny' has no strict mode yet"):
        invoicekit_sandbox("tiny", strict=True)
    assert invoicekit_sandbox("tiny", strict=False).strict is False


def test_uses_nothing_but_starlette_for_the_app() -> None:
    # The machinery accepts any ASGI app; a bare Starlette app built inline works as well as a factory.
    async def hello(request: Request) -> Response:
        return JSONResponse({"hello": request.query_params.get("who", "world")})

    box = Sandbox("bare", lambda _box: Starlette(routes=[Route("/hello", hello)]))
    with client_for(box) as http:
        assert http.get("/hello", params={"who": "sandbox"}).json() == {"hello": "sandbox"}
    assert anyio.run(_async_hello, box) == {"hello": "world"}


async def _async_hello(box: Sandbox) -> object:
    async with httpx.AsyncClient(base_url=box.base_url, transport=box.transport()) as http:
        return (await http.get("/hello")).json()
