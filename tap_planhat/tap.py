"""tap-planhat: every Planhat model as a Singer stream."""

from __future__ import annotations

import sys
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any

from singer_sdk import Tap
from singer_sdk import typing as th
from typing_extensions import override

from planhat_common.about import PACKAGE_NAME, VersionedAbout
from planhat_common.call_gate import DEFAULT_MAX_PARALLEL_REQUESTS
from planhat_common.cli import EXPECTED_FAILURES, run_command
from planhat_common.client import ModelNotFoundError, PlanhatClient
from planhat_common.registry import get_model, readable_models
from planhat_common.runtime import tune_gc
from planhat_common.settings import PlanhatConnection, connection_properties
from tap_planhat.dimension_data import DimensionDataStream
from tap_planhat.http_stream import StreamNeeds
from tap_planhat.log_notices import quiet_sdk_notices
from tap_planhat.output import FastSingerWriter
from tap_planhat.paging.upcoming import PlannedStream, UpcomingPages
from tap_planhat.schemas import custom_field_types
from tap_planhat.streams import DEFAULT_LOOKBACK_MINUTES, PlanhatStream

if TYPE_CHECKING:
    from collections.abc import Iterator

    import click

    from planhat_common.registry import Model


#: Streams read ahead at once, at most a call in flight each: as many as the calls in flight
#: that keep the budget busy at 3 s answers (DEFAULT_MAX_PARALLEL_REQUESTS), so none of them
#: is a guess. Fewer are in flight when answers come faster (upcoming.py).
DEFAULT_READ_AHEAD_STREAMS = DEFAULT_MAX_PARALLEL_REQUESTS
#: Answers held for streams not yet reached, in MB of JSON: two pages of 2,000 records of
#: 2 KB. Decoded, records take about eight times their JSON size: on the default catalog
#: with full pages the tap's peak RSS is about 75 MB higher than reading streams in turn
#: (docs/performance.md).
DEFAULT_READ_AHEAD_MEGABYTES = 8


