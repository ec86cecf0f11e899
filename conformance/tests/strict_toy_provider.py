"""A throw-away provider that proves strict mode catches an adapter leaning on an assumed field.

Its sandbox serves clients; its provenance data (strict_toy_provenance.toml) marks the response field
``client.reference`` as assumed, as if we had made it up. The adapter reads that field back. Against the
sandbox in its default mode the suite passes; with ``--invoicekit-strict`` the field is absent and the
suite fails, naming it. Registered through a real entry point (see conftest.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from invoicekit.adapter import Adapter, ApiRequest, ClientQuery, Flow, Listing, PageNumber, Step, read_json
from invoicekit.capabilities import Capability
from invoicekit.model import Client
from invoicekit.plugin import ProviderPlugin
from invoicekit.sandbox import Provenance, Sandbox

NAME = "toy_strict"
PROVENANCE = Path(__file__).with_name("strict_toy_provenance.toml")


class _HeaderToken(httpx.Auth):
    def __init__(self, token: str) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request):  # type: ignore[no-untyped-def]
        request.headers["X-Token"] = self._token
        yield request


class ToyStrictAdapter(Adapter):
    name = NAME
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.CLIENTS_CREATE, Capability.CLIENTS_LIST})

    def __init__(self, *, token: str, base_url: str = "http://toy_strict.sandbox") -> None:
        self._token = token
        self.base_url = base_url

    def auth(self) -> httpx.Auth:
        return _HeaderToken(self._token)

    def secrets(self) -> tuple[str, ...]:
        return (self._token,)

    def _client(self, data: dict[str, Any]) -> Client:
        # The bug under test: "reference" is only served by our sandbox (assumed in its provenance).
        return Client.from_provider(
            provider_id=str(data["id"]), name=data["name"], external_id=data["reference"], raw=data
        )

    def create_client(self, client: Client) -> Flow[Client]:
        body = {"name": client.name, "reference": client.external_id}
        response = yield Step(ApiRequest("POST", "/clients", json=body), idempotent=False)
        assert isinstance(response, httpx.Response)
        return self._client(read_json(response, self.name))

    def list_clients(self, query: ClientQuery) -> Listing[Client]:
        def parse(response: httpx.Response) -> Sequence[Client]:
            return [self._client(item) for item in read_json(response, self.name)]

        return Listing(ApiRequest("GET", "/clients"), PageNumber(size=10, size_param="per_page"), parse)


def _app(sandbox: Sandbox) -> Starlette:
    provenance = sandbox.provenance
    assert provenance is not None

    def authorised(request: Request) -> bool:
        return sandbox.accepts(request.headers.get("x-token"))

    def served(record: dict[str, Any]) -> dict[str, Any]:
        return provenance.shape("client", record, strict=sandbox.strict)

    async def create(request: Request) -> Response:
        if not authorised(request):
            return JSONResponse({"error": "unauthorised"}, status_code=401)
        data = await request.json()
        record_id = sandbox.store.insert("clients", {"name": str(data["name"]), "reference": data.get("reference")})
        return JSONResponse(served(sandbox.store.get("clients", record_id) or {}), status_code=201)

    async def listing(request: Request) -> Response:
        if not authorised(request):
            return JSONResponse({"error": "unauthorised"}, status_code=401)
        page, size = int(request.query_params.get("page", 1)), int(request.query_params.get("per_page", 10))
        records = sandbox.store.all("clients")[(page - 1) * size : page * size]
        return JSONResponse([served(record) for record in records])

    return Starlette(routes=[Route("/clients", create, methods=["POST"]), Route("/clients", listing)])


def create_sandbox(*, store: Any = None, seed: int | None = None, strict: bool = False) -> Sandbox:
    provenance = Provenance.from_toml(PROVENANCE.read_text(encoding="utf-8"))
    return Sandbox(NAME, _app, store=store, seed=seed, provenance=provenance, strict=strict)


def create_sandbox_without_strict(*, store: Any = None, seed: int | None = None) -> Sandbox:
    """A provider that has not adopted strict mode yet: its create_sandbox takes no ``strict``."""
    return Sandbox(NAME + "_old", _app_without_provenance, store=store, seed=seed)


def _app_without_provenance(sandbox: Sandbox) -> Starlette:
    return Starlette(routes=[])


plugin = ProviderPlugin(
    name=NAME, title="Toy (strict mode proof)", create_adapter=ToyStrictAdapter, create_sandbox=create_sandbox
)
old_plugin = ProviderPlugin(
    name=NAME + "_old",
    title="Toy without strict mode",
    create_adapter=ToyStrictAdapter,
    create_sandbox=create_sandbox_without_strict,
)
