"""tap-planhat in-process against the sandbox: lookback window, coercion, unknown fields, 403."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

import orjson
import pytest
from singer_sdk.exceptions import FatalAPIError
from werkzeug.serving import make_server

from planhat_common.http import PlanhatAuthError
from planhat_common.rescued import RESCUED
from planhat_sandbox.store import iso_ms
from tap_planhat.conversions import canonical_timestamp, is_timestamp
from tests.tap.helpers import run_tap, strict_validator, tap_config

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

#: 2024-01-01T00:00:00.000Z, the newest updatedAt of the companies loaded below.
NEWEST_MS = 1_704_067_200_000
MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS


def edit_records(sandbox: Any, model: str, changes: Mapping[str, Mapping[str, Any]]) -> None:
    """Replace the store with a dump in which the records named by ``_id`` have ``changes``.

    Values are written exactly as given (no server-side timestamp bump), so tests choose every
    updatedAt and can store values of the wrong type, as Planhat sometimes sends them.
    """
    data = sandbox.dump()
    found = set()
    for record in data["collections"][model]:
        change = changes.get(record["_id"])
        if change is not None:
            found.add(record["_id"])
            for name, value in change.items():
                if isinstance(value, dict) and isinstance(record.get(name), dict):
                    record[name] = {**record[name], **value}
                else:
                    record[name] = value
    assert found == set(changes), "edit_records: unknown _id"
    sandbox.load(data)


def company_ids(sandbox: Any) -> list[str]:
    return [r["_id"] for r in sandbox.records("companies")]


# -- lookback window -------------------------------------------------------------------------


@pytest.fixture
def hourly_companies(sandbox: Any) -> list[str]:
    """Companies whose updatedAt are one hour apart, the first one the newest (NEWEST_MS)."""
    ids = company_ids(sandbox)
    edit_records(
        sandbox,
        "companies",
        {cid: {"updatedAt": iso_ms(NEWEST_MS - i * HOUR_MS)} for i, cid in enumerate(ids)},
    )
    return ids


@pytest.mark.parametrize(
    ("lookback", "expected"),
    [(0, {"newest"}), (2.5, {"newest", "inside"}), (10, {"newest", "inside"}), (45, None)],
    ids=["lookback-0", "lookback-2.5", "lookback-10", "lookback-45"],
)
def test_second_run_rereads_records_inside_the_lookback_window_only(
    sandbox: Any, hourly_companies: list[str], lookback: float, expected: set[str] | None
) -> None:
    first = run_tap(tap_config(sandbox, lookback_minutes=lookback), streams={"companies"})
    assert first.ids("companies") == set(hourly_companies)
    bookmark = first.final_state["bookmarks"]["companies"]["replication_key_value"]
    assert bookmark.startswith("2024-01-01T00:00:00.000")

    # Writes that landed during the first run with timestamps older than its bookmark:
    # 2 minutes (inside a 2.5+ minute window) and 30 minutes (outside all but the 45 one).
    newest, inside, outside = hourly_companies[0], hourly_companies[5], hourly_companies[6]
    edit_records(
        sandbox,
        "companies",
        {
            inside: {"updatedAt": iso_ms(NEWEST_MS - 2 * MINUTE_MS), "city": "Inside"},
            outside: {"updatedAt": iso_ms(NEWEST_MS - 30 * MINUTE_MS), "city": "Outside"},
        },
    )
    sandbox.clear_log()

    second = run_tap(
        tap_config(sandbox, lookback_minutes=lookback),
        state=first.final_state,
        streams={"companies"},
    )

    names = {"newest": newest, "inside": inside, "outside": outside}
    wanted = {names[n] for n in expected or names}
    assert second.ids("companies") == wanted
    assert len(second.records["companies"]) == len(wanted)
    by_id = {r["_id"]: r for r in second.records["companies"]}
    if inside in by_id:
        assert by_id[inside]["city"] == "Inside"
        assert by_id[inside]["updatedAt"] == "2023-12-31T23:58:00.000000+00:00"
    # Newest first, the scan stops on the first page at the window's edge.
    pages = [r for r in sandbox.requests_log() if r["path"] == "/companies"]
    assert len(pages) == 1
    assert pages[0]["query"]["sort"] == "-updatedAt"
    # Nothing newer than the bookmark: it stays where it was.
    assert second.final_state["bookmarks"]["companies"]["replication_key_value"] == bookmark


def test_lookback_applies_to_every_incremental_stream(sandbox: Any) -> None:
    # invoices: replication key lastUpdated; endusers: updatedAt.
    stamps: dict[str, list[str]] = {}
    for model, key in (("invoices", "lastUpdated"), ("endusers", "updatedAt")):
        ids = [r["_id"] for r in sandbox.records(model)]
        edit_records(
            sandbox,
            model,
            {rid: {key: iso_ms(NEWEST_MS - i * HOUR_MS)} for i, rid in enumerate(ids)},
        )
        stamps[model] = ids
    config = tap_config(sandbox, lookback_minutes=10)
    first = run_tap(config, streams={"invoices", "endusers"})
    for model, key in (("invoices", "lastUpdated"), ("endusers", "updatedAt")):
        ids = stamps[model]
        edit_records(
            sandbox,
            model,
            {
                ids[3]: {key: iso_ms(NEWEST_MS - 5 * MINUTE_MS)},
                ids[4]: {key: iso_ms(NEWEST_MS - 15 * MINUTE_MS)},
            },
        )

    second = run_tap(config, state=first.final_state, streams={"invoices", "endusers"})

    for model in ("invoices", "endusers"):
        ids = stamps[model]
        assert second.ids(model) == {ids[0], ids[3]}, model


# -- coercion of values of the wrong type -----------------------------------------------------


def warnings_about(caplog: Any, *parts: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and all(p in r.getMessage() for p in parts)
    ]


def test_epoch_dates_and_numeric_strings_are_coerced(sandbox: Any, caplog: Any) -> None:
    ids = company_ids(sandbox)
    edit_records(
        sandbox,
        "companies",
        {
            ids[0]: {
                "phaseSince": 1_700_000_000_000,  # epoch milliseconds
                "lastTouch": 1_700_000_000,  # epoch seconds
                "mrr": "1234.5",
                "arr": "42",
                "orgLevel": "7",
                "custom": {
                    "Seats Purchased": "15.25",
                    "Kickoff Day": 1_600_000_000_000,
                    "Reference Customer": "true",
                },
            },
        },
    )
    caplog.set_level(logging.WARNING)
    output = run_tap(tap_config(sandbox), streams={"companies"})

    record = {r["_id"]: r for r in output.records["companies"]}[ids[0]]
    assert record["phaseSince"] == "2023-11-14T22:13:20.000000+00:00"
    assert record["lastTouch"] == "2023-11-14T22:13:20.000000+00:00"
    assert record["mrr"] == 1234.5
    assert record["arr"] == 42
    assert isinstance(record["arr"], int)
    assert record["orgLevel"] == "7"  # a string or an integer (docs/field-types.md): kept
    assert record["custom"]["Seats Purchased"] == 15.25
    assert record["custom"]["Kickoff Day"] == "2020-09-13T12:26:40.000000+00:00"
    assert record["custom"]["Reference Customer"] is True
    # Converted values are not problems: nothing is logged for them.
    assert warnings_about(caplog, ids[0]) == []


def test_values_that_fit_no_declared_type_are_rescued_and_logged_once(
    sandbox: Any, caplog: Any
) -> None:
    ids = company_ids(sandbox)
    edit_records(
        sandbox,
        "companies",
        {
            ids[1]: {
                "mrr": "n/a",
                "phaseSince": "last spring",
                "custom": {"Seats Purchased": "lots"},
            },
            ids[2]: {"mrr": "unknown", "orgLevel": 7.5, "tags": {"not": "a list"}},
        },
    )
    caplog.set_level(logging.WARNING)
    output = run_tap(tap_config(sandbox), streams={"companies"})

    records = {r["_id"]: r for r in output.records["companies"]}
    assert output.ids("companies") == set(ids)
    assert records[ids[1]]["mrr"] is None
    assert records[ids[1]]["phaseSince"] is None
    assert records[ids[1]]["custom"]["Seats Purchased"] is None
    assert records[ids[1]][RESCUED] == {
        "mrr": "n/a",
        "phaseSince": "last spring",
        "custom": {"Seats Purchased": "lots"},
    }
    assert records[ids[2]][RESCUED] == {"mrr": "unknown", "tags": {"not": "a list"}}
    assert records[ids[2]]["orgLevel"] == "7.5"  # strings allowed: the number's JSON text
    validator = strict_validator(output.schemas["companies"])
    for record in records.values():
        validator.validate(record)

    mrr = warnings_about(caplog, "'companies'", "'mrr'")
    # One warning per stream and field, with the count and the first offending record.
    assert len(mrr) == 1
    assert "2 value(s)" in mrr[0]
    assert ids[1] in mrr[0] or ids[2] in mrr[0]
    custom = warnings_about(caplog, "'companies'", ids[1], "'custom.Seats Purchased'")
    assert len(custom) == 1
    assert len(warnings_about(caplog, "'companies'", ids[2], "'tags'")) == 1
    assert warnings_about(caplog, "'orgLevel'") == []


def test_an_out_of_range_epoch_is_rescued_not_a_crash(sandbox: Any, caplog: Any) -> None:
    ids = company_ids(sandbox)
    edit_records(sandbox, "companies", {ids[3]: {"phaseSince": 1_700_000_000_000_000}})
    caplog.set_level(logging.WARNING)
    output = run_tap(tap_config(sandbox), streams={"companies"})
    record = {r["_id"]: r for r in output.records["companies"]}[ids[3]]
    assert record["phaseSince"] is None
    assert record[RESCUED]["phaseSince"] == 1_700_000_000_000_000
    assert warnings_about(caplog, "'companies'", ids[3], "'phaseSince'")


@pytest.mark.parametrize("text", ["NaN", "Infinity", "1e999"])
def test_a_non_finite_numeric_string_is_not_silently_nulled(
    sandbox: Any, caplog: Any, text: str
) -> None:
    ids = company_ids(sandbox)
    edit_records(sandbox, "companies", {ids[4]: {"mrr": text}})
    caplog.set_level(logging.WARNING)
    output = run_tap(tap_config(sandbox), streams={"companies"})
    record = {r["_id"]: r for r in output.records["companies"]}[ids[4]]
    assert record[RESCUED]["mrr"] == text
    assert warnings_about(caplog, "'companies'", ids[4], "'mrr'")


# -- fields outside the schema ---------------------------------------------------------------


def test_fields_outside_the_schema_are_emitted_unchanged(sandbox: Any) -> None:
    ids = company_ids(sandbox)
    nested = {"level": [1, {"deep": None, "flag": True}], "when": "2023-05-01T00:00:00.000Z"}
    extras = {
        "brandNewField": "hello",
        "brandNewObject": nested,
        "brandNewNumber": "12",  # unknown, so not coerced
        "custom": {"Undeclared Custom": 17, "Undeclared Object": {"a": [1, 2]}},
    }
    edit_records(sandbox, "companies", {ids[0]: extras})

    for typed in (True, False):
        output = run_tap(tap_config(sandbox, typed_custom_fields=typed), streams={"companies"})
        record = {r["_id"]: r for r in output.records["companies"]}[ids[0]]
        assert record["brandNewField"] == "hello", typed
        assert record["brandNewObject"] == nested, typed
        assert record["brandNewNumber"] == "12", typed
        assert record["custom"]["Undeclared Custom"] == 17, typed
        assert record["custom"]["Undeclared Object"] == {"a": [1, 2]}, typed
        # Declared custom fields are still there next to the undeclared ones (typed date
        # fields in the tap's one timestamp spelling).
        stored = {r["_id"]: r for r in sandbox.records("companies")}[ids[0]]
        assert record["custom"] == {
            name: canonical_timestamp(value) if typed and _is_text_timestamp(value) else value
            for name, value in stored["custom"].items()
        }, typed
        schema = output.schemas["companies"]
        assert "brandNewField" not in schema["properties"]
        assert schema["additionalProperties"] is True


def _is_text_timestamp(value: Any) -> bool:
    return isinstance(value, str) and is_timestamp(value)


# -- 403 ---------------------------------------------------------------------------------------


class Forbidding:
    """WSGI middleware over the real sandbox app: 403 on some paths, as a service account without
    permission for a model gets (docs/planhat-api.md, "Errors and odd responses"). The sandbox
    itself only answers 401 on the main API. The 403 body echoes the Authorization header, so a
    leak through the body shows.
    """

    def __init__(self, app: Callable[..., Iterable[bytes]], paths: set[str]) -> None:
        self.app = app
        self.paths = paths
        self.hits: list[str] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        if path in self.paths:
            self.hits.append(path)
            body = orjson.dumps(
                {"error": "forbidden", "authorization": environ.get("HTTP_AUTHORIZATION")}
            )
            start_response(
                "403 FORBIDDEN",
                [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
            )
            return [body]
        return self.app(environ, start_response)


SECRET = "tok_forbidden_secret_value_987654"


@pytest.fixture
def forbidding(sandbox_factory: Any) -> Iterator[Callable[[set[str]], tuple[str, Forbidding]]]:
    sandbox = sandbox_factory(token=SECRET)
    servers = []

    def start(paths: set[str]) -> tuple[str, Forbidding]:
        app = Forbidding(sandbox.app, paths)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}", app

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _assert_auth_message(message: str) -> None:
    assert "403" in message
    assert "token" in message
    assert "region" in message
    assert SECRET not in message


@pytest.mark.parametrize("typed", [False, True])
def test_403_on_a_stream_stops_with_token_and_region_and_no_secret(
    forbidding: Any, typed: bool
) -> None:
    url, app = forbidding({"/companies"})
    config = {
        "api_url": url,
        "api_token": SECRET,
        "max_requests_per_minute": 0,
        "retry_max_wait_seconds": 0.01,
        "typed_custom_fields": typed,
    }
    with pytest.raises((FatalAPIError, PlanhatAuthError)) as raised:
        run_tap(config, streams={"companies"})
    _assert_auth_message(str(raised.value))
    assert "companies" in str(raised.value)
    assert app.hits == ["/companies"]  # not retried


def test_403_at_discovery_stops_with_token_and_region_and_no_secret(forbidding: Any) -> None:
    url, app = forbidding({"/customfields"})
    config = {
        "api_url": url,
        "api_token": SECRET,
        "max_requests_per_minute": 0,
        "retry_max_wait_seconds": 0.01,
    }
    with pytest.raises((FatalAPIError, PlanhatAuthError)) as raised:
        run_tap(config, streams={"companies"})
    _assert_auth_message(str(raised.value))
    assert app.hits == ["/customfields"]
