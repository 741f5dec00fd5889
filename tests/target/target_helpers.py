"""Helpers for target tests: config pointing at the sandbox, Singer messages, running the target."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from target_planhat.target import TargetPlanhat
from tests.sandbox_fixtures import SANDBOX_TENANT_TOKEN, SANDBOX_TOKEN

if TYPE_CHECKING:
    from planhat_sandbox.server import SandboxServer


def sandbox_config(sandbox: SandboxServer, tmp_path: Path, **extra: Any) -> dict[str, Any]:
    """Target config for ``sandbox``: no pacing, tiny retry waits, a dead letter under tmp."""
    return {
        "api_token": SANDBOX_TOKEN,
        "tenant_token": SANDBOX_TENANT_TOKEN,
        "api_url": sandbox.url,
        "analytics_url": sandbox.analytics_url,
        "max_requests_per_minute": 0,
        "retry_max_wait_seconds": 0.05,
        "max_retries": 3,
        "dead_letter_path": str(tmp_path / "dead_letter.jsonl"),
        "push_ledger_path": str(tmp_path / "push_ledger.jsonl"),
        "sync_ledger_path": str(tmp_path / "sync_ledger"),
        **extra,
    }


def schema(stream: str, properties: dict[str, Any] | None = None, keys: list[str] | None = None):
    props = properties or {}
    return {
        "type": "SCHEMA",
        "stream": stream,
        "schema": {"type": "object", "properties": props, "additionalProperties": True},
        "key_properties": keys or [],
    }


def record(stream: str, rec: dict[str, Any]) -> dict[str, Any]:
    return {"type": "RECORD", "stream": stream, "record": rec}


def state(value: dict[str, Any]) -> dict[str, Any]:
    return {"type": "STATE", "value": value}


def singer_lines(messages: list[dict[str, Any]]) -> str:
    return "".join(orjson.dumps(m).decode() + "\n" for m in messages)


def run_target(config: dict[str, Any], messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run the target in-process; return the JSON lines it wrote to stdout (STATE values)."""
    target = TargetPlanhat(config=config, parse_env_config=False)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        target.listen(io.StringIO(singer_lines(messages)))
    return [orjson.loads(line) for line in out.getvalue().splitlines() if line.strip()]


def dead_letters(config: dict[str, Any]) -> list[dict[str, Any]]:
    path = Path(config["dead_letter_path"])
    if not path.exists():
        return []
    return [orjson.loads(line) for line in path.read_text().splitlines()]


def writes(sandbox: SandboxServer) -> list[dict[str, Any]]:
    """Logged requests that write (anything but GET)."""
    return [r for r in sandbox.requests_log() if r["method"] != "GET"]


def by_field(sandbox: SandboxServer, model: str, field: str) -> dict[Any, dict[str, Any]]:
    return {r.get(field): r for r in sandbox.records(model)}


def summary_rows(caplog: Any) -> dict[str, dict[str, str]]:
    """The last load summary's rows, by stream, as {column: cell}."""
    summary = [r.message for r in caplog.records if "load summary" in r.message][-1]
    lines = summary.splitlines()
    header = lines[1].split()
    rows = {}
    for line in lines[3:]:
        cells = line.split()
        if not cells:
            continue
        if cells[0] == "TOTAL":
            cells = [cells[0], "-", "-", *cells[1:]]
        rows[cells[0]] = dict(zip(header, cells, strict=True))
    return rows
