"""Run the tap in-process against a sandbox and collect what it wrote."""

from __future__ import annotations

import io
from collections import defaultdict
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from typing import Any

import orjson
from singer_sdk.sinks.core import JSONSchemaValidator

from tap_planhat.tap import TapPlanhat
from tests.sandbox_fixtures import SANDBOX_TOKEN


def strict_validator(schema: dict[str, Any]) -> JSONSchemaValidator:
    """The SDK targets' record validator, strict: formats (``date-time``) checked too.

    jsonschema checks ``date-time`` only with ``rfc3339-validator`` installed (a test
    dependency), so this is as strict as JSON Schema gets.
    """
    return JSONSchemaValidator(schema, validate_formats=True)


def tap_config(sandbox: Any, **overrides: Any) -> dict[str, Any]:
    """A config pointing at ``sandbox`` with fast retries and no pacing."""
    return {
        "api_url": sandbox.url,
        "api_token": SANDBOX_TOKEN,
        "max_requests_per_minute": 0,
        "retry_max_wait_seconds": 0.01,
        "max_retries": 6,
        **overrides,
    }


@dataclass
class TapOutput:
    """The messages of one tap run."""

    records: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    schemas: dict[str, dict[str, Any]] = field(default_factory=dict)
    states: list[dict[str, Any]] = field(default_factory=list)

    def ids(self, stream: str) -> set[str]:
        """The ``_id`` set emitted for ``stream``."""
        return {r["_id"] for r in self.records[stream]}

    @property
    def final_state(self) -> dict[str, Any]:
        """The last STATE value."""
        return self.states[-1] if self.states else {}


def run_tap(
    config: dict[str, Any],
    *,
    state: dict[str, Any] | None = None,
    streams: set[str] | None = None,
    through_catalog: bool = False,
) -> TapOutput:
    """Sync every (or only the named) default-selected stream and parse the output.

    ``through_catalog``: select ``streams`` in a discovered catalog passed to a new tap, as
    Meltano does. The SDK sets up stream maps (and flattening) from the selection the tap
    starts with, so only then is the SCHEMA of a stream selected here (not by default)
    flattened as its records are.
    """
    if through_catalog:
        assert streams is not None
        catalog = TapPlanhat(config=config, parse_env_config=False).catalog_dict
        for entry in catalog["streams"]:
            for item in entry["metadata"]:
                if item["breadcrumb"] == []:
                    item["metadata"]["selected"] = entry["tap_stream_id"] in streams
        tap = TapPlanhat(config=config, state=state, catalog=catalog, parse_env_config=False)
    else:
        tap = TapPlanhat(config=config, state=state, parse_env_config=False)
    if streams is not None and not through_catalog:
        for stream in tap.streams.values():
            stream.selected = stream.name in streams
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        tap.sync_all()
    return parse_singer(buffer.getvalue())


def parse_singer(text: str) -> TapOutput:
    """RECORD, SCHEMA and STATE messages of tap output."""
    output = TapOutput()
    for line in text.splitlines():
        if not line.strip():
            continue
        message = orjson.loads(line)
        if message["type"] == "RECORD":
            output.records[message["stream"]].append(message["record"])
        elif message["type"] == "SCHEMA":
            output.schemas[message["stream"]] = message["schema"]
        elif message["type"] == "STATE":
            output.states.append(message["value"])
    return output
