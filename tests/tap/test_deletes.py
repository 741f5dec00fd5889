"""Delete detection on full-table streams: ids that vanish between full scans."""

from __future__ import annotations

from typing import Any

import requests

from planhat_common.singer_columns import DELETED_AT
from tap_planhat.deletes import decode_ids, encode_ids
from tests.tap.helpers import run_tap, tap_config


def test_id_sets_round_trip_compactly() -> None:
    ids = {f"{i:024x}" for i in range(1000)} | {"not-an-object-id", "x"}
    encoded = encode_ids(ids)
    assert decode_ids(encoded) == ids
    assert len(encoded) < 12 * len(ids)


def test_deleted_records_are_emitted_once_with_sdc_deleted_at(sandbox: Any) -> None:
    config = tap_config(sandbox, detect_deletes=True)
    first = run_tap(config, streams={"licenses", "companies"})
    assert all(DELETED_AT not in r for r in first.records["licenses"])
    assert DELETED_AT in first.schemas["licenses"]["properties"]
    # Incremental streams never see the whole set, so they do not look.
    assert DELETED_AT not in first.schemas["companies"]["properties"]

    gone = sorted(first.ids("licenses"))[:2]
    for record_id in gone:
        response = requests.delete(
            f"{sandbox.url}/licenses/{record_id}", headers=sandbox.auth_headers(), timeout=10
        )
        assert response.status_code == 200

    second = run_tap(config, state=first.final_state, streams={"licenses"})
    deleted = [r for r in second.records["licenses"] if r.get(DELETED_AT)]
    assert sorted(r["_id"] for r in deleted) == gone
    assert second.ids("licenses") - set(gone) == {r["_id"] for r in sandbox.records("licenses")}

    third = run_tap(config, state=second.final_state, streams={"licenses"})
    assert not [r for r in third.records["licenses"] if r.get(DELETED_AT)]


def test_off_by_default(sandbox: Any) -> None:
    output = run_tap(tap_config(sandbox), streams={"licenses"})
    assert DELETED_AT not in output.schemas["licenses"]["properties"]
    assert "seen_ids" not in output.final_state["bookmarks"].get("licenses", {})
