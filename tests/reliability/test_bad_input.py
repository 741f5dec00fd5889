"""Bad input to target-planhat: bad records are dead-lettered, good ones still load, the exit
code follows ``max_rejected``; a malformed stream fails the run at once, naming it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import pytest

from tests.reliability.helpers import TARGET, run_cli, singer_lines, target_config, write_json

if TYPE_CHECKING:
    from planhat_sandbox.server import SandboxServer

SCHEMA = {
    "type": "SCHEMA",
    "stream": "companies",
    "schema": {
        "type": "object",
        "properties": {
            "externalId": {"type": "string"},
            "name": {"type": ["string", "null"], "maxLength": 40},
            "mrr": {"type": ["number", "null"]},
            "customerFrom": {"type": ["string", "null"], "format": "date-time"},
        },
    },
    "key_properties": ["externalId"],
}
GOOD = [
    {"externalId": "GOOD-1", "name": "Good one", "mrr": 10},
    {"externalId": "GOOD-2", "name": "Good two", "favouriteColour": "teal"},  # unknown field
    {"externalId": "GOOD-3", "name": "Good three", "customerFrom": "2024-01-02T03:04:05Z"},
]
BAD = {
    "BAD-TYPE": ({"externalId": "BAD-TYPE", "name": "x", "mrr": "lots"}, "not of type"),
    "(no key)": ({"name": "no key at all"}, "missing key properties: externalId"),
    "BAD-LONG": ({"externalId": "BAD-LONG", "name": "x" * 100}, "is too long"),
    "BAD-DATE": ({"externalId": "BAD-DATE", "name": "d", "customerFrom": "someday"}, "date"),
    "BAD-HUGE": ({"externalId": "BAD-HUGE", "name": "h", "notes": "y" * 5000}, "max_batch_bytes"),
}


def _messages() -> list[dict[str, Any]]:
    records = [GOOD[0], *(r for r, _ in BAD.values()), *GOOD[1:]]
    return [
        SCHEMA,
        *({"type": "RECORD", "stream": "companies", "record": r} for r in records),
        {"type": "STATE", "value": {"bookmarks": {"companies": "done"}}},
    ]


@pytest.mark.parametrize("max_rejected", [len(BAD), len(BAD) - 1])
def test_bad_records_are_dead_lettered_and_good_ones_load(
    sandbox: SandboxServer, tmp_path: Path, max_rejected: int
) -> None:
    config = target_config(sandbox, tmp_path, max_rejected=max_rejected, max_batch_bytes=2048)

    result = run_cli(
        [TARGET, "--config", write_json(tmp_path / "t.json", config)],
        stdin=singer_lines(_messages()),
    )

    stored = {r.get("externalId"): r for r in sandbox.records("companies")}
    assert {"GOOD-1", "GOOD-2", "GOOD-3"} <= set(stored)
    assert stored["GOOD-2"]["custom"]["favouriteColour"] == "teal"
    assert not {"BAD-TYPE", "BAD-LONG", "BAD-DATE", "BAD-HUGE"} & set(stored)
    letters = [
        orjson.loads(line)
        for line in Path(config["dead_letter_path"]).read_bytes().split(b"\n")
        if line
    ]
    by_key = {(line["record"] or {}).get("externalId", "(no key)"): line for line in letters}
    assert set(by_key) == set(BAD)
    for key, (record, reason) in BAD.items():
        assert reason in by_key[key]["reason"], by_key[key]
        assert by_key[key]["stream"] == "companies"
        assert by_key[key]["record"] == record
    if max_rejected >= len(BAD):
        assert result.returncode == 0, result.stderr[-2000:]
        assert orjson.loads(result.stdout) == {"bookmarks": {"companies": "done"}}
    else:
        assert result.returncode != 0
        assert result.stdout == ""  # no STATE
        assert f"{len(BAD)} record(s) were rejected, more than max_rejected" in result.stderr


MALFORMED = {
    "record-before-schema": (
        [{"type": "RECORD", "stream": "companies", "record": GOOD[0]}, SCHEMA],
        (
            "Input line 1 (stream 'companies'): A record for stream 'companies' was "
            "encountered before a corresponding schema"
        ),
    ),
    "invalid-json-line": (
        [SCHEMA, {"type": "RECORD", "stream": "companies", "record": GOOD[0]}, "{not json"],
        "Input line 3: Unable to parse line as JSON: {not json",
    ),
    "truncated-json-line": (
        [SCHEMA, '{"type": "RECORD", "stream": "companies", "record": {"externalId": "X'],
        "Input line 2 (stream 'companies'): Unable to parse line as JSON",
    ),
    "unknown-stream": (
        [SCHEMA, {**SCHEMA, "stream": "mystery_table"}],
        "Input line 2 (stream 'mystery_table'): Stream 'mystery_table' matches no Planhat model",
    ),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_a_malformed_stream_fails_the_run_at_once(
    sandbox: SandboxServer, tmp_path: Path, case: str
) -> None:
    messages, expected = MALFORMED[case]
    lines = "".join(
        (m if isinstance(m, str) else orjson.dumps(m).decode()) + "\n"
        for m in [*messages, {"type": "STATE", "value": {"n": 1}}]
    )
    config = target_config(sandbox, tmp_path)

    result = run_cli([TARGET, "--config", write_json(tmp_path / "t.json", config)], stdin=lines)

    assert result.returncode != 0
    assert result.stdout == ""
    assert expected in result.stderr
