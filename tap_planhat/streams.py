"""One stream class for every Planhat list endpoint; the registry model supplies the data."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

import orjson
from singer_sdk.authenticators import BearerTokenAuthenticator
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.streams import RESTStream
from singer_sdk.streams.rest import PageContext
from typing_extensions import override

from planhat_common.errors import PlanhatError
from planhat_common.http import (
    TRANSIENT_EXCEPTIONS,
    auth_error_message,
    describe_response,
    redact,
)
from planhat_common.page_filter import PageFilter, incremental_threshold
from planhat_common.paging import PageSizeTracker
from tap_planhat.coerce import Coercer
from tap_planhat.deletes import SEEN_IDS, decode_ids, deletion_records, encode_ids
from tap_planhat.pagination import PageOutcome, PlanhatPaginator
from tap_planhat.prefetch import PagePrefetcher
from tap_planhat.schemas import stream_schema

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterable, Mapping

    import requests
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

    def __init__(
        self,
        tap: TapPlanhat,
        model: Model,
        custom_fields: Mapping[str, FieldType] | None,
    ) -> None:
        """Build the stream for ``model`` with its (possibly typed) custom fields."""
        self.model = model
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
        self._page: tuple[requests.Response, list[dict[str, Any]]] | None = None
        self._outcome = PageOutcome(0, more=False)
        self._prefetcher = PagePrefetcher(model.name)
        self._send_page: Callable[..., requests.Response] | None = None

    @property
    def planhat_tap(self) -> TapPlanhat:
        """The tap, typed."""
        return self._tap  # type: ignore[return-value]

    @override
    @property
    def url_base(self) -> str:
        return self.planhat_tap.connection.api_url

    @override
    @cached_property
    def authenticator(self) -> BearerTokenAuthenticator:
        return BearerTokenAuthenticator(token=self.config["api_token"])

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
        return PlanhatPaginator(lambda _response: self._outcome)

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
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise RetriableAPIError(self._problem(response, "malformed JSON"), response) from None
        if not isinstance(body, list):
            # Planhat sometimes answers 200 with {"error": ...} instead of the list
            # (docs/planhat-api.md, "Errors and odd responses").
            raise RetriableAPIError(self._problem(response, "not a JSON array"), response)
        self._page = (response, body)

    @override
    def response_error_message(self, response: requests.Response) -> str:
        return self._problem(response, "error")

    def _problem(self, response: requests.Response, what: str) -> str:
        secrets = self.planhat_tap.connection.secrets
        return f"Stream '{self.name}': {what}: {describe_response(response, secrets)}"

    # Retries: the shared policy decides waits (Retry-After, then backoff); no extra jitter.

    @override
    def backoff_wait_generator(self) -> Generator[float, Any, None]:
        policy = self.planhat_tap.connection.retry_policy

        def waits() -> Generator[float, Any, None]:
            exc = yield 0.0
            attempt = 0
            while True:
                attempt += 1
                exc = yield policy.wait_seconds(attempt, getattr(exc, "response", None))

        return waits()  # backoff primes it with send(None), then sends each exception

    @override
    def backoff_max_tries(self) -> int:
        return self.planhat_tap.connection.retry_policy.max_tries

    @override
    def backoff_jitter(self, value: float) -> float:
        return value

    @override
    def backoff_handler(self, details: Any) -> None:
        self.logger.warning(
            "Stream '%s': retrying in %.1fs after attempt %d: %s",
            self.name,
            details.get("wait", 0.0),
            details.get("tries", 0),
            details.get("exception"),
        )

    @override
    def request_decorator(self, func: Callable[..., Any]) -> Callable[..., Any]:
        budget = self.planhat_tap.connection.budget

        def paced(*args: Any, **kwargs: Any) -> Any:
            budget.acquire()  # every attempt, retries included, spends from the budget
            return func(*args, **kwargs)

        retried = super().request_decorator(paced)

        def named(prepared_request: requests.PreparedRequest, *args: Any) -> Any:
            try:
                return retried(prepared_request, *args)
            except TRANSIENT_EXCEPTIONS as exc:
                # requests' own message names neither the stream nor the path.
                raise PlanhatError(
                    redact(
                        f"Stream '{self.name}': giving up after {self.backoff_max_tries()} "
                        f"attempts: {prepared_request.method} {prepared_request.path_url} "
                        f"failed: {exc}",
                        self.planhat_tap.connection.secrets,
                    )
                ) from exc

        self._send_page = named

        def fetch(prepared_request: requests.PreparedRequest, *args: Any) -> Any:
            ahead = self._prefetcher.take(prepared_request.url or "")
            return ahead.result() if ahead is not None else named(prepared_request, *args)

        return fetch

    def _prefetch(self, offset: int) -> None:
        """Send the request for the page at ``offset`` now, exactly as the SDK will build it."""
        if self._send_page is None:
            return
        request = self.get_http_request(
            page=PageContext(stream_context=self._context, next_page_token=offset)
        )
        prepared = self.build_prepared_request(
            method=request.method,
            url=request.url,
            params=request.encode_params(),
            headers=request.headers,
            data=request.data,
        )
        self._prefetcher.start(prepared.url or "", self._send_page, prepared, self._context)

    # Records

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        self._reset_run_state(context)
        try:
            yield from self._read(context)
        finally:
            self._prefetcher.close()
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
        if self._records.run_ids is not None:
            yield from self._detected_deletions(context, self._records.run_ids)

    @property
    def detects_deletes(self) -> bool:
        """Deletions are visible only on full scans, so only full-table streams look."""
        return bool(self.config.get("detect_deletes")) and not self.replication_key

    def _detected_deletions(
        self, context: Context | None, seen: set[str]
    ) -> Iterable[dict[str, Any]]:
        """Records of ids seen by the previous full scan but not this one; then remember."""
        state = self.get_context_state(context)
        previous = decode_ids(state[SEEN_IDS]) if SEEN_IDS in state else set()
        missing = previous - seen
        if missing:
            self.logger.info(
                "Stream '%s': %d records deleted since the last run.", self.name, len(missing)
            )
        yield from deletion_records(missing)
        # Written after the last record: a run that fails before this keeps the old set.
        state[SEEN_IDS] = encode_ids(seen)

    def _reset_run_state(self, context: Context | None) -> None:
        self._context = context
        self._next_offset = 0
        self._sizes = PageSizeTracker(self.page_size)
        self._records = PageFilter(
            self.replication_key,
            self.bookmark_threshold(context),
            collect_ids=self.detects_deletes,
        )

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
        page = self._page[1] if self._page and self._page[0] is response else []
        self._page = None
        more = self._sizes.more_after(len(page))
        selection = self._records.select(page)
        if selection.sort_broken:
            self.logger.warning(
                "Stream '%s': the server did not honour sort=%s; reading every page and "
                "filtering on %s client-side for this run.",
                self.name,
                self.sort_param,
                self.replication_key,
            )
        self._outcome = PageOutcome(len(page), more=more and not selection.reached_bookmark)
        # Mirrors the paginator: the next offset is this one plus the records received.
        self._next_offset += len(page)
        if self._outcome.more:
            self._prefetch(self._next_offset)
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
