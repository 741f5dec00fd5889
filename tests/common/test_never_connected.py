"""planhat_common.http.never_connected: which failures prove a request never reached Planhat.

A push is resent only then (tests/reliability/test_push_faults.py); real sockets here.
"""

from __future__ import annotations

import socket

import pytest
import requests

from planhat_common.http import never_connected


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_refused_connection_never_reached_the_server() -> None:
    with pytest.raises(requests.exceptions.ConnectionError) as caught:
        requests.post(f"http://127.0.0.1:{_closed_port()}/dimensiondata/x", data=b"[]", timeout=5)
    assert never_connected(caught.value)


def test_a_reset_after_the_request_was_sent_may_have_reached_it(sandbox) -> None:
    sandbox.set_faults(reset=1, reset_mode="before", only_paths=["/dimensiondata/"])
    with pytest.raises(requests.exceptions.ConnectionError) as caught:
        requests.post(
            f"{sandbox.analytics_url}/dimensiondata/{sandbox.tenant_token}", data=b"[]", timeout=5
        )
    assert not never_connected(caught.value)


def test_a_read_timeout_may_have_reached_it(sandbox) -> None:
    sandbox.set_faults(stall=1, stall_ms=500, stall_mode="before", only_paths=["/companies"])
    with pytest.raises(requests.exceptions.ReadTimeout) as caught:
        requests.get(f"{sandbox.url}/companies", timeout=0.2)
    assert not never_connected(caught.value)
