"""Planhat ids for every written record when bulk answers carry `_id` only, or no keys at all.

The sandbox's ``bulk_keys`` fault answers in those shapes; the request log
(``GET /_sandbox/requests``) shows the target lists each model at most once per run for them,
and not at all when the answer names the keyables sent (docs/writes.md).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import pytest
import requests

from planhat_common.errors import PlanhatError
from planhat_common.registry import get_model
from target_planhat.mapping.payloads import MappedRecord
from target_planhat.outcomes.attribution import RecordResult, attribute
from target_planhat.outcomes.bulk_answers import BulkOutcome
from target_planhat.outcomes.late_ids import LateIds
from tests.target.target_helpers import by_field, record, run_target, schema, summary_rows

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from planhat_common.registry import Model
    from planhat_sandbox.server import SandboxServer
    from target_planhat.mapping.keys import Key

STRING = {"type": ["string", "null"]}
SHAPES = ["id_only", "none"]


def _results(config: Mapping[str, Any]) -> list[dict[str, Any]]:
    path = Path(config["results_path"])
    return [orjson.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _listings(sandbox: SandboxServer, path: str) -> int:
    """Key listings of ``path`` (``GET`` pages with a ``select``), from the request log."""
    log = requests.get(f"{sandbox.url}/_sandbox/requests", timeout=10).json()["requests"]
    return sum(
        1
        for entry in log
        if entry["method"] == "GET" and entry["path"] == path and "select" in str(entry["query"])
    )


@pytest.fixture
def results_config(config: dict[str, Any]) -> dict[str, Any]:
    config["results_path"] = str(Path(config["dead_letter_path"]).with_name("results.jsonl"))
    config["batch_size_rows"] = 2  # several answers per model: still one listing
    return config


def _company_messages(sandbox: SandboxServer) -> tuple[list[dict[str, Any]], list[str]]:
    """Two updates of seeded companies, then three new ones: all-update and all-create batches."""
    existing = [c["externalId"] for c in sandbox.records("companies")[:2]]
    rows = {existing[0]: "Up 1", existing[1]: "Up 2", "LATE-1": "A", "LATE-2": "B", "LATE-3": "C"}
    messages = [
        schema("companies", {"externalId": STRING, "name": STRING}, keys=["externalId"]),
        *(record("companies", {"externalId": key, "name": name}) for key, name in rows.items()),
    ]
    return messages, existing


@pytest.mark.parametrize("shape", SHAPES)
def test_every_written_record_gets_its_id_with_one_listing(
    sandbox: SandboxServer, results_config: dict[str, Any], shape: str, caplog: Any
) -> None:
    sandbox.set_faults(bulk_keys=shape)
    messages, existing = _company_messages(sandbox)
    sandbox.clear_log()
    with caplog.at_level(logging.INFO):
        run_target(results_config, messages)

    stored = by_field(sandbox, "companies", "externalId")
    lines = {line["key_value"]: line for line in _results(results_config)}
    assert {key: line["planhat_id"] for key, line in lines.items()} == {
        key: stored[key]["_id"] for key in lines
    }
    assert {key: line["outcome"] for key, line in lines.items()} == {
        existing[0]: "updated",
        existing[1]: "updated",
        "LATE-1": "created",
        "LATE-2": "created",
        "LATE-3": "created",
    }
    assert _listings(sandbox, "/companies") == 1
    # The listing counts in the calls column like any key scan: 3 bulk calls + 1 page.
    assert summary_rows(caplog)["companies"]["calls"] == "4"

    # The sync ledger kept the ids: an identical rerun sends and lists nothing, ids and all.
    Path(results_config["results_path"]).unlink()
    sandbox.clear_log()
    run_target(results_config, messages)
    assert sandbox.requests_log() == []
    rerun = _results(results_config)
    assert {line["outcome"] for line in rerun} == {"unchanged"}
    assert {line["key_value"]: line["planhat_id"] for line in rerun} == {
        key: stored[key]["_id"] for key in lines
    }


@pytest.mark.parametrize("shape", SHAPES)
def test_one_listing_per_model_and_run(
    sandbox: SandboxServer, results_config: dict[str, Any], shape: str
) -> None:
    sandbox.set_faults(bulk_keys=shape)
    company = sandbox.records("companies")[0]
    users = [
        record(
            "endusers",
            {"email": f"late{i}@example.com", "companyExternalId": company["externalId"]},
        )
        for i in range(5)
    ]
    messages = [
        *_company_messages(sandbox)[0],
        schema("endusers", {"email": STRING, "companyExternalId": STRING}, keys=["email"]),
        *users,
    ]
    sandbox.clear_log()
    run_target(results_config, messages)
    assert _listings(sandbox, "/companies") == 1
    assert _listings(sandbox, "/endusers") == 1
    lines = _results(results_config)
    assert len(lines) == 10
    assert all(line["planhat_id"] for line in lines)
    created = by_field(sandbox, "endusers", "email")
    assert {
        line["key_value"]: line["planhat_id"] for line in lines if line["stream"] == "endusers"
    } == {f"late{i}@example.com": created[f"late{i}@example.com"]["_id"] for i in range(5)}


def test_answers_naming_the_keyables_need_no_listing(
    sandbox: SandboxServer, results_config: dict[str, Any]
) -> None:
    messages, _ = _company_messages(sandbox)
    sandbox.clear_log()
    run_target(results_config, messages)
    assert _listings(sandbox, "/companies") == 0
    assert all(line["planhat_id"] for line in _results(results_config))


def test_a_scan_made_before_the_writes_is_reused_for_updates(
    sandbox: SandboxServer, results_config: dict[str, Any]
) -> None:
    # update_only checks keys against a scan made before writing: it knows every id it
    # updates, so the answer's lack of keys costs no second listing.
    sandbox.set_faults(bulk_keys="none")
    results_config["streams"] = {"companies": {"mode": "update_only"}}
    messages, existing = _company_messages(sandbox)
    sandbox.clear_log()
    run_target(results_config, messages[:3])
    assert _listings(sandbox, "/companies") == 1
    stored = by_field(sandbox, "companies", "externalId")
    assert {line["key_value"]: line["planhat_id"] for line in _results(results_config)} == {
        key: stored[key]["_id"] for key in existing
    }


def test_a_dry_run_lists_nothing_more(
    sandbox: SandboxServer, results_config: dict[str, Any]
) -> None:
    sandbox.set_faults(bulk_keys="id_only")
    messages, _ = _company_messages(sandbox)
    sandbox.clear_log()
    run_target({**results_config, "dry_run": True}, messages)
    assert _listings(sandbox, "/companies") == 1  # the forecast's scan, as always
    assert _results(results_config) == []


def test_written_records_are_told_apart_by_the_ids_an_id_only_answer_lists(
    sandbox: SandboxServer, results_config: dict[str, Any]
) -> None:
    # One batch with a create and an update: the answer's bare ids say which is which.
    sandbox.set_faults(bulk_keys="id_only")
    existing = sandbox.records("companies")[0]["externalId"]
    messages = [
        schema("companies", {"externalId": STRING, "name": STRING}, keys=["externalId"]),
        record("companies", {"externalId": existing, "name": "Mixed"}),
        record("companies", {"externalId": "MIXED-NEW", "name": "Mixed"}),
    ]
    run_target(results_config, messages)
    lines = {line["key_value"]: line for line in _results(results_config)}
    assert (lines[existing]["outcome"], lines["MIXED-NEW"]["outcome"]) == ("updated", "created")
    assert lines[existing]["reason"] is None


# -- without a server: what a record whose id cannot be found says ------------------------------


class _Lookups:
    """Key look-ups whose listing finds ``found`` (or fails with ``error``)."""

    def __init__(self, found: Mapping[Key, str], error: Exception | None = None) -> None:
        self.found = found
        self.error = error
        self.listings = 0

    def known_id(self, _model: Model, _key: Key | None) -> str | None:
        return None

    def fresh_key_index(self, _model: Model, on_page: Callable[[], None]) -> Mapping[Key, str]:
        self.listings += 1
        on_page()
        if self.error:
            raise self.error
        return self.found


class _Report:
    def __init__(self) -> None:
        self.settled: list[RecordResult] = []
        self.confirmed: list[bool] = []

    def settle(
        self, results: Sequence[RecordResult], *, counts: Any = None, confirmed: bool = False
    ) -> None:
        assert counts == {}
        self.settled.extend(results)
        self.confirmed.append(confirmed)


def _held(lookups: _Lookups, keys: list[Key | None]) -> _Report:
    late = LateIds(lookups, logging.getLogger("test"))  # type: ignore[arg-type]
    report = _Report()
    calls: list[int] = []
    chunk = [MappedRecord({}, {}, key, ledger_entry=(1, 2)) for key in keys]
    outcome = BulkOutcome(created=len(keys))
    results = attribute(chunk, outcome, {}, 0, lambda _r: None)
    for _ in range(2):  # two answers, one listing
        late.hold(
            report,
            get_model("companies"),
            results,
            outcome,
            confirmed=True,
            on_page=lambda: calls.append(1),
        )
    late.resolve()
    late.resolve()  # nothing held any more: no second listing
    assert len(calls) == lookups.listings
    return report


def test_a_record_whose_id_is_not_found_keeps_its_outcome_and_says_why() -> None:
    lookups = _Lookups({("externalId", "A"): "id-a"})
    report = _held(lookups, [("externalId", "A"), ("externalId", "GONE"), None])
    assert lookups.listings == 1
    outcomes = [(r.outcome, r.planhat_id) for r in report.settled[:3]]
    assert outcomes == [("created", "id-a"), ("created", None), ("created", None)]
    assert "no Company record has externalId=GONE" in str(report.settled[1].reason)
    assert "no key to look it up by" in str(report.settled[2].reason)
    assert report.confirmed == [True]


def test_a_failed_listing_leaves_the_ids_null_without_failing_the_run() -> None:
    lookups = _Lookups({}, PlanhatError("503 Service Unavailable"))
    report = _held(lookups, [("externalId", "A")])
    assert [(r.outcome, r.planhat_id) for r in report.settled] == [("created", None)] * 2
    assert "listing Company failed: 503" in str(report.settled[0].reason)
