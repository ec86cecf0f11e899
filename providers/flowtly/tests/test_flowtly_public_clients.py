"""Replays of the public community n8n node for Flowtly (Valyors/flowtly-n8n), request by request as its
source builds them, against the sandbox over a real loopback server. No code of the node is copied: each
request is written from what src/nodes/Flowtly/Flowtly.node.ts does (line numbers of commit 4175095)."""

from __future__ import annotations

import httpx
from invoicekit_flowtly.sandbox import create_sandbox

from invoicekit.sandbox import running


def _login(http: httpx.Client, base: str, username: str, password: str) -> httpx.Response:
    # Flowtly.node.ts:168-175: helpers.request({method: 'POST', url: '<base>/login', body: {username, password}})
    # with requestDefaults (30-36) headers Content-Type and Accept application/json.
    return http.post(
        f"{base}/login",
        json={"username": username, "password": password},
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )


def test_n8n_login_then_organizations_get_all() -> None:
    with create_sandbox() as sandbox, running(sandbox) as root, httpx.Client() as http:
        base = f"{root}/api"  # the node's base is https://app.flowtly.com/api (Flowtly.node.ts:31)
        credentials = sandbox.credentials()
        login = _login(http, base, credentials["username"], credentials["password"])
        assert login.status_code == 200
        token = login.json()["token"]  # Flowtly.node.ts:192: responseData.token
        assert token.count(".") == 2  # a JWT
        # Flowtly.node.ts:241-248: GET <base>/organizations, Authorization Bearer, Accept application/json.
        listed = http.get(
            f"{base}/organizations", headers={"Authorization": f"Bearer {token}", "Accept": "application/json"}
        )
        assert listed.status_code == 200
        data = listed.json()
        # Flowtly.node.ts:255-262: hydra:member when present, else the answer as it is (a plain array here).
        members = data["hydra:member"] if isinstance(data, dict) and "hydra:member" in data else data
        assert [org["name"] for org in members] == ["Sandbox Organization"]
        # With JSON-LD (the adapter's Accept) the same list is a Hydra collection with hydra:member.
        ld = http.get(
            f"{base}/organizations", headers={"Authorization": f"Bearer {token}", "Accept": "application/ld+json"}
        )
        assert [org["name"] for org in ld.json()["hydra:member"]] == ["Sandbox Organization"]


def test_n8n_login_with_wrong_password_has_no_token() -> None:
    with create_sandbox() as sandbox, running(sandbox) as root, httpx.Client() as http:
        refused = _login(http, f"{root}/api", sandbox.username, "not-the-password")
        # Flowtly.node.ts:201-204: no token in the answer is the node's failure.
        assert refused.status_code == 401
        assert "token" not in refused.json()
        no_token = http.get(f"{root}/api/organizations", headers={"Accept": "application/json"})
        assert no_token.status_code == 401
