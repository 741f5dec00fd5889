"""Contract tests: the singer-sdk behaviour tap_planhat and target_planhat rely on.

The tap and target depend on when and how singer-sdk calls their hooks (sink creation at
SCHEMA, the per-record pipeline, draining and STATE, clean-up errors, the click command,
the REST request loop, the SDK's log notices). None of that is a documented promise, so an
SDK upgrade could change it without any error. Each test here checks one such assumption
against singer-sdk itself, with small dummy Tap/Stream/Target/Sink classes (never the
project's own), and its assertion message names the assumption and the project code that
relies on it, so a failure after an upgrade says what to revisit.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import logging
import sys
import threading
import urllib.parse
import warnings
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import click
import pytest
from click.testing import CliRunner
from singer_sdk import RESTStream, Stream, Tap, Target
from singer_sdk import typing as th
from singer_sdk.exceptions import FatalAPIError, MissingKeyPropertiesError, RetriableAPIError
from singer_sdk.helpers._state import increment_state
from singer_sdk.io_base import SingerMessageType, SingerReader
from singer_sdk.pagination import OffsetPaginator
from singer_sdk.plugin_base import _ConfigInput
from singer_sdk.singerlib import SelectionMask
from singer_sdk.sinks import BatchSink

from tap_planhat.paging.upcoming import predicted_start_value

#: Placeholder a sink puts in for a missing key property (as PlanhatSink does).
_MISSING = object()

ITEMS_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": ["integer", "null"]},
        "keep": {"type": ["boolean", "null"]},
    },
}


def _broken(assumption: str, relies: str) -> str:
    return f"singer-sdk contract broken: {assumption}. {relies} relies on this."


# -- target side ------------------------------------------------------------------------------


def _schema(stream: str = "items") -> dict:
    schema = copy.deepcopy(ITEMS_SCHEMA)
    return {"type": "SCHEMA", "stream": stream, "schema": schema, "key_properties": ["id"]}


def _record(record_id: int | None, stream: str = "items", **fields: object) -> dict:
    record = {} if record_id is None else {"id": record_id}
    return {"type": "RECORD", "stream": stream, "record": {**record, **fields}}


def _state(value: dict) -> dict:
    return {"type": "STATE", "value": value}


class _EventStdout(io.StringIO):
    """Stdout that also logs each write into the target's event list."""

    def __init__(self, events: list) -> None:
        super().__init__()
        self.events = events

    def write(self, text: str) -> int:
        self.events.append(("stdout", text))
        return super().write(text)


class _EventSink(BatchSink):
    """Batches records and logs what the SDK asks of it into ``target.events``."""

    def __init__(self, target, stream_name, schema, key_properties) -> None:
        self.events = target.events
        super().__init__(target, stream_name, schema, key_properties)
        self.events.append(("init", stream_name))

    def process_record(self, record, context) -> None:
        self.events.append(("record", self.stream_name, record.get("id")))
        super().process_record(record, context)

    def process_batch(self, context) -> None:
        ids = [r.get("id") for r in context.get("records", [])]
        self.events.append(("batch", self.stream_name, ids))


class _Target(Target):
    name = "target-sdk-contract"
    config_jsonschema = th.PropertiesList().to_dict()
    default_sink_class = _EventSink

    def __init__(self) -> None:
        self.events: list = []
        super().__init__(config={}, parse_env_config=False)
        self.max_parallelism = 1  # as TargetPlanhat: drain sinks one after the other


def _target(sink_class: type[BatchSink] = _EventSink) -> _Target:
    return type("_ContractTarget", (_Target,), {"default_sink_class": sink_class})()


def _listen(target: Target, messages: list[dict]) -> str:
    """Run ``target`` in-process on ``messages``; return what it wrote to stdout."""
    out = _EventStdout(getattr(target, "events", []))
    with contextlib.redirect_stdout(out):
        target.listen(io.StringIO("".join(json.dumps(m) + "\n" for m in messages)))
    return out.getvalue()


class _RefusedStreamError(Exception):
    pass


def test_get_sink_class_is_called_at_schema():
    class Refusing(_Target):
        def get_sink_class(self, stream_name):
            raise _RefusedStreamError(stream_name)

    refused = False
    try:
        _listen(Refusing(), [_schema("unknown")])  # a SCHEMA, no RECORD
    except _RefusedStreamError:
        refused = True
    assert refused, _broken(
        "Target.get_sink_class(stream_name) is called when the SCHEMA message arrives, so a "
        "refused stream fails at its SCHEMA even without records",
        "target_planhat/target.py TargetPlanhat.get_sink_class (unknown streams fail there)",
    )


