"""The target's performance paths change nothing but speed.

Fast validation gives jsonschema's verdicts; orjson input parsing gives the SDK's messages
(floats for Decimals).
"""

from __future__ import annotations

import decimal

import pytest
from singer_sdk.exceptions import InvalidRecord
from singer_sdk.io_base import SingerReader
from singer_sdk.sinks.core import JSONSchemaValidator

from target_planhat.mapping.validation import (
    FastValidator,
    FlaggingValidator,
    RecordFlags,
    compile_schema,
)
from target_planhat.reader import FastSingerReader

SCHEMAS = [
    {"type": "object", "properties": {"a": {"type": ["string", "null"]}}},
    {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]},
    {"type": "object", "properties": {"n": {"type": ["number", "null"]}}},
    {"type": "object", "properties": {"b": {"type": "boolean"}}, "additionalProperties": False},
    {
        "type": "object",
        "properties": {
            "tags": {"type": ["array", "null"], "items": {"type": "string"}},
            "owner": {
                "type": ["object", "null"],
                "properties": {"id": {"type": "string"}},
                "additionalProperties": {"type": "string"},
            },
            "when": {"type": ["string", "null"], "format": "date-time"},
            "kind": {"enum": ["a", "b", None]},
            "either": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
            "both": {"allOf": [{"type": "number"}, {"minimum": 0}]},
            "pattern": {"type": "string", "pattern": "^x"},
        },
    },
]
VALUES = [
    None,
    True,
    False,
    0,
    1,
    3.0,
    2.5,
    decimal.Decimal("1.5"),
    decimal.Decimal(4),
    "x",
    "yes",
    "2024-01-01T00:00:00Z",
    [],
    ["a", 1],
    ["a"],
    {},
    {"id": "u1"},
    {"id": 1},
    {"id": "u1", "nick": 2},
]
FIELDS = ["a", "n", "b", "tags", "owner", "when", "kind", "either", "both", "pattern", "extra"]


def _verdict(validator: JSONSchemaValidator | FastValidator, data: dict) -> bool:
    try:
        validator.validate(data)
    except InvalidRecord:
        return False
    return True


@pytest.mark.parametrize("index", range(len(SCHEMAS)))
def test_fast_validation_gives_jsonschemas_verdicts(index: int) -> None:
    full = JSONSchemaValidator(SCHEMAS[index])
    fast = FastValidator(SCHEMAS[index])
    checked = 0
    for field in FIELDS:
        for value in VALUES:
            data = {field: value}
            assert _verdict(fast, data) == _verdict(full, data), (field, value)
            checked += 1
    assert _verdict(fast, {}) == _verdict(full, {})
    assert checked == len(FIELDS) * len(VALUES)


def test_fast_path_takes_valid_records_without_jsonschema() -> None:
    check = compile_schema(SCHEMAS[4])
    assert check({"a": "x", "tags": ["t"], "owner": {"id": "u"}, "when": "2024", "kind": "a"})
    assert not check({"pattern": "x"})  # an unhandled keyword: left to jsonschema


def test_orjson_reader_reads_what_the_sdk_reader_reads() -> None:
    line = '{"type":"RECORD","stream":"s","record":{"n":1,"x":1.25,"s":"\\u00e9","l":[null]}}'
    fast, sdk = FastSingerReader().deserialize_json(line), SingerReader().deserialize_json(line)
    assert fast == {**sdk, "record": {**sdk["record"], "x": 1.25}}
    assert sdk["record"]["x"] == decimal.Decimal("1.25")


def test_a_flag_is_kept_beside_its_record_and_taken_once() -> None:
    flags = RecordFlags()
    validator = FlaggingValidator(
        {"type": "object", "properties": {"n": {"type": "integer"}}}, flags, check_formats=False
    )
    bad, good = {"n": "x"}, {"n": 1}
    validator.validate(bad)
    flags.flag(bad, "missing key properties: id", added=["id"])
    bad["id"] = None  # as the sink fills a missing key property for the SDK's check
    validator.validate(good)

    assert flags.take(good) is None  # a flag is never another record's
    assert bad == {"n": "x", "id": None}  # nothing but the filled column went in
    validator.validate(bad)
    flags.flag(bad, "missing key properties: id", added=["id"])
    reason, received = flags.take(bad) or ("", {})
    assert reason.startswith("does not match the stream's schema")  # the first reason stands
    assert received == {"n": "x"}
    assert flags.take(bad) is None
