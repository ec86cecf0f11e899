"""Reading API Platform's Hydra collections, with and without the ``hydra:`` prefix.

API Platform serves ``hydra:member``/``hydra:totalItems``/``hydra:view`` (the n8n node reads
``hydra:member``); API Platform 3+/4 with ``hydra_prefix: false`` serves ``member``/``totalItems``/``view``;
``Accept: application/json`` gives a plain array. All three are read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from invoicekit.adapter import ApiRequest, Paging

__all__ = ["HydraPages", "members"]


def members(data: Any) -> list[dict[str, Any]]:
    """The items of a collection answer."""
    items: Any
    if isinstance(data, list):
        items = data
    elif isinstance(data, dict):
        items = data.get("hydra:member", data.get("member"))
        if not isinstance(items, list):
            raise TypeError("a Flowtly collection holds hydra:member (or member)")
    else:
        raise TypeError("a Flowtly collection is a JSON object or array")
    return [item for item in items if isinstance(item, dict)]


def _next_link(data: Any) -> str | None:
    if not isinstance(data, dict):
        return None
    view = data.get("hydra:view", data.get("view"))
    if not isinstance(view, dict):
        return None
    link = view.get("hydra:next", view.get("next"))
    return link if isinstance(link, str) and link else None


@dataclass(frozen=True)
class HydraPages(Paging):
    """``?page=N`` (1-based). The view's ``next`` link says when there is more; without a view (a plain
    array, or a server that sends none) the pages are asked for until one comes back empty, so the
    server's page size (30 by default, configurable per resource) never has to be guessed."""

    def first(self, request: ApiRequest) -> ApiRequest:
        return _with_page(request, 1)

    def next_request(self, request: ApiRequest, response: httpx.Response, count: int) -> ApiRequest | None:
        if count == 0:
            return None
        page = int(request.params.get("page", 1))
        try:
            data = response.json()
        except ValueError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("hydra:view", data.get("view")), dict):
            return _with_page(request, page + 1) if _next_link(data) else None
        # No view: API Platform with pagination off answers the whole collection on every page, so a count
        # that says all items are in stops here; otherwise ask until a page comes back empty.
        total = data.get("hydra:totalItems", data.get("totalItems")) if isinstance(data, dict) else None
        if isinstance(total, int) and page * count >= total:
            return None
        return _with_page(request, page + 1)


def _with_page(request: ApiRequest, page: int) -> ApiRequest:
    params = {**request.params, "page": page}
    return ApiRequest(request.method, request.path, params, request.json, request.content, request.headers)