class _TransformingSink(_EventSink):
    """Stores a transformed ``schema`` but keeps the incoming one in ``original_schema``."""

    def __init__(self, target, stream_name, schema, key_properties) -> None:
        transformed = copy.deepcopy(schema)
        transformed["properties"]["added_by_sink"] = {"type": ["string", "null"]}
        super().__init__(target, stream_name, transformed, key_properties)
        self.original_schema = copy.deepcopy(schema)


def test_get_sink_keeps_the_sink_when_original_schema_is_unchanged():
    target = _target(_TransformingSink)
    _listen(target, [_schema(), _record(1)])
    sink = target.get_sink("items")
    assert sink.schema != sink.original_schema  # the dummy's transform took effect

    again = target.get_sink("items", schema=copy.deepcopy(ITEMS_SCHEMA), key_properties=["id"])

    assert again is sink, _broken(
        "Target.get_sink keeps the existing sink when its original_schema equals the new "
        "SCHEMA (it compares original_schema, not the sink's transformed schema)",
        "target_planhat/sinks/base.py PlanhatSink.__init__ (stores sink_schema(schema) as "
        "schema and resets original_schema to the tap's schema)",
    )


def test_repeated_identical_schema_message_keeps_the_sink():
    target = _target(_TransformingSink)
    _listen(target, [_schema(), _record(1), _schema(), _record(2)])

    inits = [e for e in target.events if e[0] == "init"]
    batches = [e for e in target.events if e[0] == "batch"]
    assert (inits, batches) == ([("init", "items")], [("batch", "items", [1, 2])]), _broken(
        "a second, identical SCHEMA message for a stream keeps its sink (same batch, no new "
        "sink) although the sink transformed its schema",
        "target_planhat/sinks/base.py PlanhatSink.__init__ (original_schema kept as the tap "
        "sent it)",
    )


class _FillingSink(_EventSink):
    def preprocess_record(self, record, context):  # noqa: ARG002
        missing = [k for k in self.key_properties if k not in record]
        record.update(dict.fromkeys(missing, _MISSING))
        return record


def test_preprocess_record_runs_before_the_key_property_check():
    target = _target(_FillingSink)
    relies = (
        "target_planhat/sinks/base.py PlanhatSink.preprocess_record (fills a missing key "
        "property with None and flags the record in RecordFlags, to dead-letter it)"
    )
    assumption = (
        "Sink.preprocess_record runs before the key-property check, so a record missing a "
        "key property passes when preprocess_record fills it"
    )
    try:
        _listen(target, [_schema(), _record(None, keep=True)])
    except MissingKeyPropertiesError as exc:
        pytest.fail(f"{_broken(assumption, relies)} ({exc})")

    assert ("record", "items", _MISSING) in target.events, _broken(assumption, relies)


class _CountingSink(_EventSink):
    """Full after two records it batched; records it leaves out do not count."""

    def __init__(self, target, stream_name, schema, key_properties) -> None:
        super().__init__(target, stream_name, schema, key_properties)
        self.batched = 0

    @property
    def is_full(self) -> bool:
        return self.batched >= 2

    def process_record(self, record, context) -> None:
        self.events.append(("record", self.stream_name, record["id"]))
        if record["keep"]:
            context.setdefault("records", []).append(record)
            self.batched += 1

    def process_batch(self, context) -> None:
        super().process_batch(context)
        self.batched = 0


def test_is_full_is_asked_after_each_record_and_drains_the_sink():
    target = _target(_CountingSink)
    keeps = [True, False, True, False, True]
    _listen(target, [_schema()] + [_record(i, keep=k) for i, k in enumerate(keeps, 1)])

    steps = [e[2] for e in target.events if e[0] in {"record", "batch"}]
    assert steps == [1, 2, 3, [1, 3], 4, 5, [5]], _broken(
        "after each process_record the target reads the sink's (overridable) is_full property "
        "and drains the sink (process_batch) as soon as it is True",
        "target_planhat/sinks/base.py PlanhatSink.is_full (counts only records it batched)",
    )


class _InFlightSink(_EventSink):
    """``current_size`` counts +1 while a (simulated) background write is in flight."""

    def __init__(self, target, stream_name, schema, key_properties) -> None:
        super().__init__(target, stream_name, schema, key_properties)
        self.in_flight = False

    @property
    def current_size(self) -> int:
        return super().current_size + (1 if self.in_flight else 0)

    def process_batch(self, context) -> None:
        super().process_batch(context)
        self.in_flight = False  # the drain waited for the write


