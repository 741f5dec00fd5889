"""Discovery: every readable model is a stream, typed, with custom fields from /customfields."""

from __future__ import annotations

from typing import Any

from planhat_common.registry import CUSTOM_FIELD_TYPES, readable_models
from planhat_common.rescued import RESCUED
from tap_planhat.schemas import property_schema
from tap_planhat.tap import TapPlanhat
from tests.tap.helpers import run_tap, strict_validator, tap_config


def test_discovery_lists_every_readable_model(sandbox: Any) -> None:
    tap = TapPlanhat(config=tap_config(sandbox), parse_env_config=False)
    expected = {m.name for m in readable_models()}
    assert set(tap.streams) == expected
    assert tap.streams["companies"].replication_key == "updatedAt"
    assert tap.streams["invoices"].replication_key == "lastUpdated"
    assert tap.streams["licenses"].replication_key is None
    assert all(s.primary_keys == ("_id",) for s in tap.streams.values())
    assert not tap.streams["dimension_data"].selected


def test_custom_fields_are_typed_from_definitions(sandbox: Any) -> None:
    definitions = sandbox.records("custom_fields")
    tap = TapPlanhat(config=tap_config(sandbox), parse_env_config=False)
    seen_types = set()
    for definition in definitions:
        stream = next(m.name for m in readable_models() if m.planhat_name == definition["parent"])
        custom = tap.streams[stream].schema["properties"]["custom"]
        planhat_type = definition["type"]
        seen_types.add(planhat_type)
        expected = property_schema(CUSTOM_FIELD_TYPES[planhat_type])
        assert custom["properties"][definition["name"]] == expected, definition
    assert seen_types == set(CUSTOM_FIELD_TYPES)


def test_typed_custom_fields_off_keeps_custom_open(sandbox: Any) -> None:
    tap = TapPlanhat(config=tap_config(sandbox, typed_custom_fields=False), parse_env_config=False)
    custom = tap.streams["companies"].schema["properties"]["custom"]
    assert custom["properties"] == {}
    assert custom["additionalProperties"] is True
    assert not any(r["path"] == "/customfields" for r in sandbox.requests_log())


def test_records_carry_typed_custom_values(sandbox: Any) -> None:
    output = run_tap(tap_config(sandbox), streams={"companies"})
    schema = output.schemas["companies"]
    validator = strict_validator(schema)
    custom_schema = schema["properties"]["custom"]["properties"]
    checked = 0
    for record in output.records["companies"]:
        validator.validate(record)
        checked += sum(
            1
            for name, value in (record.get("custom") or {}).items()
            if name in custom_schema and value is not None
        )
    assert checked > 0


def test_inconsistent_values_are_converted_or_rescued_with_a_warning(
    sandbox: Any, caplog: Any
) -> None:
    ids = sorted(r["_id"] for r in sandbox.records("companies"))
    sandbox.touch("companies", ids[:1], {"mrr": "1250.5", "h": "not a number"})
    output = run_tap(tap_config(sandbox), streams={"companies"})
    record = next(r for r in output.records["companies"] if r["_id"] == ids[0])
    assert record["mrr"] == 1250.5
    assert record["h"] is None
    assert record[RESCUED]["h"] == "not a number"
    assert any("'h'" in m and ids[0] in m for m in caplog.messages)
