"""Partial failures, dead letters, modes, pushes, deletes, dry runs, STATE and exit codes."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from target_planhat.errors import RejectedRecordsError, UnknownStreamError
from target_planhat.target import TargetPlanhat
from tests.sandbox_fixtures import SANDBOX_TENANT_TOKEN, SANDBOX_TOKEN
from tests.target.target_helpers import (
    by_field,
    dead_letters,
    record,
    run_target,
    sandbox_config,
    schema,
    singer_lines,
    state,
    summary_rows,
    writes,
)

PROPS = {"externalId": {"type": ["string", "null"]}, "name": {"type": ["string", "null"]}}


def test_partial_206_dead_letters_rejected_records(sandbox, config) -> None:
    config["max_rejected"] = 10
    messages = [
        schema("endusers", {"email": {"type": "string"}}),
        record("endusers", {"email": "ok@example.com", "companyExternalId": "COMPANY-000001"}),
        record("endusers", {"email": "bad@example.com", "companyExternalId": "NOPE"}),
        record("endusers", {"firstName": "no email, no key"}),
        state({"bookmarks": {"endusers": {}}}),
    ]
    states = run_target(config, messages)
    assert states == [{"bookmarks": {"endusers": {}}}]
    assert "ok@example.com" in by_field(sandbox, "endusers", "email")
    letters = dead_letters(config)
    assert len(letters) == 2
    reasons = {line["record"].get("email"): line["reason"] for line in letters}
    assert "does not match any company" in reasons["bad@example.com"]
    assert "no value in any key column" in reasons[None]
    assert {line["stream"] for line in letters} == {"endusers"}
    assert {line["model"] for line in letters} == {"EndUser"}
    assert all(line["time"] for line in letters)
    assert [w["status"] for w in writes(sandbox)] == [206]


def test_whole_batch_400_rejects_attributed_records_and_resends_the_rest(sandbox, config) -> None:
    config["max_rejected"] = 10
    messages = [
        schema("endusers", {"email": {"type": "string"}}),
        record("endusers", {"email": "a@example.com", "companyExternalId": "NOPE-1"}),
        record("endusers", {"email": "b@example.com", "companyExternalId": "NOPE-2"}),
    ]
    run_target(config, messages)
    assert [w["status"] for w in writes(sandbox)] == [400]  # never resent unchanged
    assert len(dead_letters(config)) == 2


def test_opaque_whole_batch_rejection_is_bisected(sandbox_factory, tmp_path) -> None:
    # The sandbox answers 413 (an error naming no record) to bodies over 700 bytes: the
    # target splits the batch until each half fits, instead of resending it unchanged.
    sandbox = sandbox_factory(max_body_bytes=700)
    config = sandbox_config(sandbox, tmp_path)
    messages = [schema("companies", PROPS)] + [
        record("companies", {"externalId": f"BIS-{i}", "name": "n" * 60}) for i in range(8)
    ]
    run_target(config, messages)
    statuses = [w["status"] for w in writes(sandbox)]
    assert statuses[0] == 413
    assert statuses.count(200) >= 2
    assert {f"BIS-{i}" for i in range(8)} <= set(by_field(sandbox, "companies", "externalId"))
    assert dead_letters(config) == []


def test_an_opaque_400_is_bisected_down_to_the_bad_record(sandbox, config) -> None:
    # A 400 whose body names no record: the batch is split, never resent as it was, until
    # the one record Planhat refuses is alone; every other record lands.
    sandbox.set_faults(opaque_400_field="poison")
    config.update(max_rejected=1, custom_fields="off")  # "poison" stays a top-level field
    messages = [schema("companies", PROPS)] + [
        record("companies", {"externalId": f"OPQ-{i}", "name": str(i)}) for i in range(8)
    ]
    messages[6]["record"]["poison"] = True  # OPQ-5
    run_target(config, messages)
    stored = set(by_field(sandbox, "companies", "externalId"))
    assert {f"OPQ-{i}" for i in range(8) if i != 5} <= stored
    assert "OPQ-5" not in stored
    letters = dead_letters(config)
    assert [line["key"] for line in letters] == ["externalId=OPQ-5"]
    assert "400" in letters[0]["reason"]
    statuses = [w["status"] for w in writes(sandbox)]
    # 8 -> 4+4 -> 2+2 -> 1+1: 4 refusals on the way to the bad record, 3 halves accepted.
    assert statuses.count(400) == 4
    assert statuses.count(200) == 3


def test_update_only_and_create_only(sandbox, config, caplog) -> None:
    existing = sandbox.records("companies")[0]
    config["max_rejected"] = 10
    config["streams"] = {
        "upd": {"model": "companies", "mode": "update_only", "key": "externalId"},
        "crt": {"model": "Company", "mode": "create_only"},
    }
    messages = [
        schema("upd", PROPS),
        record("upd", {"externalId": existing["externalId"], "name": "Updated only"}),
        record("upd", {"externalId": "MISSING-1", "name": "Never created"}),
        schema("crt", PROPS),
        record("crt", {"externalId": existing["externalId"], "name": "Must not change"}),
        record("crt", {"externalId": "CREATED-1", "name": "Created"}),
    ]
    with caplog.at_level("INFO"):
        run_target(config, messages)
    stored = by_field(sandbox, "companies", "externalId")
    assert stored[existing["externalId"]]["name"] == "Updated only"
    assert "MISSING-1" not in stored
    assert stored["CREATED-1"]["name"] == "Created"
    reasons = sorted(line["reason"] for line in dead_letters(config))
    assert reasons[0].startswith("create_only: externalId=")
    assert reasons[1].startswith("update_only: externalId=MISSING-1")
    lists = [r for r in sandbox.requests_log() if r["method"] == "GET"]
    # One key scan, cached for the run: one short page of 20 (planhat_common/paging.py;
    # docs/planhat-api.md, "Page size caps").
    assert [r["query"]["offset"] for r in lists] == ["0"]
    assert lists[0]["query"]["select"].startswith("_id,")
    # The calls column counts that scan, for the stream that made it, and each bulk call.
    rows = summary_rows(caplog)
    assert rows["upd"]["calls"] == "2"  # the key scan and one bulk upsert
    assert rows["crt"]["calls"] == "1"


def test_metrics_and_activities_are_pushed(sandbox, config) -> None:
    company = sandbox.records("companies")[0]
    before = len(sandbox.records("dimension_data"))
    config["max_rejected"] = 1
    messages = [
        schema("metrics", {"value": {"type": "number"}}),
        record(
            "metrics",
            {
                "dimensionId": "logins",
                "value": 3,
                "externalId": company["externalId"],
                "date": "2024-05-01",
            },
        ),
        record("metrics", {"dimensionId": "logins", "value": 1, "externalId": "NO-SUCH"}),
        schema("activities", {"email": {"type": "string"}}),
        record("activities", {"email": "a@example.com", "action": "login", "weight": 2}),
    ]
    run_target(config, messages)
    metrics = sandbox.records("dimension_data")[before:]
    assert [(m["dimensionId"], m["value"], m["parentId"]) for m in metrics] == [
        ("logins", 3.0, company["_id"])
    ]
    assert [a["action"] for a in sandbox.activities()] == ["login"]
    letters = dead_letters(config)
    assert len(letters) == 1
    assert "NO-SUCH" in letters[0]["reason"]
    paths = {w["path"] for w in writes(sandbox)}
    assert paths == {
        f"/dimensiondata/{SANDBOX_TENANT_TOKEN}",
        f"/analytics/bulk/{SANDBOX_TENANT_TOKEN}",
    }


def test_dry_run_makes_no_write_calls(sandbox, config, caplog) -> None:
    config["dry_run"] = True
    config["hard_delete"] = True
    existing = sandbox.records("companies")[0]
    messages = [
        schema("companies", PROPS),
        record("companies", {"externalId": "DRY-1", "name": "Dry"}),
        record("companies", {"_id": existing["_id"], "_sdc_deleted_at": "2024-01-01T00:00:00Z"}),
        schema("metrics", {}),
        record("metrics", {"dimensionId": "d", "value": 1, "externalId": existing["externalId"]}),
    ]
    with caplog.at_level("INFO"):
        run_target(config, messages)
    assert writes(sandbox) == []
    assert "DRY-1" not in by_field(sandbox, "companies", "externalId")
    assert "Dry run: would PUT /companies with 1 items" in caplog.text
    assert "Dry run: would DELETE /companies/" in caplog.text
    rows = summary_rows(caplog)
    # The forecast: what a real run would create, update and delete, and its write calls;
    # the one key scan it made to tell creates from updates is a call it did make.
    company = rows["companies"]
    assert (company["created"], company["updated"], company["deleted"]) == ("1", "0", "1")
    assert (company["planned"], company["calls"]) == ("2", "1")
    assert (rows["metrics"]["created"], rows["metrics"]["planned"]) == ("1", "1")


def test_dry_run_writes_no_state_so_the_bookmark_stays(sandbox, config, caplog) -> None:
    messages = [
        schema("companies", PROPS, keys=["externalId"]),
        record("companies", {"externalId": "DRY-S1", "name": "One"}),
        state({"bookmarks": {"companies": {"replication_key_value": "2025-01-01"}}}),
        record("companies", {"externalId": "DRY-S2", "name": "Two"}),
        state({"bookmarks": {"companies": {"replication_key_value": "2025-02-01"}}}),
    ]
    with caplog.at_level("INFO"):
        assert run_target({**config, "dry_run": True}, messages) == []
    assert writes(sandbox) == []
    assert caplog.text.count("Dry run: the input's STATE is not passed on") == 1
    # The same input for real: written, and the last STATE passed on.
    assert run_target(config, messages) == [messages[-1]["value"]]
    assert {"DRY-S1", "DRY-S2"} <= set(by_field(sandbox, "companies", "externalId"))


def test_dry_run_forecasts_updates_from_one_key_scan(sandbox, config, caplog) -> None:
    config["dry_run"] = True
    existing = sandbox.records("companies")[:3]
    messages = [
        schema("companies", PROPS, keys=["externalId"]),
        *(record("companies", {"externalId": c["externalId"], "name": "x"}) for c in existing),
        record("companies", {"externalId": "DRY-NEW", "name": "new"}),
    ]
    with caplog.at_level("INFO"):
        run_target(config, messages)
    row = summary_rows(caplog)["companies"]
    assert (row["created"], row["updated"], row["calls"]) == ("1", "3", "1")
    assert writes(sandbox) == []


def test_hard_delete(sandbox, config) -> None:
    companies = sandbox.records("companies")
    config["hard_delete"] = True
    deleted_at = "2024-01-01T00:00:00Z"
    messages = [
        schema("companies", PROPS),
        record("companies", {"_id": companies[0]["_id"], "_sdc_deleted_at": deleted_at}),
        record(
            "companies",
            {"externalId": companies[1]["externalId"], "_sdc_deleted_at": deleted_at},
        ),
        record("companies", {"externalId": "KEEP-1", "name": "Keep", "_sdc_deleted_at": None}),
    ]
    run_target(config, messages)
    ids = set(by_field(sandbox, "companies", "_id"))
    assert companies[0]["_id"] not in ids
    assert companies[1]["_id"] not in ids
    assert "KEEP-1" in by_field(sandbox, "companies", "externalId")
    deletes = [w for w in writes(sandbox) if w["method"] == "DELETE"]
    assert len(deletes) == 2


class _Spy(io.StringIO):
    """stdout that notes how many requests the sandbox had seen when each line was written."""

    def __init__(self, sandbox) -> None:
        super().__init__()
        self.sandbox = sandbox
        self.seen: list[tuple[str, int]] = []

    def write(self, text: str) -> int:
        if text.strip():
            self.seen.append((text.strip(), len(writes(self.sandbox))))
        return super().write(text)


def test_state_is_emitted_only_after_the_records_before_it_were_written(
    sandbox, config, monkeypatch
) -> None:
    spy = _Spy(sandbox)
    monkeypatch.setattr(sys, "stdout", spy)
    config["batch_size_rows"] = 2
    messages = [
        schema("companies", PROPS),
        record("companies", {"externalId": "S-1", "name": "1"}),
        state({"n": 1}),
        record("companies", {"externalId": "S-2", "name": "2"}),
        record("companies", {"externalId": "S-3", "name": "3"}),
        state({"n": 2}),
    ]
    target = TargetPlanhat(config=config, parse_env_config=False)
    target.listen(io.StringIO(singer_lines(messages)))
    states = [(orjson.loads(line), calls) for line, calls in spy.seen]
    assert states == [({"n": 2}, 2)]  # one STATE, after both bulk calls answered


def test_state_waits_for_a_full_batch_written_in_the_background(
    sandbox, config, monkeypatch
) -> None:
    # A full batch is written while the next records are read (target_planhat/sinks/writer.py);
    # the slow server makes a STATE that ran ahead of that write visible.
    spy = _Spy(sandbox)
    monkeypatch.setattr(sys, "stdout", spy)
    sandbox.set_faults(latency_ms=300, only_paths=["/companies"])
    config["batch_size_rows"] = 2
    messages = [
        schema("companies", PROPS),
        record("companies", {"externalId": "B-1", "name": "1"}),
        record("companies", {"externalId": "B-2", "name": "2"}),  # full: background write
        state({"n": 1}),
    ]
    target = TargetPlanhat(config=config, parse_env_config=False)
    target.listen(io.StringIO(singer_lines(messages)))
    assert [(orjson.loads(line), calls) for line, calls in spy.seen] == [({"n": 1}, 1)]
    assert {"B-1", "B-2"} <= set(by_field(sandbox, "companies", "externalId"))


def test_a_mid_run_state_waits_for_a_background_write(sandbox, config, monkeypatch) -> None:
    # In a long run the SDK drains every sink and writes STATE every few minutes (0.2 s
    # here). The record that triggers it belongs to a skipped stream, so the only sink with
    # data is companies, whose full batch is still being written (1 s of server latency).
    spy = _Spy(sandbox)
    monkeypatch.setattr(sys, "stdout", spy)
    monkeypatch.setattr(TargetPlanhat, "_MAX_RECORD_AGE_IN_MINUTES", 0.2 / 60)
    sandbox.set_faults(latency_ms=1000, only_paths=["/companies"])
    config.update(batch_size_rows=2, skip_unknown_streams=True)
    head = [
        schema("companies", PROPS),
        schema("not_a_model", PROPS),
        record("companies", {"externalId": "M-1", "name": "1"}),
        record("companies", {"externalId": "M-2", "name": "2"}),  # full: background write
        state({"n": 1}),
    ]

    def lines():
        yield from singer_lines(head).splitlines(keepends=True)
        time.sleep(0.5)  # the records are now older than the maximum age
        yield singer_lines([record("not_a_model", {"externalId": "X", "name": "x"})])

    target = TargetPlanhat(config=config, parse_env_config=False)
    target.listen(lines())
    first_line, calls = spy.seen[0]
    assert (orjson.loads(first_line), calls) == ({"n": 1}, 1)


@pytest.mark.parametrize(
    "records", [1, 4], ids=["written-at-end-of-input", "full-batches-in-the-background"]
)
def test_no_state_when_a_batch_fails(sandbox, config, monkeypatch, records) -> None:
    spy = _Spy(sandbox)
    monkeypatch.setattr(sys, "stdout", spy)
    sandbox.set_faults(status_burst=50, status_code=500, only_paths=["/companies"])
    config["batch_size_rows"] = 2
    messages = [schema("companies", PROPS)]
    for n in range(records):
        messages.append(record("companies", {"externalId": f"F-{n}", "name": str(n)}))
        messages.append(state({"n": n}))
    target = TargetPlanhat(config=config, parse_env_config=False)
    with pytest.raises(Exception, match="Giving up after 3 attempts"):
        target.listen(io.StringIO(singer_lines(messages)))
    assert spy.seen == []


def test_max_rejected_fails_the_run_without_state(sandbox, config, monkeypatch) -> None:
    spy = _Spy(sandbox)
    monkeypatch.setattr(sys, "stdout", spy)
    messages = [
        schema("companies", PROPS),
        record("companies", {"externalId": "NO-NAME"}),
        state({"n": 1}),
    ]
    target = TargetPlanhat(config=config, parse_env_config=False)
    with pytest.raises(RejectedRecordsError, match="1 record"):
        target.listen(io.StringIO(singer_lines(messages)))
    assert spy.seen == []


def test_cli_exit_code_and_no_token_in_output(sandbox, tmp_path: Path) -> None:
    config = sandbox_config(sandbox, tmp_path, max_rejected=0)
    config_file = tmp_path / "config.json"
    config_file.write_bytes(orjson.dumps(config))
    messages = [
        schema("companies", PROPS),
        record("companies", {"externalId": "OK-1", "name": "fine"}),
        record("companies", {"externalId": "BAD-1", "companyId": "x", "note": SANDBOX_TOKEN}),
        state({"n": 1}),
    ]
    target_bin = Path(sys.executable).parent / "target-planhat"
    result = subprocess.run(
        [str(target_bin), "--config", str(config_file)],
        input=singer_lines(messages),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert result.stdout == ""  # no STATE
    assert "rejected" in result.stderr
    dead = Path(config["dead_letter_path"]).read_text()
    assert "BAD-1" in dead
    for secret in (SANDBOX_TOKEN, SANDBOX_TENANT_TOKEN):
        assert secret not in result.stderr
        assert secret not in dead

    config_file.write_bytes(orjson.dumps({**config, "max_rejected": 5}))
    ok = subprocess.run(
        [str(target_bin), "--config", str(config_file)],
        input=singer_lines(messages),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert [orjson.loads(line) for line in ok.stdout.splitlines()] == [{"n": 1}]


def test_unknown_stream_fails_at_schema_or_is_skipped(sandbox, config, caplog) -> None:
    messages = [
        schema("mystery_table", {}),
        record("mystery_table", {"a": 1}),
        record("mystery_table", {"a": 2}),
        schema("public-companies", PROPS),
        record("public-companies", {"externalId": "PFX-1", "name": "prefixed"}),
    ]
    with pytest.raises(
        UnknownStreamError,
        match=r"'mystery_table'.*Accepted models.*companies \(account, accounts, company\)",
    ):
        run_target(config, messages)
    with caplog.at_level("INFO"):
        run_target({**config, "skip_unknown_streams": True}, messages)
    assert caplog.text.count("Skipping stream 'mystery_table'") == 1
    assert "PFX-1" in by_field(sandbox, "companies", "externalId")
    summary = next(r.message for r in caplog.records if "load summary" in r.message)
    skipped_row = next(line for line in summary.splitlines() if line.startswith("mystery_table"))
    assert skipped_row.split()[-2] == "2"


def test_bad_stream_settings_fail_early(config) -> None:
    with pytest.raises(UnknownStreamError, match="not a keyable of Company"):
        TargetPlanhat(
            config={**config, "streams": {"c": {"model": "companies", "key": "email"}}},
            parse_env_config=False,
        )
    with pytest.raises(UnknownStreamError, match="'nope' is not a Planhat model"):
        TargetPlanhat(
            config={**config, "streams": {"c": {"model": "nope"}}}, parse_env_config=False
        )


def test_rejections_after_a_schema_change_still_fail_the_run(config) -> None:
    # The first sink is replaced (and cleaned up first); the summary must wait for the new one.
    messages = [
        schema("companies", PROPS),
        record("companies", {"externalId": "SC-1", "name": "ok"}),
        schema("companies", {**PROPS, "mrr": {"type": ["number", "null"]}}),
        record("companies", {"externalId": "SC-2"}),  # no name: cannot be created
    ]
    with pytest.raises(RejectedRecordsError, match="1 record"):
        run_target(config, messages)


def test_wrong_token_fails_with_a_clear_message_and_no_token(config) -> None:
    config["api_token"] = "wrong-secret-token"
    messages = [schema("companies", PROPS), record("companies", {"externalId": "A", "name": "a"})]
    with pytest.raises(Exception, match="refused the API token") as info:
        run_target(config, messages)
    assert "wrong-secret-token" not in str(info.value)


def test_about_lists_the_settings() -> None:
    target_bin = Path(sys.executable).parent / "target-planhat"
    about = subprocess.run(
        [str(target_bin), "--about", "--format=markdown"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    for setting in ("api_token", "streams", "dead_letter_path", "max_rejected", "hard_delete"):
        assert setting in about
    assert "bulk upserts" in about


def test_reject_reasons_say_what_is_wrong_with_a_keyed_record(sandbox, config) -> None:
    """A keyed ticket without email is not "no key"; a reference that names nothing says so."""
    config["max_rejected"] = 10
    config["streams"] = {"new_companies": {"model": "companies", "mode": "create_only"}}
    string = {"type": ["string", "null"]}
    props = {"sourceId": string, "title": string, "email": string, "companySourceId": string}
    company = sandbox.records("companies")[0]
    messages = [
        schema("tickets", props, keys=["sourceId"]),
        record("tickets", {"sourceId": "T-NOMAIL", "title": "Lost", "email": None}),
        record(
            "tickets",
            {"sourceId": "T-NOCO", "title": "Orphan", "email": "o@x.io", "companySourceId": "NOPE"},
        ),
        record(
            "tickets",
            {"sourceId": "T-OK", "title": "Fine", "email": "f@x.io", "companyId": company["_id"]},
        ),
        schema("new_companies", {"externalId": string, "phase": string}),
        record("new_companies", {"externalId": "NEW-NONAME", "phase": "Onboarding"}),
    ]
    run_target(config, messages)
    reasons = {line["key"]: line["reason"] for line in dead_letters(config)}
    assert set(reasons) == {"sourceId=T-NOMAIL", "sourceId=T-NOCO", "externalId=NEW-NONAME"}
    assert reasons["sourceId=T-NOMAIL"].startswith("no email: Planhat drops a ticket")
    assert "no key" not in reasons["sourceId=T-NOMAIL"]
    assert "'srcid-NOPE' does not match any company" in reasons["sourceId=T-NOCO"]
    assert reasons["externalId=NEW-NONAME"] == (
        "create_only, and it lacks field(s) required to create a Company: name"
    )
    assert "T-OK" in by_field(sandbox, "tickets", "sourceId")
