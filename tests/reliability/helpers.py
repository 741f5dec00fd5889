"""Shared pieces of the reliability tests: tap and target runs, baselines, sandbox snapshots."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from contextlib import redirect_stdout
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from planhat_common.registry import readable_models
from planhat_sandbox.server import SandboxServer
from tap_planhat.tap import TapPlanhat
from tests.sandbox_fixtures import SANDBOX_TENANT_TOKEN, SANDBOX_TOKEN
from tests.tap.helpers import TapOutput, parse_singer

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

BIN = Path(sys.executable).parent
TAP = str(BIN / "tap-planhat")
TARGET = str(BIN / "target-planhat")
DEFAULT_STREAMS = sorted(m.name for m in readable_models() if m.selected_by_default)
#: Fields the sandbox stamps with the wall clock; everything else must match a clean load.
CLOCK_FIELDS = frozenset({"createdAt", "createDate", "updatedAt", "lastUpdated", "receivedAt"})
#: Attempts per call in every reliability config: a burst of this many exhausts the budget.
MAX_RETRIES = 4
#: Seconds a run waits for an answer when nothing is meant to stall: generous, because a busy
#: 2-core CI machine serving ten pages at once can take well over a second to answer one, and
#: a spurious timeout there spends a retry the fault under test was counting on.
REQUEST_TIMEOUT = 10.0
#: Under a stall fault: the client gives up after STALL_TIMEOUT seconds, and the stall lasts
#: STALL_MS, far enough past it that a slow machine cannot answer within the timeout either.
STALL_TIMEOUT = 1.0
STALL_MS = 3_000


def timeout_for(faults: dict[str, Any]) -> dict[str, Any]:
    """Config overrides for a run under ``faults``: the short timeout only where a call stalls."""
    return {"request_timeout": STALL_TIMEOUT} if faults.get("stall") else {}


def tap_config(sandbox: SandboxServer, **overrides: Any) -> dict[str, Any]:
    """Tap config for ``sandbox``: tiny retry waits, no pacing, several pages per stream."""
    return {
        "api_url": sandbox.url,
        "api_token": sandbox.token,
        "max_requests_per_minute": 0,
        "retry_max_wait_seconds": 0.01,
        "max_retries": MAX_RETRIES,
        "request_timeout": REQUEST_TIMEOUT,
        "page_size": 7,
        **overrides,
    }


def target_config(sandbox: SandboxServer, tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    """Target config for ``sandbox``: tiny retry waits, no pacing, a dead letter under tmp."""
    return {
        "api_url": sandbox.url,
        "analytics_url": sandbox.analytics_url,
        "api_token": sandbox.token,
        "tenant_token": sandbox.tenant_token,
        "max_requests_per_minute": 0,
        "retry_max_wait_seconds": 0.01,
        "max_retries": MAX_RETRIES,
        "request_timeout": REQUEST_TIMEOUT,
        "dead_letter_path": str(tmp_path / "dead_letter.jsonl"),
        "push_ledger_path": str(tmp_path / "push_ledger.jsonl"),
        "sync_ledger_path": str(tmp_path / "sync_ledger"),
        **overrides,
    }


def run_tap(
    config: dict[str, Any],
    *,
    state: dict[str, Any] | None = None,
    before_sync: Callable[[], object] | None = None,
) -> TapOutput:
    """Sync every default stream in-process; ``before_sync`` runs after discovery."""
    tap = TapPlanhat(config=config, state=state, parse_env_config=False)
    _ = tap.streams
    if before_sync is not None:
        before_sync()
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        tap.sync_all()
    return parse_singer(buffer.getvalue())


def records_by_id(output: TapOutput) -> dict[str, dict[str, dict[str, Any]]]:
    """Emitted records per stream, by ``_id``: what two runs must agree on, field by field."""
    return {stream: {r["_id"]: r for r in recs} for stream, recs in output.records.items() if recs}


def ids(output: TapOutput) -> dict[str, set[str]]:
    """Emitted ``_id`` sets per stream (streams that emitted nothing are left out)."""
    return {stream: {r["_id"] for r in recs} for stream, recs in output.records.items() if recs}


@cache
def clean_full_records() -> dict[str, dict[str, dict[str, Any]]]:
    """Records of a fault-free full sync per stream, by ``_id``."""
    with SandboxServer(token=SANDBOX_TOKEN, tenant_token=SANDBOX_TENANT_TOKEN) as sandbox:
        return records_by_id(run_tap(tap_config(sandbox)))


@cache
def clean_full_sync() -> tuple[dict[str, set[str]], dict[str, Any]]:
    """``_id`` sets and final state of a fault-free full sync (the seeded sandbox is the same
    for every test: same seed, same ids, same timestamps)."""
    with SandboxServer(token=SANDBOX_TOKEN, tenant_token=SANDBOX_TENANT_TOKEN) as sandbox:
        output = run_tap(tap_config(sandbox))
        assert not sandbox.faults()["status_burst"]
        return ids(output), output.final_state


def snapshot(sandbox: SandboxServer, *, by_key: bool = False) -> dict[str, Any]:
    """The sandbox's data without wall-clock stamps: two identical loads compare equal.

    ``by_key``: name records by their keys (externalId, email, sourceId) instead of ``_id``,
    in every reference too, for loads whose creates may have drawn different ids.
    """
    dump = sandbox.dump()
    names: dict[str, str] = {}
    if by_key:
        for model, records in dump["collections"].items():
            for r in records:
                key = r.get("externalId") or r.get("email") or r.get("sourceId") or r["_id"]
                names[r["_id"]] = f"{model}:{key}"

    def name(value: Any) -> Any:
        if isinstance(value, str):
            return names.get(value, value)
        if isinstance(value, list):
            return [name(v) for v in value]
        return value

    def strip(record: dict[str, Any]) -> dict[str, Any]:
        return {k: name(v) for k, v in record.items() if k not in CLOCK_FIELDS}

    collections = {
        model: sorted((strip(r) for r in records), key=lambda r: str(r["_id"]))
        for model, records in dump["collections"].items()
    }
    activities = sorted(
        (strip(a) for a in dump["activities"]),
        key=lambda a: orjson.dumps(a, option=orjson.OPT_SORT_KEYS),
    )
    return {"collections": collections, "activities": activities, "ids": dump["id_counter"]}


def diff(clean: dict[str, Any], other: dict[str, Any]) -> list[str]:
    """Readable differences between two snapshots (empty when identical)."""
    problems = []
    for name in sorted(set(clean["collections"]) | set(other["collections"])):
        a = clean["collections"].get(name, [])
        b = other["collections"].get(name, [])
        if a != b:
            a_ids, b_ids = {r["_id"] for r in a}, {r["_id"] for r in b}
            changed = [r["_id"] for r in a if r not in b and r["_id"] in b_ids]
            problems.append(
                f"{name}: {len(a)} vs {len(b)} records; missing {sorted(a_ids - b_ids)[:3]}, "
                f"extra {sorted(b_ids - a_ids)[:3]}, changed {changed[:3]}"
            )
    if clean["activities"] != other["activities"]:
        problems.append(f"activities: {len(clean['activities'])} vs {len(other['activities'])}")
    if clean["ids"] != other["ids"]:
        problems.append(f"ids allocated: {clean['ids']} vs {other['ids']}")
    return problems


def singer_lines(messages: Iterable[dict[str, Any]]) -> str:
    """Messages as Singer input text."""
    return "".join(orjson.dumps(m).decode() + "\n" for m in messages)


def run_cli(
    args: list[str], *, stdin: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run a plugin's console script; never reads the caller's TAP_/TARGET_ variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TAP_", "TARGET_"))}
    return subprocess.run(
        args, input=stdin, capture_output=True, text=True, timeout=timeout, check=False, env=env
    )


def write_json(path: Path, value: Any) -> str:
    """Write ``value`` as JSON to ``path``; return the path as a string."""
    path.write_bytes(orjson.dumps(value))
    return str(path)


def union(*outputs: TapOutput) -> dict[str, set[str]]:
    """Union of emitted ``_id`` sets per stream over several runs."""
    merged: dict[str, set[str]] = defaultdict(set)
    for output in outputs:
        for stream, found in ids(output).items():
            merged[stream] |= found
    return dict(merged)


def run_target(
    config: dict[str, Any], messages: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], BaseException | None]:
    """Run the target in-process; return the STATE values it wrote and what it raised."""
    from target_planhat.target import TargetPlanhat  # noqa: PLC0415 - keep tap tests light

    target = TargetPlanhat(config=config, parse_env_config=False)
    out = io.StringIO()
    error: BaseException | None = None
    with redirect_stdout(out):
        try:
            target.listen(io.StringIO(singer_lines(messages)))
        except Exception as exc:  # noqa: BLE001 - the caller asserts on it
            error = exc
    states = [orjson.loads(line) for line in out.getvalue().splitlines() if line.strip()]
    return states, error


def _schema(stream: str, keys: list[str]) -> dict[str, Any]:
    return {
        "type": "SCHEMA",
        "stream": stream,
        "schema": {"type": "object", "properties": {}, "additionalProperties": True},
        "key_properties": keys,
    }


def _records(stream: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"type": "RECORD", "stream": stream, "record": r} for r in records]


def mixed_load(sandbox: SandboxServer, *, push_first: bool = False) -> list[dict[str, Any]]:
    """Singer input touching every kind of write: bulk upserts (updates and creates) of
    companies, endusers and licenses, an update_only stream (a key scan), metrics and user
    activities; a STATE after each stream. Push streams come last and stay under a batch, so
    they are sent at end of input, after every main-API write."""
    companies = sandbox.records("companies")
    endusers = sandbox.records("endusers")
    licenses = sandbox.records("licenses")
    messages: list[dict[str, Any]] = []

    def add(stream: str, keys: list[str], records: list[dict[str, Any]]) -> None:
        messages.append(_schema(stream, keys))
        messages.extend(_records(stream, records))
        messages.append({"type": "STATE", "value": {"bookmarks": {stream: len(messages)}}})

    add(
        "companies",
        ["externalId"],
        [
            {"externalId": c["externalId"], "name": f"Updated {i}"}
            for i, c in enumerate(companies[:3])
        ]
        + [{"externalId": f"REL-C-{i}", "name": f"New company {i}", "mrr": i} for i in range(4)],
    )
    add(
        "endusers",
        ["email"],
        [{"email": u["email"], "position": "Head of Reliability"} for u in endusers[:3]]
        + [
            {"email": f"rel{i}@example.com", "firstName": f"R{i}", "companyExternalId": "REL-C-0"}
            for i in range(3)
        ],
    )
    add(
        "licenses",
        ["externalId"],
        [{"externalId": lic["externalId"], "value": 99} for lic in licenses[:2]]
        + [
            {
                "externalId": f"REL-L-{i}",
                "_currency": "USD",
                "fromDate": "2024-01-01T00:00:00Z",
                "value": 10 * i,
                "companyExternalId": companies[i]["externalId"],
            }
            for i in range(3)
        ],
    )
    add(
        "contacts_update",
        ["email"],
        [{"email": u["email"], "phone": "+1 555 0100"} for u in endusers[5:7]],
    )
    add(
        "dimension_data",
        [],
        [
            {
                "dimensionId": "reliability",
                "value": i,
                "externalId": c["externalId"],
                "date": "2024-05-01",
            }
            for i, c in enumerate(companies[:3])
        ],
    )
    add(
        "user_activities",
        [],
        [{"email": u["email"], "action": "login", "date": "2024-05-01"} for u in endusers[:3]],
    )
    if push_first:
        push = [m for m in messages if m.get("stream") in {"dimension_data", "user_activities"}]
        return push + [m for m in messages if m not in push]
    return messages


@cache
def clean_load() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Snapshot and STATE output of the mixed load on a fault-free sandbox."""
    with (
        SandboxServer(token=SANDBOX_TOKEN, tenant_token=SANDBOX_TENANT_TOKEN) as sandbox,
        tempfile.TemporaryDirectory() as tmp,
    ):
        config = target_config(sandbox, Path(tmp), **MIXED_LOAD_SETTINGS)
        states, error = run_target(config, mixed_load(sandbox))
        assert error is None, error
        assert not Path(config["dead_letter_path"]).exists()
        return snapshot(sandbox), states