def test_drain_all_drains_only_sinks_whose_current_size_is_not_zero():
    target = _target(_InFlightSink)
    _listen(target, [_schema("busy"), _schema("idle"), _record(1, "busy"), _record(2, "idle")])
    target.get_sink("busy").in_flight = True  # as if its full batch were still being written
    target.events.clear()

    target.drain_all()  # as at end of input, before STATE

    batches = [e for e in target.events if e[0] == "batch"]
    assert batches == [("batch", "busy", [])], _broken(
        "drain_all (end of input, before STATE) drains exactly the sinks whose current_size "
        "is not 0, reading the sink's overridden current_size",
        "target_planhat/sinks/base.py PlanhatSink.current_size (+1 while a write is in flight) "
        "and "
        "target_planhat/sinks/writer.py BatchWriter",
    )


def test_state_is_written_only_after_drain_all_drained_the_sinks():
    target = _target()
    _listen(target, [_schema(), _record(1), _state({"bookmarks": 1})])

    steps = [e for e in target.events if e[0] in {"batch", "stdout"}]
    assert steps == [("batch", "items", [1]), ("stdout", '{"bookmarks": 1}\n')], _broken(
        "the target writes a STATE it received only from drain_all, after the sinks holding "
        f"earlier records were drained (got {steps})",
        "target_planhat/sinks/writer.py BatchWriter and PlanhatSink.current_size in "
        "target_planhat/sinks/base.py (STATE must not run ahead of written data)",
    )


class _RejectedError(Exception):
    pass


class _FailingCleanUpSink(_EventSink):
    def clean_up(self) -> None:
        super().clean_up()
        raise _RejectedError("too many rejected records")


def test_clean_up_error_propagates_and_final_state_is_not_written():
    target = _target(_FailingCleanUpSink)
    messages = [_schema(), _record(1), _state({"bookmarks": 1})]
    out = io.StringIO()
    raised = False
    with contextlib.redirect_stdout(out):
        try:
            target.listen(io.StringIO("".join(json.dumps(m) + "\n" for m in messages)))
        except _RejectedError:
            raised = True

    relies = (
        "target_planhat/sinks/registry.py SinkRegistry.finish_run (raises RejectedRecordsError)"
    )
    assert raised, _broken("an exception from Sink.clean_up() propagates out of listen()", relies)
    assert out.getvalue() == "", _broken(
        "when Sink.clean_up() raises at end of input, the final STATE is not written", relies
    )


class _DivertingReader(SingerReader):
    """Hands STATE messages to its own list instead of the target's callback."""

    def __init__(self) -> None:
        super().__init__()
        self.diverted: list = []

    def process_lines(self, file_input, callbacks):
        callbacks = {**callbacks, SingerMessageType.STATE: self.diverted.append}
        return super().process_lines(file_input, callbacks)


def test_a_state_the_reader_diverts_is_never_written():
    target = type("_DivertingTarget", (_Target,), {"message_reader_class": _DivertingReader})()
    messages = [_schema(), _record(1), _state({"bookmarks": 1}), _record(2)]
    out = _listen(target, [*messages, _state({"bookmarks": 2})])

    relies = "target_planhat/reader.py FastSingerReader.divert_state (dry runs write no STATE)"
    assert [m["value"] for m in target.message_reader.diverted] == [
        {"bookmarks": 1},
        {"bookmarks": 2},
    ], _broken(
        "Target.listen hands every STATE message to the callbacks[SingerMessageType.STATE] "
        "its message reader's process_lines(file_input, callbacks) receives",
        relies,
    )
    batches = [e for e in target.events if e[0] == "batch"]
    assert (out, batches) == ("", [("batch", "items", [1, 2])]), _broken(
        "the target writes only a STATE its own STATE callback received: with every STATE "
        f"handed elsewhere it writes none, and still drains its sinks (got {out!r}, {batches})",
        relies,
    )


def test_a_full_sink_is_announced_on_the_targets_own_logger(caplog):
    target = _target(_CountingSink)
    with caplog.at_level(logging.INFO, logger=target.name):
        _listen(target, [_schema()] + [_record(i, keep=True) for i in (1, 2, 3)])

    announced = [
        (r.name, r.msg, r.args)
        for r in caplog.records
        if str(r.msg).startswith("Target sink for '%s' is full.")
    ]
    assert announced == [
        (
            target.name,
            "Target sink for '%s' is full. Current size is '%s'. Draining...",
            ("items", 2),
        )
    ], _broken(
        "when is_full is True the SDK logs one INFO record on the target's own logger "
        "(logging.getLogger(target.name)) whose msg starts \"Target sink for '%s' is full.\" "
        f"(got {announced})",
        "target_planhat/outcomes/counts.py FullSinkNoticeFilter (replaced by a line per "
        "written batch)",
    )


