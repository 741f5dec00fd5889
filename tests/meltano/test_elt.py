"""`meltano run tap-planhat target-duckdb`: the README's main job, with state across runs."""

from __future__ import annotations

import json
from typing import Any

import duckdb
import pytest

from planhat_common.registry import readable_models

pytestmark = pytest.mark.meltano

DEFAULT_STREAMS = [m.name for m in readable_models() if m.selected_by_default]


def table_ids(path: str, table: str, where: str = "") -> set[str]:
    with duckdb.connect(path, read_only=True) as con:
        query = f'select "_id" from tap_planhat."{table}" {where}'  # noqa: S608 - test's own names
        return {row[0] for row in con.execute(query).fetchall()}


def test_every_stream_lands_in_duckdb_and_reruns_are_incremental(
    meltano: Any, sandbox: Any
) -> None:
    path = meltano.env["TARGET_DUCKDB_PATH"]
    meltano("run", "tap-planhat", "target-duckdb")
    for stream in DEFAULT_STREAMS:
        expected = {r["_id"] for r in sandbox.records(stream)}
        assert table_ids(path, stream) == expected, stream

    state = json.loads(meltano("state", "get", "dev:tap-planhat-to-target-duckdb").stdout)
    assert "companies" in state["singer_state"]["bookmarks"]

    changed = sorted(r["_id"] for r in sandbox.records("companies"))[:2]
    sandbox.touch("companies", changed, {"city": "Reykjavik"})
    sandbox.clear_log()
    meltano("run", "tap-planhat", "target-duckdb")

    assert table_ids(path, "companies", "where city = 'Reykjavik'") == set(changed)
    company_pages = [
        r for r in sandbox.requests_log() if r["path"] == "/companies" and r["method"] == "GET"
    ]
    assert len(company_pages) == 1, "the second run should stop at the bookmark"
