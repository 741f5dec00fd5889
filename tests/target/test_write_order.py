"""Parents before children, and streams dropped by stream maps."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import requests

from tests.target.target_helpers import (
    by_field,
    dead_letters,
    record,
    run_target,
    sandbox_config,
    schema,
    writes,
)

if TYPE_CHECKING:
    from pathlib import Path


def test_full_child_batches_wait_for_their_companies(sandbox_factory: Any, tmp_path: Path) -> None:
    sandbox = sandbox_factory(records=0)
    # Two companies (a batch of 3 is not full), then licenses fill their batch of 3 first.
    config = sandbox_config(sandbox, tmp_path, batch_size_rows=3)
    messages = [schema("companies"), schema("licenses")]
    messages += [record("companies", {"externalId": f"C{i}", "name": f"Co {i}"}) for i in range(2)]
    messages += [
        record(
            "licenses",
            {
                "externalId": f"L{i}",
                "companyExternalId": f"C{i % 2}",
                "_currency": "EUR",
                "fromDate": "2024-01-01T00:00:00Z",
                "mrr": 10,
            },
        )
        for i in range(3)
    ]
    run_target(config, messages)
    assert dead_letters(config) == []
    companies = by_field(sandbox, "companies", "externalId")
    licenses = by_field(sandbox, "licenses", "externalId")
    assert {lic["companyId"] for lic in licenses.values()} == {c["_id"] for c in companies.values()}
    assert [w["path"] for w in writes(sandbox)] == ["/companies", "/licenses"]


def test_a_stream_dropped_by_stream_maps_is_not_routed(sandbox: Any, tmp_path: Path) -> None:
    config = sandbox_config(
        sandbox, tmp_path, stream_maps={"workflows": None, "widgets": "__NULL__"}
    )
    config["stream_maps"]["workflows"] = "__NULL__"
    messages = [
        schema("workflows"),
        record("workflows", {"_id": "x", "name": "not writable"}),
        schema("widgets"),
        record("widgets", {"id": 1}),
        schema("companies"),
        record("companies", {"externalId": "KEEP", "name": "Kept"}),
    ]
    run_target(config, messages)
    assert "KEEP" in by_field(sandbox, "companies", "externalId")
    assert [w["path"] for w in writes(sandbox)] == ["/companies"]


def test_bulk_calls_are_sent_one_after_another_across_streams(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    # Planhat asks for bulk operations in sequence (docs/writes.md): with full batches of two
    # models interleaved and slow answers, no two calls of the run are ever served at once.
    sandbox = sandbox_factory(records=0, faults={"latency_ms": 40})
    config = sandbox_config(sandbox, tmp_path, batch_size_rows=4)
    messages = [schema("companies"), schema("endusers")]
    for i in range(24):
        messages.append(record("companies", {"externalId": f"C{i}", "name": f"Co {i}"}))
        messages.append(
            record("endusers", {"externalId": f"E{i}", "email": f"e{i}@x.io", "companyId": None})
        )
    run_target(config, messages)

    assert len(by_field(sandbox, "companies", "externalId")) == 24
    calls = writes(sandbox)
    assert len(calls) >= 12  # full batches of both models, while the next ones were read
    summary = requests.get(f"{sandbox.url}/_sandbox/requests/summary", timeout=30).json()
    assert summary["max_in_flight"] == 1
