"""What a stream says about a request that failed: its retry line and the error it ends with.

When to wait, retry, give up or stop is the one sender's (``planhat_common/sender.py``); a
stream's requests reach it through singer-sdk's ``request_decorator`` hook (http_stream.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from typing_extensions import override

from planhat_common.errors import PlanhatError
from planhat_common.http import (
    TRANSIENT_EXCEPTIONS,
    HostNotFoundError,
    failure_text,
    host_not_found_message,
    name_not_resolved,
    redact,
)
from planhat_common.sender import CallReport

if TYPE_CHECKING:
    import logging
    from collections.abc import Iterable

    import requests

    from planhat_common.sender import Failure


class StreamCallReport(CallReport):
    """A stream's request: every line and error names the stream and the request."""

    def __init__(
        self,
        stream_name: str,
        request: requests.PreparedRequest,
        secrets: Iterable[str | None],
        logger: logging.Logger,
    ) -> None:
        """A report on ``request`` of the stream ``stream_name``, logged on ``logger``."""
        super().__init__(request.method or "GET", request.url or "", secrets, logger)
        self.stream_name = stream_name
        self.path_url = request.path_url

    @override
    def problem(self, failure: Failure) -> str:
        # singer-sdk's error already names the stream, path and status (response_error_message).
        return failure_text(failure.error, self.url)

    @override
    def retrying(self, failure: Failure, attempt: int, wait: float) -> None:
        self.logger.warning(
            "Stream '%s': retrying in %.1fs after attempt %d: %s",
            self.stream_name,
            wait,
            attempt,
            self.problem(failure),
        )

    @override
    def gave_up(self, failure: Failure, attempts: int) -> BaseException:
        error = failure.error
        if not isinstance(error, TRANSIENT_EXCEPTIONS):
            return error  # singer-sdk's own, naming the stream, the request and the status
        # requests' own message names neither the stream nor the path.
        if name_not_resolved(error):
            message = host_not_found_message(self.url, self.secrets)
            final: PlanhatError = HostNotFoundError(f"Stream '{self.stream_name}': {message}")
        else:
            final = PlanhatError(
                redact(
                    f"Stream '{self.stream_name}': giving up after {attempts} attempts: "
                    f"{self.method} {self.path_url} failed: {error}",
                    self.secrets,
                )
            )
        final.__cause__ = error
        return final
