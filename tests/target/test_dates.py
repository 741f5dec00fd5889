"""Dates travel as the strings the tap sent; unreadable ones are dead-lettered."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests.target.target_helpers import (
    by_field,
    dead_letters,
    record,
    run_target,
    sandbox_config,
    schema,
)

if TYPE_CHECKING:
    from pathlib import Path

DATE_TIME = {"type": ["string", "null"], "format": "date-time"}


def test_dates_pass_through_and_bad_ones_are_rejected(sandbox: Any, tmp_path: Path) -> None:
    config = sandbox_config(sandbox, tmp_path, max_rejected=1)
    messages = [
        schema("companies", {"customerFrom": DATE_TIME, "externalId": {"type": "string"}}),
        record("companies", {"externalId": "D1", "name": "D1", "customerFrom": "2024-02-03Z"}),
        record(
            "companies",
            {"externalId": "D2", "name": "D2", "customerFrom": "2024-02-03T04:05:06.789Z"},
        ),
        record("companies", {"externalId": "D3", "name": "D3", "customerFrom": "yesterday"}),
    ]
    states = run_target(config, messages)
    assert states == []  # the tap sent no STATE
    stored = by_field(sandbox, "companies", "externalId")
    assert stored["D2"]["customerFrom"] == "2024-02-03T04:05:06.789Z"
    assert "D3" not in stored
    reasons = {line["record"]["externalId"]: line["reason"] for line in dead_letters(config)}
    assert "D3" in reasons
    assert "unreadable date-time in 'customerFrom'" in reasons["D3"]
    assert "yesterday" in reasons["D3"]