class _CliTarget(_Target):
    received: list = []  # noqa: RUF012 (reset by the test)

    @classmethod
    def get_singer_command(cls) -> click.Command:
        command = super().get_singer_command()
        command.params.append(click.Option(["--flag"], is_flag=True))
        return command

    @classmethod
    def invoke(  # type: ignore[override]
        cls,
        *,
        about: bool = False,
        about_format: str | None = None,
        config=None,
        file_input=None,
        flag: bool = False,
    ) -> None:
        # The same keyword-only parameters as TargetPlanhat.invoke: an option the SDK adds
        # would arrive as an unexpected keyword and fail the command.
        cls.received.append(
            {
                "about": about,
                "about_format": about_format,
                "config": config,
                "file_input": file_input,
                "flag": flag,
            }
        )


def test_singer_command_calls_invoke_with_every_option_including_an_added_one(monkeypatch):
    # SingerCommand.invoke installs an excepthook and captures warnings: undo both afterwards.
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)
    monkeypatch.setattr(logging, "_warnings_showwarning", logging._warnings_showwarning)
    monkeypatch.setattr(_CliTarget, "received", [])

    command = _CliTarget.get_singer_command()
    result = CliRunner().invoke(command, ["--flag"])

    relies = "target_planhat/target.py TargetPlanhat.get_singer_command / invoke (--test)"
    assert command.callback == _CliTarget.invoke, _broken(
        "get_singer_command() returns a click command whose callback is cls.invoke", relies
    )
    assert result.exit_code == 0, _broken(
        "the command calls invoke with exactly about, about_format, config, file_input and "
        f"any added option as keywords (got {result.exception!r}: {result.output})",
        relies,
    )
    [kwargs] = _CliTarget.received
    assert kwargs["flag"] is True, _broken(
        "an option appended to the command reaches invoke", relies
    )
    assert isinstance(kwargs["config"], _ConfigInput), _broken(
        "invoke receives config as the SDK's _ConfigInput (.config, .parse_env)", relies
    )


# -- tap side ---------------------------------------------------------------------------------


class _PagesServer(HTTPServer):
    """Serves ``pages[offset]`` (a JSON array) for ``GET /items?offset=N``."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _PagesHandler)
        self.pages: dict[int, list[dict]] = {}
        self.requested: list[int] = []
        #: Statuses to answer, one per request, before any page is served.
        self.refusals: list[int] = []

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


class _PagesHandler(BaseHTTPRequestHandler):
    server: _PagesServer

    def do_GET(self) -> None:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        offset = int(query.get("offset", ["0"])[0])
        self.server.requested.append(offset)
        status = self.server.refusals.pop(0) if self.server.refusals else 200
        body = json.dumps(self.server.pages.get(offset, []) if status == 200 else {}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args) -> None:  # noqa: A002, ARG002
        return


@pytest.fixture
def api():
    server = _PagesServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


PAGE_SIZE = 2


class _Paginator(OffsetPaginator):
    def __init__(self, *, last_offset: int, go_on_when_empty: bool) -> None:
        super().__init__(0, PAGE_SIZE)
        self._last_offset = last_offset
        self._go_on_when_empty = go_on_when_empty

    def has_more(self, response) -> bool:  # noqa: ARG002
        return self.current_value < self._last_offset

    def continue_if_empty(self, response) -> bool:  # noqa: ARG002
        return self._go_on_when_empty


class _PagedStream(RESTStream[int]):
    """Reads /items by offset and logs the SDK's calls into ``events``."""

    def __init__(self, tap: Tap) -> None:
        self.events: list = []
        super().__init__(tap, name="items", schema=copy.deepcopy(ITEMS_SCHEMA), path="/items")

    @property
    def url_base(self) -> str:
        return self.config["api_url"]

    def get_new_paginator(self) -> _Paginator:
        return _Paginator(
            last_offset=self.config["last_offset"],
            go_on_when_empty=self.config["go_on_when_empty"],
        )

    def get_http_request(self, *, page):
        request = super().get_http_request(page=page)
        request.params["offset"] = page.next_page_token or 0
        return request

    def validate_response(self, response) -> None:
        self.events.append(("validate", response))
        super().validate_response(response)

    def parse_response(self, response):
        self.events.append(("parse", response))
        return response.json()

    def get_records(self, context):
        for record in super().get_records(context):
            self.events.append(("get_records", record["id"]))
            yield record

    def post_process(self, row, context=None):  # noqa: ARG002
        self.events.append(("post_process", row["id"]))
        return row


