"""One stream class for every Planhat list endpoint; the registry model supplies the data."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.singerlib import SelectionMask
from typing_extensions import override

from planhat_common.paging import OffsetPager
from tap_planhat.coerce import Coercer
from tap_planhat.deletes import deletions_since_last_scan
from tap_planhat.flattening import FlatShaper, flattenable_schema, flattening_depth
from tap_planhat.http_stream import ModelNotAvailableError, PlanhatHTTPStream
from tap_planhat.log_notices import quiet_stream_notices
from tap_planhat.paging.page_filter import PageFilter, incremental_threshold
from tap_planhat.paging.paginator import PlanhatPaginator
from tap_planhat.paging.stream_run import StreamRun
from tap_planhat.paging.upcoming import predicted_start_value
from tap_planhat.schemas import stream_schema

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    import requests
    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context
    from singer_sdk.singerlib import Catalog
    from singer_sdk.singerlib.catalog import Breadcrumb
    from singer_sdk.streams.rest import HTTPRequest, PageContext

    from planhat_common.registry import FieldType, Model
    from tap_planhat.http_stream import StreamNeeds

DEFAULT_LOOKBACK_MINUTES = 5


class PlanhatStream(PlanhatHTTPStream):
    """Reads one Planhat model with limit/offset paging.

    Incremental models are read newest first (``sort=-<replication key>``) and paging stops
    once a page reaches records older than the bookmark minus the lookback window; if the
    server turns out not to honour the sort, the stream reads to the end and filters
    client-side. Full-table models are read in ``_id`` order so offsets are stable.
    """

    primary_keys = ("_id",)
    # Bookmarks rise to the newest key seen, promoted when the stream completes.
    is_sorted = False
    # parse_response coerces every typed field (coerce.py) and records come from JSON, so the
    # SDK's per-record conformance pass would change nothing but cost most of the CPU time.
    # It is turned back on when an input catalog closes an object (see apply_catalog).
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    def __init__(
        self,
        tap: Tap,
        model: Model,
        custom_fields: Mapping[str, FieldType] | None,
        needs: StreamNeeds,
    ) -> None:
        """Build the stream for ``model`` with its (possibly typed) custom fields.

        ``tap`` is for singer-sdk (config, catalog, state); what the stream itself uses of its
        tap comes in ``needs``.
        """
        self.model = model
        self.needs = needs
        self.selected_by_default = model.selected_by_default
        # The SDK's flattening turns arrays and objects into JSON text but leaves a number or
        # boolean of the same field as it is, against the flattened schema (a string): so
        # with flattening on, fields of several JSON types are JSON text throughout.
        self.flattening_depth = flattening_depth(tap.config)
        as_text = bool(tap.config.get("unions_as_json_text")) or self.flattening_depth is not None
        schema = stream_schema(
            model,
            custom_fields,
            deletions=bool(tap.config.get("detect_deletes")),
            unions_as_text=as_text,
        )
        if self.flattening_depth is not None:
            schema = flattenable_schema(schema, self.flattening_depth)
        super().__init__(tap=tap, name=model.name, schema=schema, path=model.path)
        quiet_stream_notices(self.logger, partitioned=self.partitioned)
        self.replication_key = model.replication_key
        self._mask_resolved: SelectionMask | None = None
        self._mask_remembered = RememberingMask()
        self.coerce = Coercer(
            model.name,
            model.fields,
            custom_fields,
            unions_as_text=as_text,
            report_undeclared=self.flattening_depth is None,
        )
        self.flat = self._flat_shaper()

    #: Whether the stream is read in partitions (one per company, ...): its per-partition
    #: SDK notices are left out of the log (log_notices.py).
    partitioned = False

    def _flat_shaper(self) -> FlatShaper | None:
        """What keeps flattened records within their SCHEMA (flattening.py); None: no flattening."""
        if self.flattening_depth is None:
            return None
        return FlatShaper(self.name, self.effective_schema, self.flattening_depth)

    @cached_property
    def page_size(self) -> int:
        """The ``limit`` sent: the setting, never above the model's cap.

        Asking for more could end a list early (docs/planhat-api.md, "Page size caps").
        """
        configured = self.config.get("page_size")
        return min(int(configured), self.model.page_cap) if configured else self.model.page_cap

    @cached_property
    def sort_param(self) -> str | None:
        """Newest first for incremental models; ``_id`` otherwise, for stable offsets."""
        return f"-{self.replication_key}" if self.replication_key else "_id"

    @override
    def apply_catalog(self, catalog: Catalog) -> None:
        super().apply_catalog(catalog)
        # The SDK flattens the catalog's schema, which may differ from the stream's own.
        self.flat = self._flat_shaper()
        if has_closed_object(self.effective_schema):
            # additionalProperties: false must drop undeclared fields: the SDK's pass does.
            self.TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.RECURSIVE

    # Requests

    @override
    def get_http_request(self, *, page: PageContext[int]) -> HTTPRequest:
        request = super().get_http_request(page=page)
        request.params.update({"limit": self.page_size, "offset": page.next_page_token or 0})
        if self.sort_param:
            request.params["sort"] = self.sort_param
        request.params.update(self.filter_params(page.stream_context))
        return request

    def filter_params(self, context: Context | None) -> dict[str, Any]:  # noqa: ARG002
        """Extra list filters for a partition; none for plain model streams."""
        return {}

    @override
    def get_new_paginator(self) -> PlanhatPaginator:
        return PlanhatPaginator(self._run.pager)

    # Records

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        records = PageFilter(
            self.replication_key,
            self.bookmark_threshold(context),
            collect_ids=self.detects_deletes,
        )
        upcoming = self.needs.upcoming
        early = upcoming.reached(self.name)
        self._run = run = StreamRun(
            self.name,
            context,
            OffsetPager(self.page_size),
            records,
            self.connection.gate,
            early=early if context is None else None,
            upcoming=upcoming,
        )
        try:
            yield from self._read(context)
        except BaseException:
            # The run ends here: first pages asked for other streams would never be read.
            upcoming.close()
            raise
        finally:
            run.close()
            self.partition_done(context)
            # The SDK writes no STATE after a stream whose bookmark did not move: without
            # this, its last RECORD lines would wait for the next stream's messages.
            self.needs.flush_output()

    def partition_done(self, context: Context | None) -> None:  # noqa: ARG002
        """After reading ``context`` (the whole stream, but for partitioned streams): report."""
        self.coerce.report()
        if self.flat is not None:
            self.flat.report(self.logger)

    def _read(self, context: Context | None) -> Iterable[dict[str, Any]]:
        try:
            yield from super().get_records(context)
        except ModelNotAvailableError as exc:
            self.logger.warning(
                "Stream '%s' skipped: this tenant has no %s endpoint (%s).",
                self.name,
                self.model.path,
                exc,
            )
            return
        seen = self._run.records.run_ids
        if seen is not None:
            yield from deletions_since_last_scan(
                self.get_context_state(context), seen, self.logger, self.name
            )

    @property
    def detects_deletes(self) -> bool:
        """Deletions are visible only on full scans, so only full-table streams look."""
        return bool(self.config.get("detect_deletes")) and not self.replication_key

    def predicted_stop(self) -> PageFilter | None:
        """A record filter for reading this stream before its sync: None if it reads to the end.

        The bookmark it will start from is not in the state before its sync starts (singer-sdk
        writes its starting value then), so it is predicted from the state as the SDK will
        read it: the saved bookmark for this replication key, or ``start_date`` if later. A
        wrong prediction costs calls read ahead, never records (paging/upcoming.py).
        """
        if not self.replication_key:
            return None
        saved = self.tap_state.get("bookmarks", {}).get(self.name, {})
        start = predicted_start_value(
            saved, self.replication_key, self.config.get("start_date"), self.compare_start_date
        )
        threshold = incremental_threshold(start, self.lookback_minutes)
        return PageFilter(self.replication_key, threshold) if threshold else None

    @cached_property
    def lookback_minutes(self) -> float:
        """How far before the bookmark an incremental read starts again."""
        return float(self.config.get("lookback_minutes", DEFAULT_LOOKBACK_MINUTES))

    def bookmark_threshold(self, context: Context | None) -> str | None:
        """Records with an older replication key end the read (and are not emitted)."""
        if not self.replication_key:
            return None
        return incremental_threshold(self.get_starting_timestamp(context), self.lookback_minutes)

    @override
    def parse_response(self, response: requests.Response) -> Iterable[dict[str, Any]]:
        # Every record of the previous page is out before this page's are written.
        self.needs.flush_output(to_os=False)
        run = self._run
        page = run.pages.take(response)
        selection = run.records.select(page)
        if selection.sort_broken:
            self.logger.warning(
                "Stream '%s': the server did not honour sort=%s; reading every page and "
                "filtering on %s client-side for this run.",
                self.name,
                self.sort_param,
                self.replication_key,
            )
        if run.pager.page_read(len(page), stop=selection.reached_bookmark).more:
            run.read_ahead(self._prepared)
        # Coerced here, where records come from Planhat, and lazily, one as the SDK takes it:
        # the tap's own records (deletions, deletes.py) carry the tap's own columns, which a
        # record from Planhat never may (coerce.py).
        return map(self.coerce, selection.records)

    @override
    @property
    def mask(self) -> SelectionMask:
        # The SDK looks up every property of every record in the mask, and a property the
        # catalog does not list (custom fields, nested objects) costs a Python call each
        # time: remembering those answers saves 4-8 us per wide record.
        resolved = super().mask  # a new object whenever the SDK re-resolves selection
        if resolved is not self._mask_resolved:
            self._mask_resolved = resolved
            self._mask_remembered = RememberingMask(resolved)
        return self._mask_remembered

    @override
    def generate_child_contexts(
        self, record: dict[str, Any], context: Context | None
    ) -> Iterable[Context | None]:
        # No Planhat stream has children; the SDK would otherwise copy every record into a
        # context nobody reads.
        if not self.child_streams:
            return ()
        return super().generate_child_contexts(record, context)

    @override
    def post_process(self, row: dict[str, Any], context: Context | None = None) -> dict[str, Any]:
        return row if self.flat is None else self.flat(row)


class RememberingMask(SelectionMask):
    """A selection mask that keeps what it inferred for breadcrumbs the catalog does not list.

    Selection cannot change under it: the stream makes a new one whenever the SDK resolves
    selection again (:attr:`PlanhatStream.mask`).
    """

    @override
    def __missing__(self, breadcrumb: Breadcrumb) -> bool:
        selected = self[breadcrumb] = super().__missing__(breadcrumb)
        return selected


def has_closed_object(schema: Any) -> bool:
    """Whether any object in ``schema`` forbids properties it does not declare."""
    if isinstance(schema, list):
        return any(has_closed_object(item) for item in schema)
    if not isinstance(schema, dict):
        return False
    if schema.get("additionalProperties") is False:
        return True
    return any(has_closed_object(value) for value in schema.values())
