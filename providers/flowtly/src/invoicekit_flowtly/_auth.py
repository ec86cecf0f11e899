"""Flowtly's login: ``POST {base}/login`` with ``{"username", "password"}`` answers ``{"token": <JWT>}``,
sent as ``Authorization: Bearer`` (the public n8n node Valyors/flowtly-n8n, src/nodes/Flowtly/Flowtly.node.ts).

An httpx.Auth flow, so every request of a connection (lists the engine pages included) logs in on first use
and renews an expired token once on a 401. The login is not one of the engine's steps, so its failures are
turned into what the engine understands for the request it precedes:

* a 401 (or any other 4xx) of the login is the answer: AuthenticationError for bad credentials;
* a 429 of the login is the answer too: the engine waits out its Retry-After and sends again;
* a 5xx or an unreadable login answer raises :class:`LoginUnavailable`, an ``httpx.ConnectError``: the
  request itself never left, so the engine may send it again (a create included) without a lookup;
* a login answer lost on the wire is raised by httpx past this flow, so the engine sees it as a lost
  answer of the request itself: a create is looked up first (finding nothing) and then sent once.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Generator

import httpx

__all__ = ["FlowtlyLogin", "LoginUnavailable"]


class LoginUnavailable(httpx.ConnectError):
    """The login before a request failed; the request was not sent."""


class FlowtlyLogin(httpx.Auth):
    requires_response_body = True

    def __init__(self, login_url: str, username: str, password: str) -> None:
        self._login_url = login_url
        self._username = username
        self._password = password
        self._token: str | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return "<Flowtly JWT login>"

    @property
    def token(self) -> str | None:
        return self._token

    def _login_request(self) -> httpx.Request:
        body = json.dumps({"username": self._username, "password": self._password}).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        return httpx.Request("POST", self._login_url, content=body, headers=headers)

    def _login(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, httpx.Response | None]:
        """Log in; None when a token was obtained, else the answer to hand back for ``request``."""
        response = yield self._login_request()
        if response.status_code >= 500:
            raise LoginUnavailable(f"the login answered HTTP {response.status_code}", request=request)
        if not response.is_success:
            return response
        try:
            token = json.loads(response.content).get("token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise LoginUnavailable("the login answer holds no token", request=request)
        with self._lock:
            self._token = token
        return None

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._token is None:
            refused = yield from self._login(request)
            if refused is not None:
                return  # httpx hands back the last answer the flow received: the login's refusal
        request.headers["Authorization"] = f"Bearer {self._token}"
        response = yield request
        if response.status_code != 401:
            return
        # Tokens expire: log in again, once, and resend (a 401 means the request was not processed).
        refused = yield from self._login(request)
        if refused is not None:
            return
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request