class _Tap(Tap):
    name = "tap-sdk-contract"
    config_jsonschema = th.PropertiesList(
        th.Property("api_url", th.StringType),
        th.Property("last_offset", th.IntegerType),
        th.Property("go_on_when_empty", th.BooleanType),
    ).to_dict()

    def discover_streams(self):
        return [_PagedStream(self)]


def _sync(
    api: _PagesServer,
    pages: dict[int, list[int]],
    *,
    last_offset: int,
    go_on_when_empty: bool = False,
) -> _PagedStream:
    """Sync a dummy stream against ``api`` serving ``pages`` (offset -> ids); stdout dropped."""
    api.pages = {offset: [{"id": i} for i in ids] for offset, ids in pages.items()}
    config = {"api_url": api.url, "last_offset": last_offset, "go_on_when_empty": go_on_when_empty}
    tap = _Tap(config=config, parse_env_config=False)
    stream = tap.streams["items"]
    assert isinstance(stream, _PagedStream)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            stream.sync()
    finally:
        stream.requests_session.close()
    return stream


def test_validate_response_runs_before_parse_response_with_the_same_response(api):
    stream = _sync(api, {0: [1, 2], 2: [3]}, last_offset=2)

    calls = [(kind, resp) for kind, resp in stream.events if kind in {"validate", "parse"}]
    relies = (
        "tap_planhat/http_stream.py validate_response, streams.py parse_response (the decoded page "
        "handed over in tap_planhat/paging/paginator.py ValidatedPages)"
    )
    assert [kind for kind, _ in calls] == ["validate", "parse"] * 2, _broken(
        "for each page, validate_response(response) is called, then parse_response(response)",
        relies,
    )
    assert calls[0][1] is calls[1][1], _broken(
        "parse_response gets the very response object validate_response got", relies
    )
    assert calls[2][1] is calls[3][1], _broken(
        "parse_response gets the very response object validate_response got", relies
    )
    assert calls[0][1] is not calls[2][1], "two pages should give two responses"


def test_a_page_without_records_ends_pagination(api):
    stream = _sync(api, {0: [1, 2], 2: [], 4: [3]}, last_offset=4)

    got = [e[1] for e in stream.events if e[0] == "get_records"]
    assert (api.requested, got) == ([0, 2], [1, 2]), _broken(
        "a page with no records ends pagination when the paginator's continue_if_empty is False",
        "tap_planhat/paging/paginator.py PlanhatPaginator.continue_if_empty",
    )


def test_an_empty_page_goes_on_when_the_paginator_says_continue(api):
    stream = _sync(api, {0: [1, 2], 2: [], 4: [3]}, last_offset=4, go_on_when_empty=True)

    got = [e[1] for e in stream.events if e[0] == "get_records"]
    assert (api.requested, got) == ([0, 2, 4], [1, 2, 3]), _broken(
        "an empty page is skipped and pagination advances when continue_if_empty is True",
        "tap_planhat/paging/paginator.py PlanhatPaginator.continue_if_empty (pages whose records "
        "tap_planhat/streams.py PlanhatStream.parse_response filtered out)",
    )


def test_get_records_and_post_process_run_per_record_in_page_order(api):
    stream = _sync(api, {0: [1, 2], 2: [3]}, last_offset=2)

    steps = [(k, v if k in {"get_records", "post_process"} else "page") for k, v in stream.events]
    steps = [s for s in steps if s[0] != "validate"]
    assert steps == [
        ("parse", "page"),
        ("get_records", 1),
        ("post_process", 1),
        ("get_records", 2),
        ("post_process", 2),
        ("parse", "page"),
        ("get_records", 3),
        ("post_process", 3),
    ], _broken(
        "records are streamed: each record goes through get_records then post_process, in page "
        "order, and a page's records are all processed before the next page is parsed",
        "tap_planhat/streams.py PlanhatStream.get_records/parse_response (flush_output of the "
        "previous page) and PlanhatStream.post_process (coercion)",
    )


# -- log notices ------------------------------------------------------------------------------


