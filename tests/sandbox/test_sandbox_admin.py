"""Admin API, seed data, determinism and the CLI."""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING, Any

import requests
from sandbox_client import Client

from planhat_common.fieldtypes import DT, FieldType, N, Shape
from planhat_common.registry import CUSTOM_FIELD_TYPES, MODELS, Verb, get_model
from planhat_sandbox.seed import plain_fields
from planhat_sandbox.values import UNFIT_FIELDS, UNFIT_TEXT
from tap_planhat.conversions import FieldCheck, is_timestamp

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.sandbox_fixtures import SandboxServer


def _fits(value: Any, field_type: FieldType) -> bool:
    """As the tap reads it: the value fits, as it is or after a lossless conversion."""
    return FieldCheck(field_type)(value)[0]


def _shapes_of(value: Any) -> set[Shape]:
    """The declared shapes ``value`` realises as it is."""
    kind = type(value)
    if kind is list:
        items = {type(item) for item in value}
        shapes = {Shape.ARRAY, Shape.ANY}
        shapes |= {Shape.STRINGS} if str in items else set()
        shapes |= {Shape.OBJECTS} if dict in items else set()
        shapes |= {Shape.NUMBERS, Shape.INTEGERS} if items & {int, float} else set()
        return shapes | ({Shape.BOOLEANS} if bool in items else set())
    if kind is str:
        return {Shape.ANY, Shape.DATETIME if is_timestamp(value) else Shape.STRING}
    by_type = {
        bool: {Shape.BOOLEAN},
        int: {Shape.INTEGER, Shape.EPOCH_DAY},
        float: {Shape.NUMBER},
        dict: {Shape.OBJECT},
    }
    return {Shape.ANY, *by_type.get(kind, set())}


def test_seed_values_fit_their_declared_types_or_are_the_rescue_examples(
    sandbox_factory: Callable[..., SandboxServer],
) -> None:
    sandbox = sandbox_factory(records=300)
    unfit = 0
    for model in MODELS:
        if not model.path:
            continue
        records = sandbox.records(model.name)
        assert records, model.name
        for record in records:
            for name, value in record.items():
                if name in model.fields and not _fits(value, model.fields[name]):
                    assert (model.name, name) in UNFIT_FIELDS, (model.name, name, value)
                    assert value == UNFIT_TEXT
                    unfit += 1
            if not (model.supports(Verb.CREATE) or model.supports(Verb.BULK_UPSERT)):
                continue  # e.g. dimension data: required fields are for pushes
            for name in model.required_for_create:
                assert record.get(name) not in (None, ""), (model.name, name)
    assert unfit > 0  # the rescue path has something to rescue


def test_seed_serves_every_shape_the_evidence_shows(
    sandbox_factory: Callable[..., SandboxServer],
) -> None:
    sandbox = sandbox_factory(records=400)
    missing = []
    for model in MODELS:
        if not model.path:
            continue
        seen: dict[str, set[Shape]] = {}
        for record in sandbox.records(model.name):
            for name, value in record.items():
                if value is not None:
                    seen.setdefault(name, set()).update(_shapes_of(value))
        for name, field_type in model.fields.items():
            if name in plain_fields(model) or name not in seen:
                continue
            missing += [(model.name, name, s.value) for s in field_type.shapes - seen[name]]
    assert missing == []


def test_seed_spells_some_values_loosely(sandbox_factory: Callable[..., SandboxServer]) -> None:
    records = sandbox_factory(records=400).records("companies")
    fields = get_model("companies").fields
    loose = {
        "number as string": lambda v, t: t == N and isinstance(v, str),
        "epoch as timestamp": lambda v, t: t == DT and isinstance(v, int),
        "date as timestamp": lambda v, t: t == DT and isinstance(v, str) and len(v) == 10,
    }
    for label, test in loose.items():
        assert any(test(r.get(n), t) for r in records for n, t in fields.items()), label


def test_seed_has_missing_optional_fields(sandbox: SandboxServer) -> None:
    records = sandbox.records("companies")
    assert any(len(r) < len(records[0]) or None in r.values() for r in records)


def test_custom_fields_cover_every_type(sandbox: SandboxServer) -> None:
    fields = sandbox.records("custom_fields")
    assert {f["type"] for f in fields if f["parent"] == "Company"} == set(CUSTOM_FIELD_TYPES)
    by_parent: dict[str, dict[str, str]] = {}
    for field in fields:
        by_parent.setdefault(field["parent"], {})[field["name"]] = field["type"]
    seen_types = set()
    for model in MODELS:
        if not model.path or model.planhat_name not in by_parent:
            continue
        defs = by_parent[model.planhat_name]
        for record in sandbox.records(model.name):
            for name, value in record.get("custom", {}).items():
                ftype = CUSTOM_FIELD_TYPES[defs[name]]
                assert _fits(value, ftype) or (defs[name], value) == ("number", UNFIT_TEXT)
                seen_types.add(defs[name])
    assert seen_types == set(CUSTOM_FIELD_TYPES)


def test_unique_enduser_emails_and_company_refs(sandbox: SandboxServer) -> None:
    emails = [r["email"] for r in sandbox.records("endusers")]
    assert len(set(emails)) == len(emails)
    company_ids = {c["_id"] for c in sandbox.records("companies")}
    assert all(r["companyId"] in company_ids for r in sandbox.records("endusers"))
    assert all(r["cId"] in company_ids for r in sandbox.records("invoices"))
    assert all(set(r["companyIds"]) <= company_ids for r in sandbox.records("issues"))


