"""A scripted in-memory server for the toy provider, driven through httpx.MockTransport."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

TOKEN = "tok-5ecret-VALUE-42"

# A fault returns a response to send instead of the real one, raises to simulate the network, or
# returns None to let the request through. It sees the request and whether the write was committed.
Fault = Callable[[httpx.Request, bool], httpx.Response | None]


@dataclass
class ToyServer:
    clients: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    lookup_status: int | None = None  # force the external-id lookup to answer with this status

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.method, request.url.path))
        if request.url.params.get("token") != TOKEN:
            return httpx.Response(401, json={"error": f"bad token {request.url.params.get('token')}"})
        pre = self.faults.pop(0) if self.faults else None
        if pre is not None:
            early = pre(request, False)
            if early is not None:
                return early
        response = self._route(request)
        return response

    def _route(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api")
        if request.method == "POST" and path == "/clients":
            data = json.loads(request.content)["client"]
            record = {"id": len(self.clients) + 1, **data}
            self.clients.append(record)
            return httpx.Response(201, json=record)
        if request.method == "GET" and path == "/clients":
            if "external_id" in request.url.params:
                if self.lookup_status is not None:
                    return httpx.Response(self.lookup_status, json={"error": "lookup broken"})
                ext = request.url.params["external_id"]
                return httpx.Response(200, json=[c for c in self.clients if c.get("external_id") == ext])
            page = int(request.url.params.get("page", 1))
            size = int(request.url.params.get("per_page", 10))
            return httpx.Response(200, json=self.clients[(page - 1) * size : page * size])
        if request.method == "GET" and path.startswith("/clients/"):
            wanted = int(path.rsplit("/", 1)[1])
            for record in self.clients:
                if record["id"] == wanted:
                    return httpx.Response(200, json=record)
            return httpx.Response(404, json={"error": "not found"})
        return httpx.Response(404, json={"error": "no route"})

    def posts(self) -> int:
        return sum(1 for method, _ in self.requests if method == "POST")


def respond(status: int, headers: dict[str, str] | None = None) -> Fault:
    return lambda request, committed: httpx.Response(status, headers=headers, json={"error": "injected"})


def drop_after_commit(server: ToyServer) -> Fault:
    """The write happens, then the connection drops before the response arrives."""

    def fault(request: httpx.Request, committed: bool) -> httpx.Response | None:
        server._route(request)
        raise httpx.ReadError("connection reset by peer", request=request)

    return fault


def drop_before_commit() -> Fault:
    def fault(request: httpx.Request, committed: bool) -> httpx.Response | None:
        raise httpx.RemoteProtocolError("server disconnected", request=request)

    return fault