@pytest.fixture
def sdk_log(monkeypatch, caplog):
    """Records of the 'singer_sdk' logger, without filters other code may have installed."""
    logger = logging.getLogger("singer_sdk")
    monkeypatch.setattr(logger, "filters", [])  # TapPlanhat installs log_notices' filter
    monkeypatch.setattr(logger, "propagate", True)
    monkeypatch.setattr(logger, "disabled", False)
    with caplog.at_level(logging.WARNING, logger="singer_sdk"):
        yield caplog


def _sdk_messages(caplog) -> list[str]:
    return [str(r.msg) for r in caplog.records if r.name == "singer_sdk"]


def test_unsorted_stream_notice_is_logged_on_the_singer_sdk_logger(sdk_log):
    increment_state(
        {},
        latest_record={"updated": "2024-01-01T00:00:00+00:00"},
        replication_key="updated",
        is_sorted=False,
        check_sorted=False,
    )

    messages = _sdk_messages(sdk_log)
    assert any(m.startswith("Stream is assumed to be unsorted") for m in messages), _broken(
        "the SDK logs 'Stream is assumed to be unsorted, progress is not resumable if "
        f"interrupted' (record.msg) on the logger named 'singer_sdk' (got {messages})",
        "tap_planhat/log_notices.py SdkNoticeFilter / quiet_sdk_notices",
    )


def test_null_replication_value_notice_is_logged_on_the_singer_sdk_logger(sdk_log):
    increment_state(
        {},
        latest_record={"updated": None},
        replication_key="updated",
        is_sorted=True,
        check_sorted=False,
    )

    messages = _sdk_messages(sdk_log)
    assert any(m.startswith("New replication value is null") for m in messages), _broken(
        "the SDK logs 'New replication value is null' (record.msg) on the logger named "
        f"'singer_sdk' (got {messages})",
        "tap_planhat/log_notices.py SdkNoticeFilter / quiet_sdk_notices",
    )


class _RetriedStream(_PagedStream):
    """Refuses the first two answers as retriable; records what backoff does with them."""

    def __init__(self, tap: Tap) -> None:
        super().__init__(tap)
        self.refusals = 2
        self.sent_to_waits: list = []
        self.handler_waits: list = []
        self.sessions_used: list = []
        self.threads: dict[str, set[int]] = {"request": set(), "waits": set()}

    @property
    def requests_session(self):
        session = super().requests_session
        self.sessions_used.append(session)
        return session

    def validate_response(self, response) -> None:
        self.threads["request"].add(threading.get_ident())
        if self.refusals:
            self.refusals -= 1
            raise RetriableAPIError("refused", response)
        super().validate_response(response)

    def backoff_wait_generator(self):
        def waits():
            exc = yield 0.0
            while True:
                self.sent_to_waits.append(exc)
                self.threads["waits"].add(threading.get_ident())
                exc = yield 0.01

        return waits()

    def backoff_jitter(self, value: float) -> float:
        return value  # as PlanhatHTTPStream: the policy's waits, unjittered

    def backoff_handler(self, details) -> None:
        self.handler_waits.append(details["wait"])


class _RetryTap(_Tap):
    def discover_streams(self):
        return [_RetriedStream(self)]


def test_backoff_sends_each_failure_to_the_wait_generator_and_sleeps_what_it_yields(api):
    api.pages = {0: [{"id": 1}]}
    config = {"api_url": api.url, "last_offset": 0, "go_on_when_empty": False}
    stream = _RetryTap(config=config, parse_env_config=False).streams["items"]
    assert isinstance(stream, _RetriedStream)
    with contextlib.redirect_stdout(io.StringIO()):
        stream.sync()
    relies = (
        "nothing in tap-planhat any more: its streams replace the SDK's backoff through "
        "request_decorator (see the request_decorator tests below); kept as a record of the "
        "SDK's default retry path"
    )
    assert [type(e) for e in stream.sent_to_waits] == [RetriableAPIError] * 2, _broken(
        "backoff primes backoff_wait_generator() with send(None), then sends each failure",
        relies,
    )
    assert stream.handler_waits == [0.01, 0.01], _broken(
        "backoff_handler gets details['wait'] = what the wait generator yielded", relies
    )
    assert api.requested == [0, 0, 0], _broken("each retry sends the request again", relies)
    assert stream.threads["waits"] == stream.threads["request"], _broken(
        "the wait generator runs in the thread that sends the request",
        "nothing in tap-planhat any more (the wait used to travel in a context variable)",
    )
    assert stream.sessions_used, _broken(
        "requests are sent through the requests_session property",
        "tap_planhat/http_stream.py requests_session (a connection pool per call in flight)",
    )


