"""A throw-away provider used by the engine tests: a tiny JSON API with its token in the query string
(like Cashaca), page-number paging and creates that can be looked up by external id. It is registered
through a real entry point (see conftest.py), never imported by invoicekit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import httpx

from invoicekit.adapter import (
    Adapter,
    ApiRequest,
    ClientQuery,
    Flow,
    Found,
    Listing,
    Lookup,
    LookupFlow,
    PageNumber,
    Step,
    read_json,
)
from invoicekit.capabilities import Capability
from invoicekit.errors import ConfigurationError
from invoicekit.model import Client
from invoicekit.plugin import ProviderPlugin


class _QueryToken(httpx.Auth):
    def __init__(self, token: str) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request):  # type: ignore[no-untyped-def]
        request.url = request.url.copy_merge_params({"token": self._token})
        yield request


class ToyAdapter(Adapter):
    name = "toy"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.CLIENTS_CREATE, Capability.CLIENTS_GET, Capability.CLIENTS_LIST}
    )

    def __init__(self, *, token: str, base_url: str = "https://toy.example/api") -> None:
        if not token:
            raise ConfigurationError("toy needs a token")
        self._token = token
        self.base_url = base_url

    def auth(self) -> httpx.Auth:
        return _QueryToken(self._token)

    def secrets(self) -> tuple[str, ...]:
        return (self._token,)

    def _client(self, data: dict[str, Any]) -> Client:
        return Client.from_provider(
            provider_id=str(data["id"]), name=data["name"], external_id=data.get("external_id"), raw=data
        )

    def create_client(self, client: Client) -> Flow[Client]:
        body = {"client": {"name": client.name, "external_id": client.external_id}}
        ref = client.external_id
        lookup = (lambda: self._find(ref)) if ref else None
        outcome = yield Step(ApiRequest("POST", "/clients", json=body), idempotent=False, lookup=lookup, reference=ref)
        if isinstance(outcome, Found):
            return (yield from self.get_client(outcome.provider_id))
        return self._client(read_json(outcome, self.name))

    def _find(self, external_id: str) -> LookupFlow:
        response = yield Step(ApiRequest("GET", "/clients", params={"external_id": external_id}))
        assert isinstance(response, httpx.Response)
        matches = read_json(response, self.name)
        if len(matches) == 1:
            return Found(str(matches[0]["id"]))
        return Lookup.ABSENT if not matches else Lookup.UNKNOWN

    def get_client(self, client_id: str) -> Flow[Client]:
        response = yield Step(ApiRequest("GET", f"/clients/{client_id}"))
        assert isinstance(response, httpx.Response)
        return self._client(read_json(response, self.name))

    def list_clients(self, query: ClientQuery) -> Listing[Client]:
        def parse(response: httpx.Response) -> Sequence[Client]:
            return [self._client(item) for item in read_json(response, self.name)]

        return Listing(ApiRequest("GET", "/clients"), PageNumber(size=10, size_param="per_page"), parse)


plugin = ProviderPlugin(name="toy", title="Toy", create_adapter=ToyAdapter)
