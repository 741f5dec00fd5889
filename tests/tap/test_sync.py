"""tap-planhat against the running sandbox: exact _id sets, request counts, state."""

from __future__ import annotations

from typing import Any

import pytest
from singer_sdk.exceptions import FatalAPIError

from planhat_common.http import PlanhatAuthError
from planhat_common.registry import readable_models
from tests.tap.helpers import run_tap, tap_config

DEFAULT_STREAMS = [m.name for m in readable_models() if m.selected_by_default]


def sandbox_ids(sandbox: Any, stream: str) -> set[str]:
    return {r["_id"] for r in sandbox.records(stream)}


def list_requests(sandbox: Any, path: str) -> list[dict[str, Any]]:
    return [r for r in sandbox.requests_log() if r["method"] == "GET" and r["path"] == path]


def test_full_sync_emits_exactly_the_sandbox_records_for_every_stream(sandbox: Any) -> None:
    output = run_tap(tap_config(sandbox))
    assert sorted(output.records) == sorted(DEFAULT_STREAMS)
    for stream in DEFAULT_STREAMS:
        assert output.ids(stream) == sandbox_ids(sandbox, stream), stream
        assert len(output.records[stream]) == len(output.ids(stream)), f"duplicates in {stream}"


def test_incremental_streams_leave_a_bookmark_and_full_table_streams_none(sandbox: Any) -> None:
    output = run_tap(tap_config(sandbox), streams={"companies", "invoices", "licenses"})
    bookmarks = output.final_state["bookmarks"]
    newest = max(r["updatedAt"] for r in output.records["companies"])
    assert bookmarks["companies"]["replication_key"] == "updatedAt"
    assert bookmarks["companies"]["replication_key_value"] == newest
    assert bookmarks["invoices"]["replication_key"] == "lastUpdated"
    assert "replication_key" not in bookmarks.get("licenses", {})


def test_replication_keys_are_normalised_to_utc_microseconds(sandbox: Any) -> None:
    output = run_tap(tap_config(sandbox), streams={"endusers"})
    values = [r["updatedAt"] for r in output.records["endusers"]]
    assert values
    assert all(v.endswith("+00:00") and len(v) == 32 for v in values)


def test_second_run_emits_only_changed_records(sandbox: Any) -> None:
    config = tap_config(sandbox, lookback_minutes=0)
    first = run_tap(config, streams={"companies"})
    changed = sorted(first.ids("companies"))[:3]
    sandbox.touch("companies", changed, {"city": "Changed City"})
    sandbox.clear_log()

    second = run_tap(config, state=first.final_state, streams={"companies"})

    bookmark = first.final_state["bookmarks"]["companies"]["replication_key_value"]
    # At least once: the record at the bookmark itself is read again.
    boundary = {r["_id"] for r in first.records["companies"] if r["updatedAt"] == bookmark}
    assert second.ids("companies") == set(changed) | boundary
    changed_records = [r for r in second.records["companies"] if r["_id"] in changed]
    assert {r["city"] for r in changed_records} == {"Changed City"}
    # Newest-first paging stops at the bookmark: one page for three changes.
    assert len(list_requests(sandbox, "/companies")) == 1
    assert (
        second.final_state["bookmarks"]["companies"]["replication_key_value"]
        > (first.final_state["bookmarks"]["companies"]["replication_key_value"])
    )


def test_start_date_in_the_future_emits_nothing_for_incremental_streams(sandbox: Any) -> None:
    output = run_tap(
        tap_config(sandbox, start_date="2999-01-01T00:00:00Z"), streams={"companies", "licenses"}
    )
    assert output.records["companies"] == []
    assert output.ids("licenses") == sandbox_ids(sandbox, "licenses")


