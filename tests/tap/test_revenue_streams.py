"""The revenue streams (products, deals, line items) read incrementally from the sandbox."""

from __future__ import annotations

from typing import TYPE_CHECKING

import requests

from tests.tap.helpers import run_tap, tap_config

if TYPE_CHECKING:
    from tests.sandbox_fixtures import SandboxServer

REVENUE = {"products", "deals", "line_items"}


def test_revenue_streams_are_incremental_and_exact(sandbox: SandboxServer) -> None:
    config = tap_config(sandbox, lookback_minutes=0)
    first = run_tap(config, streams=REVENUE)
    for stream in REVENUE:
        assert first.ids(stream) == {r["_id"] for r in sandbox.records(stream)}, stream
        assert first.final_state["bookmarks"][stream]["replication_key"] == "updatedAt"
    item = next(r for r in sandbox.records("line_items") if r["type"] == "subscription")
    response = requests.put(
        f"{sandbox.url}/lineitems",
        json=[{"_id": item["_id"], "mrr": item["mrr"] + 7}],
        headers=sandbox.auth_headers(),
        timeout=10,
    )
    assert response.json()["updated"] == 1

    second = run_tap(config, state=first.final_state, streams=REVENUE)

    # The line item changed, and so did its deal, whose revenue Planhat rolls up from it.
    assert item["_id"] in second.ids("line_items")
    assert item["dealId"] in second.ids("deals")
    assert len(second.records["line_items"]) < len(first.records["line_items"])
    changed = next(r for r in second.records["line_items"] if r["_id"] == item["_id"])
    assert changed["arr"] == changed["mrr"] * 12
