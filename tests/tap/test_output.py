"""The tap's Singer lines say what the SDK's serialiser would say, whatever the message holds."""

from __future__ import annotations

import datetime as dt
import decimal
import io
import json
from contextlib import redirect_stdout
from typing import Any

import pytest
from singer_sdk.singerlib import RecordMessage, StateMessage
from singer_sdk.singerlib.json import serialize_json

from tap_planhat.output import FastSingerWriter, serialize_line

EXTRACTED = dt.datetime(2024, 3, 1, 12, 30, tzinfo=dt.UTC)

MESSAGES: list[Any] = [
    {"type": "RECORD", "stream": "s", "record": {"a": 1, "b": "x", "c": [1.5, None, True]}},
    {"type": "RECORD", "stream": "s", "record": {"when": EXTRACTED, "day": dt.date(2024, 3, 1)}},
    {"record": {"exact": decimal.Decimal("31.760"), "nan": decimal.Decimal("NaN")}},
    {"record": {"big": 2**70, "small": -(2**70)}},  # beyond orjson's 64 bits
    # Keys that are not strings: records parsed from JSON never have them, but a message
    # that does is still written, as the SDK writes it.
    {"record": {1: "one", False: "no", None: "nothing", 2.5: "half"}},
    {"record": {"nested": {7: [1, {"k": 2**65}]}}},
]


@pytest.mark.parametrize("message", MESSAGES)
def test_a_line_says_what_the_sdk_serialiser_says(message: Any) -> None:
    line = serialize_line(message)
    assert line.endswith(b"\n")
    assert line.count(b"\n") == 1
    assert json.loads(line) == json.loads(serialize_json(message))


def test_records_wait_in_a_block_and_a_state_writes_them_first() -> None:
    writer = FastSingerWriter()
    out = io.StringIO()
    with redirect_stdout(out):
        writer.write_message(
            RecordMessage(stream="s", record={"_id": "a"}, time_extracted=EXTRACTED)
        )
        assert out.getvalue() == ""  # held back, as a block
        writer.write_message(StateMessage(value={"bookmarks": {}}))
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["type"] for line in lines] == ["RECORD", "STATE"]
    assert lines[0]["record"] == {"_id": "a"}
    assert lines[0]["time_extracted"] == EXTRACTED.isoformat()