class _DecoratedStream(_PagedStream):
    """Sends through ``request_decorator`` with no retries; records what goes through it."""

    def __init__(self, tap: Tap) -> None:
        super().__init__(tap)
        self.decorated: list = []
        self.sent: list = []

    def request_decorator(self, func):
        self.decorated.append(func)

        def send(prepared_request, context):
            self.sent.append((prepared_request, context))
            return func(prepared_request, context)

        return send


class _DecoratedTap(_Tap):
    def discover_streams(self):
        return [_DecoratedStream(self)]


def _decorated(api: _PagesServer) -> _DecoratedStream:
    config = {"api_url": api.url, "last_offset": 2, "go_on_when_empty": False}
    stream = _DecoratedTap(config=config, parse_env_config=False).streams["items"]
    assert isinstance(stream, _DecoratedStream)
    return stream


REQUEST_HOOK = (
    "tap_planhat/http_stream.py request_decorator (every attempt goes through "
    "planhat_common/sender.py Sender.send instead of the SDK's backoff)"
)


def test_every_request_goes_through_what_request_decorator_returns(api):
    api.pages = {0: [{"id": 1}, {"id": 2}], 2: [{"id": 3}]}
    stream = _decorated(api)
    with contextlib.redirect_stdout(io.StringIO()):
        stream.sync()

    assert len(stream.decorated) == 1, _broken(
        "request_decorator is called once per sync, with the SDK's request function",
        REQUEST_HOOK,
    )
    assert api.requested == [0, 2], "two pages should take two requests"
    assert [type(p).__name__ for p, _ in stream.sent] == ["PreparedRequest"] * 2, _broken(
        "the SDK's loop sends every page by calling what request_decorator returned, as "
        "(prepared_request, context)",
        REQUEST_HOOK + " and tap_planhat/paging/stream_run.py requests_through",
    )
    assert [e[0] for e in stream.events if e[0] == "validate"] == ["validate"] * 2, _broken(
        "the request function handed to request_decorator validates each response",
        "tap_planhat/http_stream.py validate_response (retried by the sender when it raises)",
    )


@pytest.mark.parametrize("status", [429, 503])
def test_validate_response_refuses_a_retriable_status_with_the_response_and_no_retry(api, status):
    api.pages = {0: [{"id": 1}]}
    api.refusals = [status]
    stream = _decorated(api)

    with contextlib.redirect_stdout(io.StringIO()), pytest.raises(RetriableAPIError) as caught:
        stream.sync()

    relies = "planhat_common/sender.py RESPONSE_FAILURES (reads the status and Retry-After)"
    assert caught.value.response is not None, _broken(
        "RetriableAPIError from validate_response carries the response", relies
    )
    assert caught.value.response.status_code == status, _broken(
        "RetriableAPIError from validate_response carries the response", relies
    )
    assert api.requested == [0], _broken(
        "nothing outside request_decorator retries a request: when it does not, one "
        "refusal ends the sync",
        REQUEST_HOOK,
    )


def test_validate_response_ends_a_call_on_another_4xx_with_a_fatal_error(api):
    api.refusals = [400]
    stream = _decorated(api)

    with contextlib.redirect_stdout(io.StringIO()), pytest.raises(FatalAPIError):
        stream.sync()

    assert api.requested == [0], _broken(
        "validate_response raises FatalAPIError for a 4xx other than 429 (not retried)",
        "planhat_common/sender.py RETRIED (FatalAPIError is not among them)",
    )


class _MaskedStream(_PagedStream):
    """Deselects ``keep`` through the ``mask`` property only (not through the catalog)."""

    @property
    def mask(self):
        mask = SelectionMask(super().mask)
        mask[("properties", "keep")] = False
        return mask

    def post_process(self, row, context=None):  # noqa: ARG002
        return row


class _MaskTap(_Tap):
    def discover_streams(self):
        return [_MaskedStream(self)]


def test_records_are_pruned_through_the_mask_property(api):
    api.pages = {0: [{"id": 1, "keep": True}]}
    config = {"api_url": api.url, "last_offset": 0, "go_on_when_empty": False}
    stream = _MaskTap(config=config, parse_env_config=False).streams["items"]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        stream.sync()
    records = [json.loads(line) for line in out.getvalue().splitlines() if '"RECORD"' in line]
    assert [r["record"] for r in records] == [{"id": 1}], _broken(
        "the SDK prunes each record with the stream's mask property (not a private copy)",
        "tap_planhat/streams.py PlanhatStream.mask (a mask that remembers inferred answers)",
    )