#: Target settings the mixed load needs.
MIXED_LOAD_SETTINGS: dict[str, Any] = {
    "batch_size_rows": 4,
    "streams": {"contacts_update": {"model": "endusers", "key": "email", "mode": "update_only"}},
}


#: Faults a retry budget of MAX_RETRIES attempts absorbs (bursts of MAX_RETRIES - 1 at most).
#: A list cap lower than asked needs lists longer than a (round) cap: it has tests of its own
#: (``test_a_server_cap_below_the_limit_...`` in the tap and target matrices).
FAULTS_WITHIN_BUDGET: dict[str, dict[str, Any]] = {
    "429-retry-after": {"rate_limit_burst": 3, "rate_limit_mode": "retry_after", "retry_after": 0},
    "429-rate-limit-headers-only": {"rate_limit_burst": 3, "rate_limit_mode": "headers"},
    "429-no-headers": {"rate_limit_burst": 3, "rate_limit_mode": "none"},
    "500": {"status_burst": 3, "status_code": 500},
    "502": {"status_burst": 3, "status_code": 502},
    "503": {"status_burst": 3, "status_code": 503},
    "504": {"status_burst": 3, "status_code": 504},
    "reset-before-response": {"reset": 3, "reset_mode": "before"},
    "reset-mid-response": {"reset": 3, "reset_mode": "mid"},
    "read-timeout-mid-response": {"stall": 2, "stall_ms": STALL_MS, "stall_mode": "mid"},
    "read-timeout-before-response": {"stall": 1, "stall_ms": STALL_MS, "stall_mode": "before"},
    "truncated-json": {"truncate": 3},
    "error-object-in-200": {"error_object": 3},
    "mixed": {"status_burst": 1, "reset": 1, "truncate": 1, "error_object": 1},
    "latency": {"latency_ms": 5},
}
