"""Declared types follow the public evidence: every field shown is declared, none too narrowly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from singer_sdk.exceptions import InvalidRecord
from singer_sdk.sinks.core import JSONSchemaValidator

from planhat_common.evidence import SAME_MODEL, field_evidence, sources
from planhat_common.fieldtypes import FieldType, Shape, parse_shape
from planhat_common.registry import MODELS, get_model
from tap_planhat.schemas import property_schema, stream_schema

ROOT = Path(__file__).resolve().parents[1]
OUR_MODELS = {m.name for m in MODELS}

#: A value of each shape, as Planhat would send it.
SAMPLES: dict[Shape, Any] = {
    Shape.STRING: "text",
    Shape.NUMBER: 31.76,
    Shape.INTEGER: 7,
    Shape.BOOLEAN: True,
    Shape.DATETIME: "2024-01-31T10:00:00.000Z",
    Shape.EPOCH_DAY: 19723,
    Shape.OBJECT: {"id": "x"},
    Shape.ANY: {"any": ["thing"]},
    Shape.STRINGS: ["a", "b"],
    Shape.NUMBERS: [1.5],
    Shape.INTEGERS: [1],
    Shape.BOOLEANS: [False],
    Shape.OBJECTS: [{"k": 1}],
    Shape.ARRAY: ["a", {"k": 1}, 2],
}


def _fits_schema(value: Any, schema: dict[str, Any]) -> bool:
    validator = JSONSchemaValidator(
        {"type": "object", "properties": {"v": schema}}, validate_formats=True
    )
    try:
        validator.validate({"v": value})
    except InvalidRecord:
        return False
    return True


@pytest.mark.parametrize(
    ("words", "declared"),
    [
        (["integer", "number"], "number"),
        (["integer"], "integer"),
        (["string", "date-time"], "date-time"),
        (["string", "date"], "date-time"),
        (["integer", "epoch-day"], "epoch-day"),
        (["string", "object"], "object|string"),
        (["array<string>", "array<object>"], "array<object>|array<string>"),
        (["array<string>", "array<any>"], "array<string>"),
        (["array<any>"], "array<any>"),
        (["any", "boolean"], "boolean"),
        (["any"], "any"),
        (["array<integer>", "array<number>", "string"], "array<number>|string"),
    ],
)
def test_a_declared_type_is_the_normalised_union_of_its_evidence(
    words: list[str], declared: str
) -> None:
    assert str(FieldType.from_evidence(words)) == declared


def test_evidence_files_are_well_formed() -> None:
    assert len(sources()) >= 5
    for source in sources():
        assert source.url.startswith("https://"), source.id
        assert source.title, source.id
        for model, fields in source.fields.items():
            assert source.where[model], (source.id, model)
            for field, words in fields.items():
                assert words, (source.id, model, field)
                for word in words:
                    parse_shape(word)  # raises on a word outside the vocabulary


def _evidence_for_our_models() -> list[tuple[str, str, str, str]]:
    rows = []
    for source in sources():
        for shown_as, fields in source.fields.items():
            model = SAME_MODEL.get(shown_as, shown_as)
            if model in OUR_MODELS:
                rows += [(model, f, source.id, w) for f, words in fields.items() for w in words]
    return rows


def test_every_field_a_source_shows_is_declared_no_narrower_than_shown() -> None:
    too_narrow = []
    rows = _evidence_for_our_models()
    assert len(rows) > 1000
    for model_name, field, source, word in rows:
        model = get_model(model_name)
        schema = stream_schema(model, None)["properties"]
        assert field in model.fields, (model_name, field, source)
        if field == "_id":
            continue  # the primary key: always a string
        declared = model.fields[field].shapes
        shape = parse_shape(word)
        sample = SAMPLES[shape]
        # The documented normalisations (docs/field-types.md): "any"/"array<any>" mean the
        # source gives no type, and "string" beside "date-time" is that timestamp's spelling.
        if shape is Shape.ANY and Shape.ANY not in declared:
            continue
        if shape is Shape.ARRAY and Shape.ARRAY not in declared:
            sample = []
        if shape is Shape.STRING and Shape.DATETIME in declared:
            sample = SAMPLES[Shape.DATETIME]
        if not _fits_schema(sample, schema[field]):
            too_narrow.append((model_name, field, source, word, str(model.fields[field])))
    assert too_narrow == []


def test_integer_only_where_every_source_agrees_on_whole_numbers() -> None:
    for model in MODELS:
        for field, by_source in field_evidence(model.name).items():
            words = {w for ws in by_source.values() for w in ws}
            if Shape.INTEGER in model.fields[field].shapes:
                assert words & {"number"} == set(), (model.name, field, words)


@pytest.mark.parametrize(
    ("model", "field", "value"),
    [
        # What a new user met with records shaped as Airbyte's schemas (built from real
        # tenants) describe them, before the types followed the evidence.
        ("churn", "comment", {"text": "too expensive"}),
        ("users", "image", {"path": "avatars/1.png"}),
        ("workflows", "templateId", {"_id": "t1"}),
        ("companies", "lastActivities", ["call", "email"]),
        ("conversations", "users", ["u1"]),
        ("invoices", "lineItems", ["Core"]),
        ("issues", "companies", ["Acme"]),
        ("opportunities", "stageHistory", ["Demo"]),
        ("endusers", "beats", 31.76),
        ("endusers", "convsTotal", 2.5),
        ("companies", "renewalDaysFromNow", 12.25),
        ("companies", "orgLevel", "2"),
        # Fields Airbyte declared that were not declared before.
        ("tasks", "checklist", ["step one"]),
        ("tasks", "activityTags", ["renewal"]),
        ("users", "arr", 1200.5),
        ("users", "nrOpenTasks", 3),
        ("users", "permissions", ["admin"]),
        ("users", "createAt", "2024-01-01T00:00:00.000Z"),
        ("issues", "endusers", ["e1"]),
        ("tickets", "history", ["opened"]),
        ("tickets", "companyExternalId", "ACME-1"),
    ],
)
def test_shapes_real_tenants_send_are_declared(model: str, field: str, value: Any) -> None:
    schema = stream_schema(get_model(model), None)["properties"]
    assert field in schema
    assert _fits_schema(value, schema[field])


def test_property_schemas_of_unions_list_every_json_type() -> None:
    schema = property_schema(FieldType.of(Shape.STRING, Shape.OBJECT))
    assert schema["type"] == ["string", "object", "null"]
    schema = property_schema(FieldType.of(Shape.STRINGS, Shape.OBJECTS))
    assert schema["type"] == ["array", "null"]
    assert schema["items"]["type"] == ["string", "object", "null"]
    schema = property_schema(FieldType.of(Shape.DATETIME))
    assert schema == {"type": ["string", "null"], "format": "date-time"}


def test_field_docs_are_current() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "field_docs.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