class TapPlanhat(VersionedAbout, Tap):
    """Extract every Planhat model as a stream: incremental where Planhat allows, typed."""

    name = "tap-planhat"
    package_name = PACKAGE_NAME
    # Typed custom fields come from the API, so discovery needs credentials.
    dynamic_catalog = True
    # orjson lines, flushed in blocks rather than after every RECORD (see output.py).
    message_writer_class = FastSingerWriter

    config_jsonschema = th.PropertiesList(
        *connection_properties(user_agent=f"{PACKAGE_NAME} tap-planhat"),
        th.Property(
            "start_date",
            th.DateTimeType,
            title="Start date",
            description="Earliest updatedAt (lastUpdated for invoices) to extract on the "
            "first run of incremental streams. Full-table streams ignore it.",
        ),
        th.Property(
            "page_size",
            th.IntegerType,
            title="Page size",
            description="Records per list request; capped at each model's maximum (2,000; "
            "5,000 for companies). Default: the maximum.",
        ),
        th.Property(
            "max_parallel_requests",
            th.IntegerType,
            default=DEFAULT_MAX_PARALLEL_REQUESTS,
            title="Max parallel requests",
            description="List calls in flight at once: pages are requested ahead while the "
            "previous ones are written, within max_requests_per_minute. At 200 calls a minute "
            "about latency / 0.3 s calls keep the budget busy; 10 covers answers of up to 3 s "
            "(Planhat allows bursts of 50). Halved after each 429, regained slowly. 1: one "
            "page ahead of the one being written.",
        ),
        th.Property(
            "read_ahead_streams",
            th.IntegerType,
            default=DEFAULT_READ_AHEAD_STREAMS,
            title="Streams read ahead",
            description="Streams synced next that are read while the current one is "
            "written, each one page after another, so a catalog of short lists is bound by "
            "the budget rather than one round trip per page. Every such page is a call the "
            "run makes anyway (a page is asked for only after a full one). At most this many "
            "at once; as many as keep the budget busy are in flight. 0: streams are read one "
            "after another.",
        ),
        th.Property(
            "read_ahead_megabytes",
            th.NumberType,
            default=DEFAULT_READ_AHEAD_MEGABYTES,
            title="Memory for streams read ahead (MB)",
            description="Pages of streams not yet reached are asked for only while the "
            "answers held for them, plus the calls in flight, stay within this many MB of "
            "JSON (decoded, records take about eight times that). 0 reads no stream ahead.",
        ),
        th.Property(
            "lookback_minutes",
            th.NumberType,
            default=DEFAULT_LOOKBACK_MINUTES,
            title="Lookback window (minutes)",
            description="Incremental runs re-read records changed this long before the "
            "bookmark, for clock skew and writes landing during the previous run.",
        ),
        th.Property(
            "typed_custom_fields",
            th.BooleanType,
            default=True,
            title="Typed custom fields",
            description="Read /customfields at discovery and publish each model's custom "
            "fields as typed properties of its `custom` object. Off: `custom` is an "
            "untyped object.",
        ),
        th.Property(
            "unions_as_json_text",
            th.BooleanType,
            default=False,
            title="Unions as JSON text",
            description="Declare fields that public sources show in several JSON types (a "
            "string or an object, ...) as strings holding each value's JSON text. For loaders "
            "that cannot store such a field in one column (target-duckdb and other "
            "pipelinewise-based loaders); SDK-based loaders (target-postgres, "
            "target-snowflake) store them as JSON/VARIANT without it.",
        ),
        th.Property(
            "detect_deletes",
            th.BooleanType,
            default=False,
            title="Detect deletes",
            description="On full-table streams, emit records that disappeared since the last "
            "run with `_sdc_deleted_at` (Planhat has no deleted-records API). Keeps the "
            "stream's id set in state, compressed.",
        ),
    ).to_dict()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """The SDK's tap, with its notices that do not apply here left out (log_notices.py)."""
        quiet_sdk_notices()
        super().__init__(*args, **kwargs)

    @classmethod
    @override
    def cb_discover(cls, ctx: click.Context, param: click.Option, value: bool) -> None:
        """Discovery, ending an expected failure with one plain line and closed files.

        Discovery runs while click is still parsing the command line, so on a failure click
        never closes the files it opened for earlier options (Meltano passes ``--state``
        first): the interpreter then warned "unclosed file ... state.json" at exit. And
        Meltano repeats a failed discovery's whole stderr inside its own error, where a JSON
        log line reads as noise: the one error line is written as plain text instead.
        """
        if not value:  # click calls this on every run; only --discover is ours to end
            return
        try:
            super().cb_discover(ctx, param, value)
        except EXPECTED_FAILURES as exc:
            cls.logger.debug("Where discovery failed:", exc_info=True)
            print(f"{cls.name}: {exc}", file=sys.stderr, flush=True)  # noqa: T201
            ctx.exit(1)
        finally:
            ctx.close()

    @cached_property
    def connection(self) -> PlanhatConnection:
        """Connection settings, pacing and retry policy shared by every stream."""
        return PlanhatConnection(self.config)

    @override
    def discover_streams(self) -> list[PlanhatStream]:
        definitions = self._custom_field_definitions()
        # Streams get what they use of the tap, not the tap: no stream module imports this one.
        needs = StreamNeeds(self.connection, self.flush_output, self.list_all, self.upcoming)
        return [
            PlanhatStream(
                self,
                model,
                custom_field_types(definitions, model) if definitions is not None else None,
                needs,
            )
            for model in readable_models()
            if model.name != DimensionDataStream.model_name
        ] + [DimensionDataStream(self, get_model(DimensionDataStream.model_name), None, needs)]

    @cached_property
    def upcoming(self) -> UpcomingPages:
        """Pages of the streams synced next, read ahead (paging/upcoming.py)."""
        window = self.config.get("read_ahead_streams", DEFAULT_READ_AHEAD_STREAMS)
        # singer-sdk's sync_all (final) syncs streams one by one in the order of `streams`,
        # skipping those not selected and child streams (tests/test_sdk_contract.py): that
        # order is planned when the first stream starts.
        megabytes = self.config.get("read_ahead_megabytes", DEFAULT_READ_AHEAD_MEGABYTES)
        return UpcomingPages(
            int(window or 0),
            int(float(megabytes or 0) * 1_000_000),
            self._planned_streams,
            self.connection.gate,
        )

    def _planned_streams(self) -> list[PlannedStream]:
        """Streams in sync order whose first request is known before they start."""
        return list(self._plannable())

    def _plannable(self) -> Iterator[PlannedStream]:
        for stream in self.streams.values():
            if not stream.selected or stream.parent_stream_type is not None:
                continue
            if not isinstance(stream, PlanhatStream) or stream.partitioned:
                continue  # a partition's request depends on its parent's records
            yield PlannedStream(
                stream.name,
                stream.page_size,
                partial(stream.prepared_at, context=None),
                stream.fetch_page,
                stream.predicted_stop,
            )

    def _custom_field_definitions(self) -> list[dict[str, Any]] | None:
        """Every /customfields record, or None when typing is off."""
        if not self.config.get("typed_custom_fields", True):
            return None
        return self.list_all(get_model("custom_fields"))

    def flush_output(self, *, to_os: bool = True) -> None:
        """Write the RECORD lines the message writer holds back in blocks (output.py)."""
        if isinstance(self.message_writer, FastSingerWriter):
            self.message_writer.flush(to_os=to_os)

    @cached_property
    def client(self) -> PlanhatClient:
        """Plain calls outside the streams: discovery and partitions."""
        return PlanhatClient(self.connection)

    def list_all(self, model: Model, select: str | None = None) -> list[dict[str, Any]]:
        """Every record of a small listing; a model the tenant lacks (404) lists nothing."""
        assert model.path is not None  # noqa: S101 - only readable models are listed
        try:
            return list(self.client.list_all(model.path, limit=model.page_cap, select=select))
        except ModelNotFoundError as exc:
            self.logger.warning("Skipping %s: %s", model.path, exc)
            return []


def main() -> None:
    """The ``tap-planhat`` command."""
    tune_gc()
    run_command(TapPlanhat.cli, TapPlanhat.name)


if __name__ == "__main__":
    main()
