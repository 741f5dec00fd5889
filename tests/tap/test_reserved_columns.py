"""The tap's own columns (``_rescued_data``, ``_sdc_*``) are never taken from Planhat.

A record from Planhat with a field of such a name has it moved into the tap's
``_rescued_data`` under that same name: the rescue column holds only the tap's rescues, and
``_sdc_deleted_at`` only the tap's own deletions (issue 21, item 6).
"""

from __future__ import annotations

import logging
from typing import Any

import requests

from planhat_common.registry import get_model
from planhat_common.rescued import RESCUED
from planhat_common.singer_columns import DELETED_AT
from tap_planhat.coerce import Coercer
from tests.tap.helpers import run_tap, tap_config
from tests.tap.test_incremental_extra import company_ids, edit_records, warnings_about

FORGED = {"orgLevel": "forged", "custom": {"Seats": "forged"}}


def _coercer() -> Coercer:
    return Coercer("companies", get_model("companies").fields, None)


def test_a_source_rescue_column_is_rescued_under_its_own_name() -> None:
    record = {"_id": "c1", "name": "Acme", RESCUED: FORGED}

    assert _coercer()(record) == {"_id": "c1", "name": "Acme", RESCUED: {RESCUED: FORGED}}


def test_source_sdc_columns_are_rescued_and_never_emitted_as_columns() -> None:
    record = {"_id": "c1", DELETED_AT: "2024-01-01T00:00:00Z", "_sdc_batched_at": 5}

    coerced = _coercer()(record)

    assert coerced == {
        "_id": "c1",
        RESCUED: {DELETED_AT: "2024-01-01T00:00:00Z", "_sdc_batched_at": 5},
    }


def test_a_source_rescue_column_never_overwrites_the_taps_own_rescues() -> None:
    coercer = _coercer()
    record = {"_id": "c1", "phonePrimary": {"not": "a phone"}, RESCUED: {"phonePrimary": "x"}}

    coerced = coercer(record)

    assert coerced["phonePrimary"] is None
    assert coerced[RESCUED] == {"phonePrimary": {"not": "a phone"}, RESCUED: {"phonePrimary": "x"}}
    assert coercer.rescued == {"phonePrimary": 1, RESCUED: 1}
    assert coercer.undeclared == set()  # reserved names are rescued, not "undeclared"


def test_records_without_reserved_names_are_left_alone() -> None:
    record = {"_id": "c1", "name": "Acme", "_private": 1}
    assert _coercer()(dict(record)) == record


def test_a_sync_rescues_reserved_names_and_keeps_its_own_deletions(
    sandbox: Any, caplog: Any
) -> None:
    ids = company_ids(sandbox)
    edit_records(sandbox, "companies", {ids[0]: {RESCUED: FORGED, DELETED_AT: "never"}})
    caplog.set_level(logging.WARNING)

    output = run_tap(tap_config(sandbox, detect_deletes=True), streams={"companies", "licenses"})

    record = {r["_id"]: r for r in output.records["companies"]}[ids[0]]
    assert DELETED_AT not in record
    assert record[RESCUED] == {RESCUED: FORGED, DELETED_AT: "never"}
    assert warnings_about(caplog, "'companies'", f"'{RESCUED}'", ids[0])
    others = [r for r in output.records["companies"] if r["_id"] != ids[0]]
    assert all(RESCUED not in r or RESCUED not in r[RESCUED] for r in others)

    # The tap's own _sdc_deleted_at still reaches the output: deletions skip the rescue.
    gone = min(output.ids("licenses"))
    deleted = requests.delete(
        f"{sandbox.url}/licenses/{gone}", headers=sandbox.auth_headers(), timeout=10
    )
    assert deleted.status_code == 200
    config = tap_config(sandbox, detect_deletes=True)
    second = run_tap(config, state=output.final_state, streams={"licenses"})
    [tombstone] = [r for r in second.records["licenses"] if r.get(DELETED_AT)]
    assert tombstone["_id"] == gone
    assert RESCUED not in tombstone
