"""HTTP helper for the sandbox tests (a module, so tests can import it by a unique name)."""

from __future__ import annotations

from typing import Any

import requests

from tests.sandbox_fixtures import SANDBOX_TOKEN, SandboxServer

TIMEOUT = 30


class Client:
    """Tiny requests wrapper bound to one sandbox and token."""

    def __init__(self, server: SandboxServer, token: str = SANDBOX_TOKEN) -> None:
        self.server = server
        self.headers = {"Authorization": f"Bearer {token}"}

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return requests.request(
            method, self.server.url + path, headers=headers, timeout=TIMEOUT, **kwargs
        )

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.request("GET", path, params=params)

    def ok(self, path: str, **params: Any) -> Any:
        response = self.get(path, **params)
        assert response.status_code == 200, response.text
        return response.json()

    def put(self, path: str, body: Any) -> requests.Response:
        return self.request("PUT", path, json=body)

    def post(self, path: str, body: Any) -> requests.Response:
        return self.request("POST", path, json=body)

    def delete(self, path: str) -> requests.Response:
        return self.request("DELETE", path)
