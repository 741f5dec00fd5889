"""How a tap stream talks to Planhat: host, token, session, errors, retries, the call gate."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

import requests
from requests.adapters import HTTPAdapter
from singer_sdk.authenticators import BearerTokenAuthenticator
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.streams import RESTStream
from singer_sdk.streams.rest import PageContext
from typing_extensions import override

from planhat_common.http import auth_error_message, describe_response, failure_text
from tap_planhat.pagination import UnreadablePageError
from tap_planhat.retries import gated, named_failures, owed_wait, retry_waits

if TYPE_CHECKING:
    from collections.abc import Callable, Generator

    from tap_planhat.stream_run import StreamRun
    from tap_planhat.tap import TapPlanhat


class ModelNotAvailableError(Exception):
    """The tenant answered 404 for a whole model: skip the stream, do not fail the run."""


class PlanhatHTTPStream(RESTStream[int]):
    """singer-sdk's HTTP hooks for Planhat's main API; subclasses say what to read.

    Every attempt of every request passes the process's call gate (``retries.gated``); the
    request function the SDK's loop calls reads pages ahead (:class:`StreamRun`).
    """

    #: Our own typed reference: the SDK keeps the tap only in a private attribute.
    planhat_tap: TapPlanhat
    #: Made new by the subclass's get_records for each sync.
    _run: StreamRun

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
        # Waits are spent before the next attempt (retries.retry_waits), not in backoff's
        # sleep: this call's own, or a 429's hold of the whole gate.
        wait = (
            details.get("wait") or owed_wait() or self.planhat_tap.connection.gate.budget.held_for()
        )
        exc = details.get("exception")
        request = next(iter(details.get("args") or ()), None)
        self.logger.warning(
            "Stream '%s': retrying in %.1fs after attempt %d: %s",
            self.name,
            wait,
            details.get("tries", 0),
            failure_text(exc, getattr(request, "url", None) or "") if exc else exc,
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