def test_request_log_counts_and_clear(client: Client, sandbox: SandboxServer) -> None:
    client.get("/companies", limit=3)
    client.get("/companies", limit=4)
    client.get("/nosuch")
    requests.get(f"{sandbox.url}/_sandbox/faults", timeout=10)
    log = requests.get(f"{sandbox.url}/_sandbox/requests", timeout=10).json()
    assert log["requests"][0] == {
        "method": "GET",
        "path": "/companies",
        "query": {"limit": "3"},
        "status": 200,
    }
    assert len(log["requests"]) == 3
    assert {"method": "GET", "path": "/companies", "status": 200, "count": 2} in log["counts"]
    assert requests.delete(f"{sandbox.url}/_sandbox/requests", timeout=10).ok
    assert sandbox.requests_log() == []
    client.get("/users")
    assert len(sandbox.requests_log()) == 1
    sandbox.clear_log()
    assert sandbox.request_counts() == []


def test_dump_load_round_trip(client: Client, sandbox: SandboxServer, sandbox_factory) -> None:
    client.post("/companies", {"name": "Dumped Co", "externalId": "DUMP-1"})
    dump = requests.get(f"{sandbox.url}/_sandbox/dump", timeout=10).json()
    other = sandbox_factory(records=2, seed=9)
    assert requests.post(f"{other.url}/_sandbox/load", json=dump, timeout=10).ok
    assert Client(other).ok("/companies/extid-DUMP-1")["name"] == "Dumped Co"
    assert other.dump()["collections"] == dump["collections"]
    assert requests.post(f"{other.url}/_sandbox/load", json=[1], timeout=10).status_code == 400


def test_touch_bumps_replication_key(client: Client, sandbox: SandboxServer) -> None:
    company, invoice = sandbox.records("companies")[0], sandbox.records("invoices")[0]
    touched = requests.post(
        f"{sandbox.url}/_sandbox/touch/companies",
        json={"ids": [company["_id"]], "fields": {"city": "Malmo"}},
        timeout=10,
    ).json()
    assert touched[0]["city"] == "Malmo"
    assert touched[0]["updatedAt"] > company["updatedAt"]
    newest = client.ok("/companies", sort="-updatedAt", limit=1)[0]
    assert newest["_id"] == company["_id"]
    (inv,) = sandbox.touch("invoices", [invoice["_id"]])
    assert inv["lastUpdated"] > invoice["lastUpdated"]
    assert inv["lastUpdated"] > touched[0]["updatedAt"]


def test_reset_reseeds(client: Client, sandbox: SandboxServer) -> None:
    before = sandbox.dump()["collections"]
    client.post("/companies", {"name": "Temp"})
    assert requests.post(f"{sandbox.url}/_sandbox/reset", timeout=10).ok
    assert sandbox.dump()["collections"] == before
    assert sandbox.requests_log() == []


def test_determinism(sandbox_factory) -> None:
    one = sandbox_factory(records=15, seed=3)
    two = sandbox_factory(records=15, seed=3)
    three = sandbox_factory(records=15, seed=4)
    assert one.dump() == two.dump()
    assert one.dump()["collections"] != three.dump()["collections"]


def test_updated_at_distinct_per_model(sandbox: SandboxServer) -> None:
    for model in MODELS:
        # Metrics are keyed by their day, not by a server write stamp.
        if model.path and model.replication_key and not model.supports(Verb.PUSH):
            stamps = [r[model.replication_key] for r in sandbox.records(model.name)]
            assert len(set(stamps)) == len(stamps), model.name


def test_cli_serves_and_prints_urls(tmp_path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "planhat_sandbox.cli",
            "--port",
            "0",
            "--token",
            "cli-token",
            "--records",
            "3",
            "--fault",
            "status_burst=1",
            "--fault",
            "status_code=502",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        api_line = proc.stdout.readline().strip()
        analytics_line = proc.stdout.readline().strip()
        assert api_line.startswith("PLANHAT_API_URL=http://127.0.0.1:")
        assert analytics_line.startswith("PLANHAT_ANALYTICS_URL=http://127.0.0.1:")
        url = api_line.split("=", 1)[1]
        headers = {"Authorization": "Bearer cli-token"}
        assert requests.get(f"{url}/companies", headers=headers, timeout=10).status_code == 502
        page = requests.get(f"{url}/companies", headers=headers, timeout=10).json()
        assert len(page) == 3
        dump_file = tmp_path / "dump.json"
        dump_file.write_bytes(requests.get(f"{url}/_sandbox/dump", timeout=10).content)
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
        proc.stdout.close()
    loaded = subprocess.Popen(
        [sys.executable, "-m", "planhat_sandbox.cli", "--load", str(dump_file), "--token", "t"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert loaded.stdout is not None
        url = loaded.stdout.readline().strip().split("=", 1)[1]
        headers = {"Authorization": "Bearer t"}
        assert len(requests.get(f"{url}/companies", headers=headers, timeout=10).json()) == 3
    finally:
        loaded.terminate()
        loaded.wait(timeout=10)
        loaded.stdout.close()
