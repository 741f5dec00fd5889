"""With flattening on, every key of every record is a column of its SCHEMA, and nothing is lost.

Over real HTTP from the sandbox, every stream selected through a catalog (as Meltano does):
every declared field of every stream planted with a value of every JSON type, plus fields no
schema declares, at the top level and among custom fields (as real tenants and Airbyte-shaped
data have them). Each flattened record must have only keys of its flattened SCHEMA and
validate strictly against it, and must read back, unflattened, as exactly the record the tap
emits without flattening: the fields the SCHEMA lacks from ``_rescued_data``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from planhat_common.errors import SettingsError
from planhat_common.registry import readable_models
from planhat_common.rescued import CUSTOM, RESCUED
from tap_planhat.tap import TapPlanhat
from tests.tap.helpers import run_tap, strict_validator, tap_config
from tests.tap.test_schema_fidelity import PROBES, plant_probes

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.sandbox_fixtures import SandboxServer

STREAMS = {m.name for m in readable_models()}
SEPARATOR = "__"  # the SDK's default flattening_separator
#: Undeclared fields planted in every stream: the top level, and among custom fields.
UNDECLARED = "brandNewField"
UNDECLARED_CUSTOM = "Undeclared Custom"


def _types(schema: dict[str, Any]) -> set[str]:
    kind = schema.get("type", [])
    return {kind} if isinstance(kind, str) else set(kind)


def _split(schema: dict[str, Any], level: int, depth: int) -> bool:
    """Whether a property of the unflattened SCHEMA is flattened into one column per item."""
    return (
        level < depth
        and bool(schema.get("properties"))
        and "object" in _types(schema)
        and _types(schema) <= {"object", "null"}
    )


def unflatten(
    flat: dict[str, Any], properties: dict[str, Any], depth: int, prefix: str = "", level: int = 0
) -> dict[str, Any]:
    """A flattened record read back into the shape of the unflattened SCHEMA's ``properties``.

    Objects and arrays that became one column are JSON text there; parsed back.
    """
    record: dict[str, Any] = {}
    for name, prop in properties.items():
        key = prefix + name
        if _split(prop, level, depth):
            inner = unflatten(flat, prop["properties"], depth, key + SEPARATOR, level + 1)
            if inner:
                record[name] = inner
        elif key in flat:
            value = flat[key]
            types = _types(prop)
            if isinstance(value, str) and types & {"object", "array"} and "string" not in types:
                value = json.loads(value)
            record[name] = value
    return record


def restore_undeclared(record: dict[str, Any], properties: dict[str, Any]) -> dict[str, Any]:
    """Put the fields the SCHEMA lacks back from ``_rescued_data`` (unflattened already)."""
    rescued = record.pop(RESCUED, None) or {}
    for name in list(rescued):
        if name not in properties:
            record[name] = rescued.pop(name)
        elif name == CUSTOM and isinstance(rescued[name], dict) and CUSTOM in properties:
            declared = properties[CUSTOM].get("properties", {})
            custom = rescued[name]
            for inner in [k for k in custom if k not in declared]:
                record.setdefault(CUSTOM, {})[inner] = custom.pop(inner)
            if not custom:
                del rescued[name]
    if rescued:
        record[RESCUED] = rescued
    return record


def comparable(record: dict[str, Any]) -> dict[str, Any]:
    """An unflattened record: a null or empty object that is split into columns is no column."""
    return {k: v for k, v in record.items() if not (k == CUSTOM and not v)}


def _plant_undeclared(data: dict[str, Any]) -> set[str]:
    """Add, to one record of every stream, undeclared fields holding a value of every type."""
    planted: set[str] = set()
    for model in readable_models():
        collection = data["collections"][model.name]
        for index, value in enumerate(PROBES.values()):
            record = collection[index % len(collection)]
            record[f"{UNDECLARED}{index}"] = value
            custom = record.get(CUSTOM)
            record[CUSTOM] = {**(custom if isinstance(custom, dict) else {})}
            record[CUSTOM][f"{UNDECLARED_CUSTOM} {index}"] = value
            planted.add(record["_id"])
    return planted


def test_flattened_records_hold_only_schema_columns_and_lose_nothing(
    sandbox_factory: Callable[..., SandboxServer],
) -> None:
    sandbox = sandbox_factory(records=3)
    data = sandbox.dump()
    plant_probes(data)
    with_undeclared = _plant_undeclared(data)
    sandbox.load(data)
    config = tap_config(sandbox, page_size=2000)

    # Flattening writes fields of several JSON types as JSON text: so does the reference.
    reference = run_tap(
        {**config, "unions_as_json_text": True}, streams=STREAMS, through_catalog=True
    )
    for depth in (1, 2):
        flat = run_tap(
            {**config, "flattening_enabled": True, "flattening_max_depth": depth},
            streams=STREAMS,
            through_catalog=True,
        )
        assert set(flat.records) == set(reference.records)
        assert len(flat.records) >= len(STREAMS) - 1  # all, but maybe the dimension window
        for stream, records in flat.records.items():
            schema = flat.schemas[stream]
            columns = set(schema["properties"])
            validator = strict_validator(schema)
            properties = reference.schemas[stream]["properties"]
            expected = {r["_id"]: comparable(r) for r in reference.records[stream]}
            assert len(records) == len(expected), (depth, stream)
            for record in records:
                assert set(record) <= columns, (depth, stream, sorted(set(record) - columns))
                validator.validate(record)
                read_back = restore_undeclared(unflatten(record, properties, depth), properties)
                assert comparable(read_back) == expected[record["_id"]], (depth, stream)
        # The undeclared fields planted went into _rescued_data, not into keys of their own.
        companies = {r["_id"]: r for r in flat.records["companies"]}
        kept = [json.loads(companies[i][RESCUED]) for i in with_undeclared if i in companies]
        assert any(f"{UNDECLARED}0" in k for k in kept)
        assert any(f"{UNDECLARED_CUSTOM} 0" in k.get(CUSTOM, {}) for k in kept)


def test_the_issue_s_keys_are_columns_or_gone(sandbox: SandboxServer) -> None:
    # What a new user met with target-csv: keys of companies outside the flattened SCHEMA.
    config = tap_config(sandbox, flattening_enabled=True, flattening_max_depth=1)
    output = run_tap(config, streams={"companies"}, through_catalog=True)

    columns = set(output.schemas["companies"]["properties"])
    assert {"usage", "features", "owner", "lastActivities", RESCUED} <= columns
    assert not {c for c in columns if c.startswith((f"usage{SEPARATOR}", f"{RESCUED}{SEPARATOR}"))}
    assert any(c.startswith(f"{CUSTOM}{SEPARATOR}") for c in columns)  # typed custom fields
    keys = {k for r in output.records["companies"] for k in r}
    assert keys <= columns
    assert CUSTOM not in keys


@pytest.mark.parametrize("depth", [1, 3])
def test_a_catalog_discovered_without_flattening_fails_clearly(
    sandbox: SandboxServer, depth: int
) -> None:
    catalog = TapPlanhat(config=tap_config(sandbox), parse_env_config=False).catalog_dict
    config = tap_config(sandbox, flattening_enabled=True, flattening_max_depth=depth)

    with pytest.raises(SettingsError, match=r"discovered with other flattening settings") as err:
        TapPlanhat(config=config, catalog=catalog, parse_env_config=False).streams  # noqa: B018
    assert "--refresh-catalog" in str(err.value)


def test_without_a_depth_nothing_is_flattened_or_moved(sandbox: SandboxServer) -> None:
    # The SDK flattens only with a depth above 0: then neither does the tap reshape records.
    config = tap_config(sandbox, flattening_enabled=True, flattening_max_depth=0)
    output = run_tap(config, streams={"companies"}, through_catalog=True)

    record = output.records["companies"][0]
    assert isinstance(record.get(CUSTOM), dict)
    assert "usage" in output.schemas["companies"]["properties"]