def test_paging_asks_the_model_cap_and_stops_on_a_short_page(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(records=2_500)
    output = run_tap(tap_config(sandbox), streams={"endusers"})
    assert output.ids("endusers") == sandbox_ids(sandbox, "endusers")
    requests = list_requests(sandbox, "/endusers")
    # 2,000 + the short rest: no trailing empty page.
    assert [r["query"]["offset"] for r in requests] == ["0", "2000"]
    assert {r["query"]["limit"] for r in requests} == {"2000"}


def test_a_short_first_page_is_the_only_request(sandbox: Any) -> None:
    # 20 records: a page shorter than asked that no server would use as its cap.
    output = run_tap(tap_config(sandbox), streams={"licenses", "objectives"})
    for stream, path in (("licenses", "/licenses"), ("objectives", "/objectives")):
        assert output.ids(stream) == sandbox_ids(sandbox, stream)
        assert [r["query"]["offset"] for r in list_requests(sandbox, path)] == ["0"]


def test_a_round_short_first_page_is_confirmed(sandbox_factory: Any) -> None:
    # 300 records could be the first page of a server capping at 300: one more request.
    sandbox = sandbox_factory(model_records={"licenses": 300})
    output = run_tap(tap_config(sandbox), streams={"licenses"})
    assert output.ids("licenses") == sandbox_ids(sandbox, "licenses")
    assert [r["query"]["offset"] for r in list_requests(sandbox, "/licenses")] == ["0", "300"]


def test_a_server_cap_lower_than_asked_loses_nothing(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(model_records={"companies": 250, "licenses": 250})
    sandbox.set_faults(list_cap=100)
    # One page ahead at a time, so the pages asked for are exactly the sequential ones.
    config = tap_config(sandbox, max_parallel_requests=1)
    output = run_tap(config, streams={"companies", "licenses"})
    for stream in ("companies", "licenses"):
        assert output.ids(stream) == sandbox_ids(sandbox, stream)
    for path, limit in (("/companies", "5000"), ("/licenses", "2000")):
        requests = list_requests(sandbox, path)
        assert [r["query"]["offset"] for r in requests] == ["0", "100", "200"]
        assert {r["query"]["limit"] for r in requests} == {limit}


def test_sort_not_honoured_falls_back_to_a_full_scan(sandbox: Any) -> None:
    config = tap_config(sandbox, lookback_minutes=0, page_size=5)
    first = run_tap(config, streams={"endusers"})
    changed = sorted(first.ids("endusers"))[-2:]
    sandbox.touch("endusers", changed, {"position": "CTO"})
    sandbox.set_faults(ignore_sort=True)
    sandbox.clear_log()

    second = run_tap(config, state=first.final_state, streams={"endusers"})

    bookmark = first.final_state["bookmarks"]["endusers"]["replication_key_value"]
    boundary = {r["_id"] for r in first.records["endusers"] if r["updatedAt"] == bookmark}
    assert second.ids("endusers") == set(changed) | boundary
    total = len(sandbox.records("endusers"))
    assert len(list_requests(sandbox, "/endusers")) >= total // 5


@pytest.mark.parametrize(
    "faults",
    [
        {"status_burst": 3, "status_code": 503},
        {"status_burst": 2, "status_code": 500},
        {"status_burst": 2, "status_code": 502},
        {"status_burst": 2, "status_code": 504},
        {"rate_limit_burst": 3, "rate_limit_mode": "retry_after", "retry_after": 0},
        {"rate_limit_burst": 3, "rate_limit_mode": "headers"},
        {"rate_limit_burst": 3, "rate_limit_mode": "none"},
        {"reset": 2, "reset_mode": "before"},
        {"reset": 2, "reset_mode": "mid"},
        {"truncate": 2},
        {"error_object": 2},
        {"latency_ms": 20},
    ],
    ids=lambda f: "-".join(f"{k}={v}" for k, v in f.items()),
)
def test_transient_faults_leave_the_output_identical(sandbox: Any, faults: dict[str, Any]) -> None:
    clean = run_tap(tap_config(sandbox), streams={"companies", "licenses"})
    sandbox.set_faults(**faults)
    faulty = run_tap(tap_config(sandbox), streams={"companies", "licenses"})
    for stream in ("companies", "licenses"):
        assert faulty.ids(stream) == clean.ids(stream)
    assert faulty.final_state == clean.final_state


def test_401_names_token_and_region_without_leaking_the_token(sandbox: Any) -> None:
    secret = "tok_very_secret_value_123456"
    with pytest.raises((FatalAPIError, PlanhatAuthError)) as raised:
        run_tap(tap_config(sandbox, api_token=secret), streams={"companies"})
    message = str(raised.value)
    assert "401" in message
    assert "region" in message
    assert secret not in message


def test_plain_http_to_a_remote_host_is_refused() -> None:
    with pytest.raises(Exception, match="https"):
        run_tap(
            {"api_url": "http://api.planhat.com", "api_token": "x", "typed_custom_fields": False}
        )


def test_a_model_the_tenant_lacks_is_skipped_with_a_warning(sandbox: Any, caplog: Any) -> None:
    sandbox.set_faults(missing_models=["/workspaces"])
    output = run_tap(tap_config(sandbox), streams={"workspaces", "licenses"})
    assert output.records["workspaces"] == []
    assert output.ids("licenses") == sandbox_ids(sandbox, "licenses")
    assert any("'workspaces' skipped" in m for m in caplog.messages)
