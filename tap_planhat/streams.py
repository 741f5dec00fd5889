"""One stream class for every Planhat list endpoint; the registry model supplies the data."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

import requests
from requests.adapters import HTTPAdapter
from singer_sdk.authenticators import BearerTokenAuthenticator
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.streams import RESTStream
from singer_sdk.streams.rest import PageContext
from typing_extensions import override

from planhat_common.http import auth_error_message, describe_response
from planhat_common.page_filter import PageFilter, incremental_threshold
from planhat_common.paging import OffsetPager
from tap_planhat.coerce import Coercer
from tap_planhat.deletes import deletions_since_last_scan
from tap_planhat.pagination import PlanhatPaginator, UnreadablePageError
from tap_planhat.retries import gated, named_failures, retry_waits
from tap_planhat.schemas import stream_schema
from tap_planhat.stream_run import StreamRun

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterable, Mapping

    from singer_sdk.helpers.types import Context
    from singer_sdk.singerlib import Catalog
    from singer_sdk.streams.rest import HTTPRequest

    from planhat_common.registry import FieldType, Model
    from tap_planhat.tap import TapPlanhat

DEFAULT_LOOKBACK_MINUTES = 5


class ModelNotAvailableError(Exception):
    """The tenant answered 404 for a whole model: skip the stream, do not fail the run."""


class PlanhatStream(RESTStream[int]):
    """Reads one Planhat model with limit/offset paging.

    Incremental models are read newest first (``sort=-<replication key>``) and paging stops
    once a page reaches records older than the bookmark minus the lookback window; if the
    server turns out not to honour the sort, the stream reads to the end and filters
    client-side. Full-table models are read in ``_id`` order so offsets are stable.
    """

    primary_keys = ("_id",)
    # Bookmarks rise to the newest key seen, promoted when the stream completes.
    is_sorted = False
    # post_process coerces every typed field (coerce.py) and records come from JSON, so the
    # SDK's per-record conformance pass would change nothing but cost most of the CPU time.
    # It is turned back on when an input catalog closes an object (see apply_catalog).
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    #: Made new by get_records for each sync.
    _run: StreamRun

    def __init__(
        self,
        tap: TapPlanhat,
        model: Model,
        custom_fields: Mapping[str, FieldType] | None,
    ) -> None:
        """Build the stream for ``model`` with its (possibly typed) custom fields."""
        self.model = model
        # Our own typed reference: the SDK keeps the tap only in a private attribute.
        self.planhat_tap = tap
        self.selected_by_default = model.selected_by_default
        # The SDK's flattening turns arrays and objects into JSON text but leaves a number or
        # boolean of the same field as it is, against the flattened schema (a string): so
        # with flattening on, fields of several JSON types are JSON text throughout.
        as_text = bool(
            tap.config.get("unions_as_json_text") or tap.config.get("flattening_enabled")
        )
        super().__init__(
            tap=tap,
            name=model.name,
            schema=stream_schema(
                model,
                custom_fields,
                deletions=bool(tap.config.get("detect_deletes")),
                unions_as_text=as_text,
            ),
            path=model.path,
        )
        self.replication_key = model.replication_key
        self.coerce = Coercer(model.name, model.fields, custom_fields, unions_as_text=as_text)

    @override
    @property
    def url_base(self) -> str:
        return self.planhat_tap.connection.api_url

    @override
    @cached_property
    def authenticator(self) -> BearerTokenAuthenticator:
        return BearerTokenAuthenticator(token=self.config["api_token"])

    @override
    @cached_property
    def requests_session(self) -> requests.Session:
        # A connection per call in flight: urllib3 keeps 10 per host unless told, and drops
        # (with a warning) any connection beyond that once its call is done.
        session = requests.Session()
        adapter = HTTPAdapter(pool_maxsize=self.planhat_tap.connection.gate.in_flight.maximum)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        return session

    @override
    @property
    def http_headers(self) -> dict[str, str]:
        return {"Accept": "application/json", "User-Agent": self.planhat_tap.connection.user_agent}

    @override
    @property
    def timeout(self) -> int:
        # requests takes float seconds; int() would turn request_timeout 0.5 into 0 (a crash).
        return self.planhat_tap.connection.timeout  # type: ignore[return-value]

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

    @override
    def validate_response(self, response: requests.Response) -> None:
        secrets = self.planhat_tap.connection.secrets
        status = response.status_code
        if status in {401, 403}:
            raise FatalAPIError(f"Stream '{self.name}': {auth_error_message(response, secrets)}")
        if status == 404:  # noqa: PLR2004
            raise ModelNotAvailableError(describe_response(response, secrets))
        super().validate_response(response)
        try:
            self._run.pages.decode(response)
        except UnreadablePageError as exc:
            raise RetriableAPIError(self._problem(response, str(exc)), response) from None

    @override
    def response_error_message(self, response: requests.Response) -> str:
        return self._problem(response, "error")

    def _problem(self, response: requests.Response, what: str) -> str:
        secrets = self.planhat_tap.connection.secrets
        return f"Stream '{self.name}': {what}: {describe_response(response, secrets)}"

    # Retries: the shared policy decides waits (Retry-After, then backoff); no extra jitter.

    @override
    def backoff_wait_generator(self) -> Generator[float, Any, None]:
        connection = self.planhat_tap.connection
        return retry_waits(connection.retry_policy, connection.gate)

    @override
    def backoff_max_tries(self) -> int:
        return self.planhat_tap.connection.retry_policy.max_tries

    @override
    def backoff_jitter(self, value: float) -> float:
        return value

    @override
    def backoff_handler(self, details: Any) -> None:
        # A 429 waits at the call gate (retries.retry_waits), not in backoff's sleep.
        wait = details.get("wait") or self.planhat_tap.connection.gate.budget.held_for()
        self.logger.warning(
            "Stream '%s': retrying in %.1fs after attempt %d: %s",
            self.name,
            wait,
            details.get("tries", 0),
            details.get("exception"),
        )

    @override
    def request_decorator(self, func: Callable[..., Any]) -> Callable[..., Any]:
        connection = self.planhat_tap.connection
        retried = super().request_decorator(gated(func, connection.gate))
        return self._run.requests_through(
            named_failures(retried, self.name, self.backoff_max_tries(), connection.secrets)
        )

    def _prepared(self, offset: int) -> requests.PreparedRequest:
        """The request for the page at ``offset``, exactly as the SDK's loop will build it."""
        request = self.get_http_request(
            page=PageContext(stream_context=self._run.context, next_page_token=offset)
        )
        return self.build_prepared_request(
            method=request.method,
            url=request.url,
            params=request.encode_params(),
            headers=request.headers,
            data=request.data,
        )

    # Records

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        records = PageFilter(
            self.replication_key,
            self.bookmark_threshold(context),
            collect_ids=self.detects_deletes,
        )
        self._run = run = StreamRun(
            self.name,
            context,
            OffsetPager(self.page_size),
            records,
            self.planhat_tap.connection.gate,
        )
        try:
            yield from self._read(context)
        finally:
            run.close()
            self.coerce.report()
            # The SDK writes no STATE after a stream whose bookmark did not move: without
            # this, its last RECORD lines would wait for the next stream's messages.
            self.planhat_tap.flush_output()

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

    def bookmark_threshold(self, context: Context | None) -> str | None:
        """Records with an older replication key end the read (and are not emitted)."""
        if not self.replication_key:
            return None
        return incremental_threshold(
            self.get_starting_timestamp(context),
            float(self.config.get("lookback_minutes", DEFAULT_LOOKBACK_MINUTES)),
        )

    @override
    def parse_response(self, response: requests.Response) -> Iterable[dict[str, Any]]:
        # Every record of the previous page is out before this page's are written.
        self.planhat_tap.flush_output(to_os=False)
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
        return selection.records

    @override
    def post_process(self, row: dict[str, Any], context: Context | None = None) -> dict[str, Any]:
        return self.coerce(row)


def has_closed_object(schema: Any) -> bool:
    """Whether any object in ``schema`` forbids properties it does not declare."""
    if isinstance(schema, list):
        return any(has_closed_object(item) for item in schema)
    if not isinstance(schema, dict):
        return False
    if schema.get("additionalProperties") is False:
        return True
    return any(has_closed_object(value) for value in schema.values())
