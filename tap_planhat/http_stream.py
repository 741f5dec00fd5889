"""How a tap stream talks to Planhat: host, token, session, errors, and the one sender."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

import requests
from requests.adapters import HTTPAdapter
from singer_sdk.authenticators import BearerTokenAuthenticator
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.streams import RESTStream
from singer_sdk.streams.rest import PageContext
from typing_extensions import override

from planhat_common.http import auth_error_message, describe_response
from planhat_common.sender import as_is
from tap_planhat.paging.paginator import UnreadablePageError, decode_page
from tap_planhat.retries import StreamCallReport

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable

    from singer_sdk.helpers.types import Context

    from planhat_common.registry import Model
    from planhat_common.settings import PlanhatConnection
    from tap_planhat.paging.stream_run import StreamRun
    from tap_planhat.paging.upcoming import UpcomingPages


class ModelNotAvailableError(Exception):
    """The tenant answered 404 for a whole model: skip the stream, do not fail the run."""


class Flush(Protocol):
    """Writes out the RECORD lines the tap's message writer holds back (output.py)."""

    def __call__(self, *, to_os: bool = True) -> None:
        """Hand them to the OS too, unless ``to_os`` is False (then they reach its buffer)."""


@dataclass(frozen=True)
class StreamNeeds:
    """What a stream takes from its tap: these, not the tap itself."""

    #: Hosts, token, timeout, secrets, the call gate and the one sender of this run.
    connection: PlanhatConnection
    flush_output: Flush
    #: Every record of a small listing (model, ``select``): partitions' parents.
    list_all: Callable[[Model, str | None], list[dict[str, Any]]]
    #: Pages of the streams synced next, read while this one is written.
    upcoming: UpcomingPages


class PlanhatHTTPStream(RESTStream[int]):
    """singer-sdk's HTTP hooks for Planhat's main API; subclasses say what to read.

    Every attempt of every request goes through the run's one sender, and so through the call
    gate (:meth:`request_decorator`); the request function the SDK's loop calls reads pages
    ahead (:class:`StreamRun`).
    """

    #: Set by the subclass before the SDK's constructor runs (which reads url_base).
    needs: StreamNeeds
    #: Made new by the subclass's get_records for each sync.
    _run: StreamRun

    @property
    def connection(self) -> PlanhatConnection:
        """This run's connection (settings, gate, sender)."""
        return self.needs.connection

    @override
    @property
    def url_base(self) -> str:
        return self.connection.api_url

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
        adapter = HTTPAdapter(pool_maxsize=self.connection.gate.in_flight.maximum)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        return session

    @override
    @property
    def http_headers(self) -> dict[str, str]:
        return {"Accept": "application/json", "User-Agent": self.connection.user_agent}

    @override
    @property
    def timeout(self) -> int:
        # requests takes float seconds; int() would turn request_timeout 0.5 into 0 (a crash).
        return self.connection.timeout  # type: ignore[return-value]

    @override
    def validate_response(self, response: requests.Response) -> None:
        self._run.pages.hold(response, self._checked_page(response))

    def _checked_page(self, response: requests.Response) -> list[dict[str, Any]]:
        """The page ``response`` holds, or the error that refuses it (retried if retriable)."""
        secrets = self.connection.secrets
        status = response.status_code
        if status in {401, 403}:
            raise FatalAPIError(f"Stream '{self.name}': {auth_error_message(response, secrets)}")
        if status == 404:  # noqa: PLR2004
            raise ModelNotAvailableError(describe_response(response, secrets))
        super().validate_response(response)
        try:
            return decode_page(response)
        except UnreadablePageError as exc:
            raise RetriableAPIError(self._problem(response, str(exc)), response) from None

    @override
    def response_error_message(self, response: requests.Response) -> str:
        return self._problem(response, "error")

    def _problem(self, response: requests.Response, what: str) -> str:
        secrets = self.connection.secrets
        return f"Stream '{self.name}': {what}: {describe_response(response, secrets)}"

    @override
    def request_decorator(self, func: Callable[..., Any]) -> Callable[..., Any]:
        # The SDK's hook for "custom backoff or retry handling": its backoff is replaced, not
        # bent, so the one sender decides waits, retries, give-up and cancellation here too
        # (tests/test_sdk_contract.py pins what this relies on).
        connection = self.connection

        def send(
            prepared_request: requests.PreparedRequest,
            context: Context | None,
            *,
            cancel: threading.Event | None = None,
        ) -> requests.Response:
            report = StreamCallReport(self.name, prepared_request, connection.secrets, self.logger)
            return connection.sender.send(
                lambda: func(prepared_request, context), as_is, report, cancel=cancel
            )

        return self._run.requests_through(send)

    def fetch_page(
        self, prepared_request: requests.PreparedRequest, cancel: threading.Event
    ) -> tuple[requests.Response, list[dict[str, Any]]]:
        """A page asked for before this stream's sync (paging/upcoming.py).

        The same call the SDK's request function makes (authenticated, sent on this stream's
        session, validated as :meth:`validate_response` does) through the same sender; only
        the decoded page is handed back instead of kept in a run that does not exist yet.
        """
        connection = self.connection
        report = StreamCallReport(self.name, prepared_request, connection.secrets, self.logger)
        checked: list[list[dict[str, Any]]] = []

        def exchange() -> requests.Response:
            response = self.requests_session.send(
                self.authenticator(prepared_request),
                timeout=self.timeout,
                allow_redirects=self.allow_redirects,
            )
            checked.append(self._checked_page(response))
            return response

        response = connection.sender.send(exchange, as_is, report, cancel=cancel)
        return response, checked[-1]

    def _prepared(self, offset: int) -> requests.PreparedRequest:
        """The request for the page at ``offset``, exactly as the SDK's loop will build it."""
        return self.prepared_at(offset, self._run.context)

    def prepared_at(self, offset: int, context: Context | None) -> requests.PreparedRequest:
        """The request the SDK's loop builds for the page at ``offset`` of ``context``."""
        request = self.get_http_request(
            page=PageContext(stream_context=context, next_page_token=offset)
        )
        return self.build_prepared_request(
            method=request.method,
            url=request.url,
            params=request.encode_params(),
            headers=request.headers,
            data=request.data,
        )
