"""One spelling for every date-time the tap emits: UTC to the microsecond, ``+00:00``.

Planhat spells timestamps ``...SS.mmmZ`` (and loosely as epochs or dates); the SDK writes its
bookmark signpost ``...SS.ffffff+00:00``. Loaders that store text (CSV, JSONL) and bookmarks,
compared as strings, both need one spelling in one column.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

from planhat_common.registry import readable_models
from tap_planhat.conversions import canonical_timestamp
from tests.tap.helpers import run_tap, tap_config
from tests.tap.test_schema_fidelity import plant_probes

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from tests.sandbox_fixtures import SandboxServer

CANONICAL = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00")


def timestamps(value: Any, schema: dict[str, Any]) -> Iterator[Any]:
    """Every value of ``value`` that ``schema`` declares ``date-time``, nested ones too."""
    if value is None:
        return
    if schema.get("format") == "date-time" and not isinstance(value, (list, dict)):
        yield value
    if isinstance(value, dict):
        for name, inner in value.items():
            if name in schema.get("properties", {}):
                yield from timestamps(inner, schema["properties"][name])
    if isinstance(value, list) and "items" in schema:
        for item in value:
            yield from timestamps(item, schema["items"])


def test_every_date_time_of_every_stream_has_one_spelling(
    sandbox_factory: Callable[..., SandboxServer],
) -> None:
    # The real-world-shaped seed (epochs, dates and Planhat's own spelling), plus every
    # declared field planted with a value of every type and the loose spellings.
    sandbox = sandbox_factory(records=3)
    data = sandbox.dump()
    plant_probes(data)
    sandbox.load(data)
    streams = {m.name for m in readable_models()}

    output = run_tap(tap_config(sandbox, page_size=2000), streams=streams, through_catalog=True)

    seen = 0
    for stream, records in output.records.items():
        schema = output.schemas[stream]
        for record in records:
            for value in timestamps(record, schema):
                seen += 1
                assert isinstance(value, str), (stream, record["_id"], value)
                assert CANONICAL.fullmatch(value), (stream, record["_id"], value)
    assert seen > 1000
    for stream, bookmark in output.final_state["bookmarks"].items():
        value = bookmark.get("replication_key_value")
        assert value is None or CANONICAL.fullmatch(value), (stream, value)


def test_the_spelling_names_the_same_instant_and_keeps_time_order() -> None:
    spelled = {
        "2023-01-01T16:34:00.000Z": "2023-01-01T16:34:00.000000+00:00",
        "2023-01-01T16:50:34.947000+00:00": "2023-01-01T16:50:34.947000+00:00",
        "2023-01-01T18:50:34+02:00": "2023-01-01T16:50:34.000000+00:00",
        "2023-01-01T11:50:34.5-05:30": "2023-01-01T17:20:34.500000+00:00",
        "2024-02-29T23:59:59.999999Z": "2024-02-29T23:59:59.999999+00:00",
        "2024-03-01T12:30:00.1230000Z": "2024-03-01T12:30:00.123000+00:00",
    }
    for value, canonical in spelled.items():
        assert canonical_timestamp(value) == canonical, value
        instant = dt.datetime.fromisoformat(value)
        assert dt.datetime.fromisoformat(canonical) == instant, value
    ordered = sorted(spelled, key=dt.datetime.fromisoformat)
    assert [spelled[v] for v in ordered] == sorted(spelled.values())


def test_an_instant_the_spelling_cannot_hold_keeps_its_own() -> None:
    # Below a microsecond, or moved out of years 1-9999 by the offset: never changed in meaning.
    for value in ("2024-03-01T12:30:00.1234567Z", "0001-01-01T00:30:00+01:00"):
        assert canonical_timestamp(value) == value


def test_a_bookmark_from_before_still_compares_with_new_values(sandbox: SandboxServer) -> None:
    # State written by earlier versions already uses this spelling (the SDK's signpost).
    config = tap_config(sandbox, lookback_minutes=0)
    first = run_tap(config, streams={"companies"})
    bookmark = first.final_state["bookmarks"]["companies"]["replication_key_value"]
    assert CANONICAL.fullmatch(bookmark)
    newest = max(r["updatedAt"] for r in first.records["companies"])
    assert bookmark == newest

    second = run_tap(config, state=first.final_state, streams={"companies"})
    assert {r["updatedAt"] for r in second.records["companies"]} == {newest}