# -- sync order: streams one by one, in the order of Tap.streams --------------------------------


class _OrderedStream(Stream):
    """Yields one record; logs when its get_records starts and ends."""

    def __init__(self, tap: Tap, name: str, log: list) -> None:
        self.journal = log
        super().__init__(tap, name=name, schema=copy.deepcopy(ITEMS_SCHEMA))

    def get_records(self, context):
        self.journal.append(("start", self.name, context))
        yield {"id": 1}
        self.journal.append(("end", self.name, context))


class _OrderedTap(Tap):
    name = "tap-sdk-order"
    config_jsonschema = th.PropertiesList(th.Property("x", th.StringType)).to_dict()
    log: ClassVar[list] = []

    def discover_streams(self):
        return [_OrderedStream(self, name, self.log) for name in ("b", "a", "d", "c")]


def test_sync_all_syncs_selected_streams_one_by_one_in_the_order_of_streams():
    tap = _OrderedTap(config={}, parse_env_config=False)
    tap.log.clear()
    tap.streams["d"].selected = False
    order = [name for name, stream in tap.streams.items() if stream.selected]
    with contextlib.redirect_stdout(io.StringIO()):
        tap.sync_all()

    relies = (
        "tap_planhat/tap.py _planned_streams and tap_planhat/paging/upcoming.py (the first "
        "pages of the streams synced next are asked for in that order)"
    )
    assert sorted(order) == ["a", "b", "c"]
    assert tap.log == [(event, name, None) for name in order for event in ("start", "end")], (
        _broken(
            "sync_all syncs the selected streams one by one (each stream's get_records "
            "exhausted before the next starts), in the order of Tap.streams, skipping those "
            "not selected, with context None for a stream without partitions",
            relies,
        )
    )
    assert getattr(Tap.sync_all, "__final__", False), _broken(
        "Tap.sync_all is final (so the order is planned from get_records, not sync_all)",
        "tap_planhat/paging/upcoming.py (plans at the first stream's start)",
    )


class _IncrementalStream(Stream):
    """An incremental stream that notes the bookmark it starts from."""

    replication_key = "updatedAt"
    started_from: ClassVar[list] = []

    def __init__(self, tap: Tap) -> None:
        schema = {
            "type": "object",
            "properties": {
                "id": {"type": ["integer"]},
                "updatedAt": {"type": ["string", "null"], "format": "date-time"},
            },
        }
        super().__init__(tap, name="things", schema=schema)

    def get_records(self, context):
        self.started_from.append(self.get_starting_replication_key_value(context))
        yield {"id": 1, "updatedAt": "2020-01-01T00:00:00+00:00"}


class _IncrementalTap(Tap):
    name = "tap-sdk-start"
    config_jsonschema = th.PropertiesList(th.Property("start_date", th.DateTimeType)).to_dict()

    def discover_streams(self):
        return [_IncrementalStream(self)]


_MAY = {"replication_key": "updatedAt", "replication_key_value": "2024-05-01T00:00:00+00:00"}
_JANUARY, _JUNE = "2024-01-01T00:00:00+00:00", "2024-06-01T00:00:00+00:00"


@pytest.mark.parametrize(
    ("saved", "start_date"),
    [
        (_MAY, None),
        (_MAY, _JUNE),
        (_MAY, _JANUARY),
        ({**_MAY, "replication_key": "lastUpdated"}, _JANUARY),
        ({**_MAY, "replication_key_value": ""}, None),
        (None, _JANUARY),
        (None, None),
    ],
)
def test_the_starting_bookmark_follows_the_saved_state_and_start_date(saved, start_date):
    state = {"bookmarks": {"things": saved}} if saved is not None else {}
    config = {"start_date": start_date} if start_date else {}
    tap = _IncrementalTap(config=config, state=copy.deepcopy(state), parse_env_config=False)
    stream = tap.streams["things"]
    before = tap.state.get("bookmarks", {}).get("things", {})
    predicted = predicted_start_value(
        before, "updatedAt", config.get("start_date"), stream.compare_start_date
    )
    _IncrementalStream.started_from.clear()
    with contextlib.redirect_stdout(io.StringIO()):
        tap.sync_all()

    assert _IncrementalStream.started_from == [predicted], _broken(
        "an incremental stream starts from its saved replication_key_value when saved for "
        "its replication key, else start_date, and the later of the two (compare_start_date) "
        "when both exist; the value is written into the state only when its sync starts",
        "tap_planhat/paging/upcoming.py predicted_start_value (where streams read ahead stop)",
    )
