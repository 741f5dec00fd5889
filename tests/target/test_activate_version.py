"""ACTIVATE_VERSION with hard_delete: Planhat keeps exactly what the stream's version holds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests.target.target_helpers import run_target, sandbox_config, schema

if TYPE_CHECKING:
    from pathlib import Path

VERSION = 1700000000000


def activate(stream: str) -> dict[str, Any]:
    return {"type": "ACTIVATE_VERSION", "stream": stream, "version": VERSION}


def versioned(stream: str, rec: dict[str, Any]) -> dict[str, Any]:
    return {"type": "RECORD", "stream": stream, "record": rec, "version": VERSION}


def full_table(keep: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What a tap sends for a full-table sync with ACTIVATE_VERSION messages on."""
    return [
        schema("companies", {"externalId": {"type": "string"}}),
        activate("companies"),  # before the records: nothing of this version yet
        *(versioned("companies", {"externalId": c["externalId"], "name": c["name"]}) for c in keep),
        versioned("companies", {"externalId": "NEW-1", "name": "Brand new"}),
        activate("companies"),
    ]


def test_records_missing_from_the_version_are_deleted(sandbox: Any, tmp_path: Path) -> None:
    companies = sandbox.records("companies")
    keep, gone = companies[:5], companies[5:]
    run_target(sandbox_config(sandbox, tmp_path, hard_delete=True), full_table(keep))
    remaining = {c["externalId"] for c in sandbox.records("companies")}
    assert remaining == {c["externalId"] for c in keep} | {"NEW-1"}
    deletes = [r for r in sandbox.requests_log() if r["method"] == "DELETE"]
    assert len(deletes) == len(gone)


def test_without_hard_delete_nothing_is_deleted(sandbox: Any, tmp_path: Path) -> None:
    companies = sandbox.records("companies")
    run_target(sandbox_config(sandbox, tmp_path), full_table(companies[:5]))
    assert len(sandbox.records("companies")) == len(companies) + 1
    assert not [r for r in sandbox.requests_log() if r["method"] == "DELETE"]


def test_a_version_with_no_records_deletes_nothing(sandbox: Any, tmp_path: Path) -> None:
    before = len(sandbox.records("companies"))
    messages = [schema("companies"), activate("companies"), activate("companies")]
    run_target(sandbox_config(sandbox, tmp_path, hard_delete=True), messages)
    assert len(sandbox.records("companies")) == before
