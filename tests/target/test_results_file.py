"""The results file: what became of each record, with Planhat's _id, and how it is derived."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from target_planhat.mapping.records import MappedRecord
from target_planhat.outcomes.attribution import attribute
from target_planhat.outcomes.bulk_answers import BulkOutcome, ItemError
from tests.target.target_helpers import by_field, record, run_target, schema

STRING = {"type": ["string", "null"]}


def _results(config: dict[str, Any]) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in Path(config["results_path"]).read_text().splitlines()]


def _mapped(key: str, **payload: Any) -> MappedRecord:
    return MappedRecord({"externalId": key, **payload}, {}, ("externalId", key))


def test_every_record_gets_a_line_with_its_outcome_and_id(sandbox: Any, config: Any) -> None:
    config["results_path"] = str(Path(config["dead_letter_path"]).with_name("results.jsonl"))
    config["max_rejected"] = 5
    existing = sandbox.records("companies")[0]
    props = {"externalId": STRING, "name": STRING}
    messages = [
        schema("companies", props, keys=["externalId"]),
        record("companies", {"externalId": existing["externalId"], "name": "Updated"}),
        record("companies", {"externalId": "RES-NEW", "name": "Created"}),
        record("companies", {"externalId": "RES-BAD"}),  # no name: cannot be created
        schema("endusers", {"email": STRING, "companyExternalId": STRING}, keys=["email"]),
        record("endusers", {"email": "lost@example.com", "companyExternalId": "NO-SUCH"}),
        schema("mystery", {"a": STRING}),
        record("mystery", {"a": "x"}),
    ]
    run_target({**config, "skip_unknown_streams": True}, messages)
    run_target({**config, "skip_unknown_streams": True}, messages[:3])  # an identical rerun

    lines = _results(config)
    by_key = {(line["key_value"], line["outcome"]): line for line in lines}
    created = by_field(sandbox, "companies", "externalId")["RES-NEW"]
    assert by_key["RES-NEW", "created"]["planhat_id"] == created["_id"]
    assert by_key[existing["externalId"], "updated"]["planhat_id"] == existing["_id"]
    assert "name" in by_key["RES-BAD", "rejected"]["reason"]
    assert "does not match any company" in by_key["lost@example.com", "rejected"]["reason"]
    assert by_key[existing["externalId"], "unchanged"]["reason"].startswith("not sent")
    skipped = [line for line in lines if line["outcome"] == "skipped"]
    assert [line["stream"] for line in skipped] == ["mystery"]
    assert {line["key_field"] for line in lines if line["stream"] == "companies"} == {"externalId"}


def test_entries_with_keys_attribute_created_and_updated_with_ids() -> None:
    chunk = [_mapped("A"), _mapped("B"), _mapped("C")]
    outcome = BulkOutcome(
        created=1,
        updated=1,
        inserts=[{"_id": "id-b", "externalId": "B"}],
        updates=[{"_id": "id-a", "externalId": "A"}],
    )
    results = attribute(chunk, outcome, {2: ["create failed: x"]}, 0, lambda _r: None)
    assert [(r.outcome, r.planhat_id) for r in results] == [
        ("updated", "id-a"),
        ("created", "id-b"),
        ("rejected", None),
    ]


def test_left_over_records_are_derived_from_the_counts() -> None:
    chunk = [_mapped("A"), _mapped("B")]
    only_ids = BulkOutcome(created=2, inserts=[{"_id": "x"}, {"_id": "y"}])
    assert {r.outcome for r in attribute(chunk, only_ids, {}, 0, lambda _r: None)} == {"created"}
    unchanged = BulkOutcome(unchanged=2)
    assert {r.outcome for r in attribute(chunk, unchanged, {}, 0, lambda _r: None)} == {"unchanged"}
    mixed = BulkOutcome(created=1, updated=1, inserts=[{"_id": "x"}], updates=[{"_id": "y"}])
    assert {r.outcome for r in attribute(chunk, mixed, {}, 0, lambda _r: None)} == {"written"}
    one = attribute(
        chunk[:1], BulkOutcome(created=1, inserts=[{"_id": "x"}]), {}, 0, lambda _r: None
    )
    assert (one[0].outcome, one[0].planhat_id) == ("created", "x")


def test_errors_naming_no_record_make_the_rest_unknown() -> None:
    outcome = BulkOutcome(errors=[ItemError("createdErrors", "something failed")])
    results = attribute([_mapped("A")], outcome, {}, 1, lambda _r: None)
    assert results[0].outcome == "unknown"
    assert "without naming records" in str(results[0].reason)


def test_unchanged_rows_carry_the_id_the_sync_ledger_kept(sandbox: Any, config: Any) -> None:
    config["results_path"] = str(Path(config["dead_letter_path"]).with_name("results.jsonl"))
    existing = sandbox.records("companies")[0]
    props = {"EXTERNAL_ID": STRING, "NAME": STRING}
    rows = {existing["externalId"]: "Updated", "IDS-1": "One", "IDS-2": "Two"}
    messages = [
        schema("companies", props, keys=["EXTERNAL_ID"]),
        *(record("companies", {"EXTERNAL_ID": k, "NAME": v}) for k, v in rows.items()),
    ]
    run_target(config, messages)
    stored = by_field(sandbox, "companies", "externalId")
    ids = {key: stored[key]["_id"] for key in rows}
    first = _results(config)
    assert {line["key_value"]: line["planhat_id"] for line in first} == ids

    Path(config["results_path"]).unlink()
    run_target(config, messages)  # nothing changed: nothing is sent
    second = _results(config)
    assert {line["outcome"] for line in second} == {"unchanged"}
    assert {line["key_value"]: line["planhat_id"] for line in second} == ids

    Path(config["results_path"]).unlink()
    run_target(config, [*messages, record("companies", {"EXTERNAL_ID": "IDS-2", "NAME": "2"})])
    third = {line["key_value"]: line for line in _results(config)}
    assert third["IDS-2"]["outcome"] == "updated"
    assert {key: line["planhat_id"] for key, line in third.items()} == ids


def test_ids_are_kept_even_by_runs_without_a_results_file(sandbox: Any, config: Any) -> None:
    messages = [
        schema("companies", {"externalId": STRING, "name": STRING}, keys=["externalId"]),
        record("companies", {"externalId": "QUIET-1", "name": "Quiet"}),
    ]
    run_target(config, messages)
    config["results_path"] = str(Path(config["dead_letter_path"]).with_name("results.jsonl"))
    run_target(config, messages)
    [line] = _results(config)
    assert line["outcome"] == "unchanged"
    assert line["planhat_id"] == by_field(sandbox, "companies", "externalId")["QUIET-1"]["_id"]


def test_records_left_out_without_a_call_still_get_their_line(sandbox: Any, config: Any) -> None:
    # One outcome path for every record: items the push ledger leaves out and deletes that
    # find nothing to delete are reported as unchanged, with the reason, like the rest.
    config["results_path"] = str(Path(config["dead_letter_path"]).with_name("results.jsonl"))
    company = sandbox.records("companies")[0]
    metric = {"dimensionId": "logins", "value": 3, "externalId": company["externalId"]}
    pushes = [
        schema("metrics", {"value": {"type": "number"}}),
        record("metrics", {**metric, "date": "2024-05-01"}),
    ]
    run_target(config, pushes)
    run_target(config, pushes)
    deletes = [
        schema("companies", {"externalId": STRING}, keys=["externalId"]),
        record("companies", {"externalId": "NEVER-THERE", "_sdc_deleted_at": "2024-01-01"}),
    ]
    run_target({**config, "hard_delete": True}, deletes)

    pushed, *left_out = [
        (line["stream"], line["outcome"], line["reason"]) for line in _results(config)
    ]
    assert pushed[0] == "metrics"
    assert left_out == [
        ("metrics", "unchanged", "not sent: an earlier run pushed it (push ledger)"),
        ("companies", "unchanged", "not in Planhat: nothing to delete"),
    ]
