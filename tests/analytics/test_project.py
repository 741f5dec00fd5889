"""The dbt project's files against the registry: no dbt, no database (fast).

Staging models read each documented column from the Planhat field it names, cast to its
data_type (macro planhat_staging): so the columns must name fields the registry declares, with
a conversion that fits the field's declared type. Every model and column is documented.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from planhat_common.fieldtypes import FieldType, Shape
from planhat_common.registry import get_model, readable_models

PROJECT = Path(__file__).resolve().parents[2] / "analytics"
MODELS = PROJECT / "models"


def documented_models() -> dict[str, dict[str, Any]]:
    """Model name -> its schema.yml entry, over every yml file of the project."""
    models: dict[str, dict[str, Any]] = {}
    for path in MODELS.rglob("*.yml"):
        for model in yaml.safe_load(path.read_text()).get("models", []):
            assert model["name"] not in models, f"{model['name']} documented twice"
            models[model["name"]] = model
    return models


def camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part.capitalize() for part in rest)


def allowed(field_type: FieldType) -> set[tuple[str, str]]:
    """(data_type, kind) pairs that read a field of ``field_type`` without losing values."""
    shapes = field_type.shapes
    if shapes == {Shape.EPOCH_DAY}:
        return {("date", "epoch_day")}
    if shapes == {Shape.EPOCH_DAY, Shape.STRING}:
        return {("date", "loose_epoch_day")}
    if field_type.is_union:
        if shapes & {Shape.OBJECT, Shape.ANY} or field_type.items:
            return {("text", "user_ref"), ("json", "json"), ("text", "json_text")}
        return {("text", "json_text")}
    (shape,) = shapes
    if shape.is_array or shape is Shape.OBJECT:
        return {("json", "json")}
    return {
        Shape.STRING: {("text", "text")},
        Shape.NUMBER: {("numeric", "numeric")},
        Shape.INTEGER: {("bigint", "bigint"), ("numeric", "numeric")},
        Shape.BOOLEAN: {("boolean", "boolean")},
        Shape.DATETIME: {("timestamp", "timestamp")},
    }[shape]


def test_every_model_and_column_is_documented() -> None:
    documented = documented_models()
    files = {path.stem for path in MODELS.rglob("*.sql")}
    assert files == set(documented)
    for name, model in documented.items():
        assert model.get("description"), name
        assert model.get("columns"), name
        for column in model["columns"]:
            assert column.get("description"), (name, column["name"])


def test_one_staging_model_and_source_table_per_stream() -> None:
    streams = {model.name for model in readable_models()}
    staged = {p.stem.removeprefix("stg_planhat__") for p in MODELS.glob("staging/stg_*.sql")}
    assert staged == streams, "add or remove a staging model (analytics/models/staging)"
    source = yaml.safe_load((MODELS / "staging" / "src_planhat.yml").read_text())
    assert {t["name"] for t in source["sources"][0]["tables"]} == streams


@pytest.mark.parametrize("stream", sorted(m.name for m in readable_models()))
def test_staging_columns_read_registry_fields_with_a_fitting_type(stream: str) -> None:
    model = documented_models()[f"stg_planhat__{stream}"]
    fields = get_model(stream).fields
    for column in model["columns"]:
        meta = column.get("meta") or {}
        if meta.get("derived"):
            continue
        field = meta.get("field") or camel(column["name"])
        assert field in fields, f"{stream}: {column['name']} reads {field}, not in the registry"
        pair = (column["data_type"], meta.get("kind") or column["data_type"])
        assert pair in allowed(fields[field]), (stream, column["name"], str(fields[field]), pair)
    ids = [c for c in model["columns"] if (c.get("meta") or {}).get("field") == "_id"]
    assert len(ids) == 1
    assert set(ids[0]["data_tests"]) == {"unique", "not_null"}
