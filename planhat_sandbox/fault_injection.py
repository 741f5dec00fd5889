"""What the fault config does to a request: delays, lost connections, error bursts, bad bodies.

:mod:`planhat_sandbox.faults` holds the config and its counters and documents the order in
which faults fire; this module acts on them around the app's handlers.
"""

from __future__ import annotations

import contextlib
import socket
import time
from typing import TYPE_CHECKING, Any, NoReturn

import orjson
from werkzeug.wrappers import Response

from planhat_sandbox.responses import error_response, json_response

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from planhat_sandbox.faults import Faults, RateLimiter

ERROR_OBJECT = {"error": "Something went wrong"}


class Reset(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised inside request handling to drop the connection."""


class MidReset(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Drop the connection after sending headers and half of ``body``."""

    def __init__(self, body: bytes, status: str = "200 OK") -> None:
        """Send ``status`` and half of ``body`` before dropping."""
        super().__init__("mid-response reset")
        self.body = body
        self.status = status


class FaultInjector:
    """Applies the current fault config to the requests the app hands it."""

    def __init__(self, faults: Faults, rate_limiter: RateLimiter) -> None:
        """Fault by ``faults``; a 429 burst announces ``rate_limiter``'s budget."""
        self.faults = faults
        self.rate_limiter = rate_limiter

    def faulted(self, path: str, handle: Callable[[bool], Response]) -> Response:
        """``handle(exempt)``'s answer, with the configured faults around it.

        Raises :class:`Reset` or :class:`MidReset` when the connection is to be dropped.
        """
        mid_reset = False
        exempt = self.faults.let_through(path)
        try:
            faulted = self._before(path, exempt)
        except MidReset:
            mid_reset, faulted = True, None  # answer for real, then send only half the body
        if faulted is not None:
            return faulted
        response = handle(exempt)
        if mid_reset:
            raise MidReset(response.get_data() or b"{}", response.status)
        config = self.faults.config
        if not exempt and config.stall_mode == "mid" and self.faults.take("stall", path):
            return _stalled(response, config.stall_ms / 1000)
        return response

    def _before(self, path: str, exempt: bool) -> Response | None:
        """Latency, "before" resets and stalls, 5xx and 429 bursts (mid ones: :meth:`faulted`)."""
        faults = self.faults
        config = faults.config
        if config.latency_ms and faults.applies(path):
            time.sleep(config.latency_ms / 1000)
        if exempt:
            return None
        if faults.take("reset", path):
            if config.reset_mode == "before":
                raise Reset
            raise MidReset(b"")
        if config.stall_mode == "before" and faults.take("stall", path):
            time.sleep(config.stall_ms / 1000)
        if faults.take("status_burst", path):
            return error_response(config.status_code, f"sandbox fault: {config.status_code}")
        if faults.take("rate_limit_burst", path):
            headers: dict[str, str] = {}
            if config.rate_limit_mode in {"retry_after", "headers"}:
                limit = str(self.rate_limiter.per_window or 200)
                headers = {"X-Rate-Limit-Limit": limit, "X-Rate-Limit-Remaining": "0"}
            if config.rate_limit_mode == "retry_after":
                headers["Retry-After"] = str(config.retry_after)
            return json_response(429, {"error": "Too many requests"}, headers)
        return None

    def list_response(self, path: str, payload: bytes, exempt: bool) -> Response:
        """A list page's 200, its body replaced by an error object or cut in half if due."""
        if not exempt:
            if self.faults.take("error_object", path):
                payload = orjson.dumps(ERROR_OBJECT)
            elif self.faults.take("truncate", path):
                payload = payload[: max(1, len(payload) // 2)]
        return Response(payload, status=200, content_type="application/json")

    def refuses_bulk_upsert(self, body: Any, path: str) -> bool:
        """Whether ``opaque_400_field`` refuses this bulk upsert as a whole."""
        poison = self.faults.config.opaque_400_field
        if not poison:
            return False
        return self.faults.applies(path) and _carries(body, poison)


def drop_connection(
    environ: WSGIEnvironment,
    start_response: StartResponse,
    body: bytes | None,
    status: str = "200 OK",
) -> Iterable[bytes]:
    """Close the connection: at once, or after headers and half of ``body``."""
    sock = environ.get("werkzeug.socket")

    def close() -> NoReturn:
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        raise ConnectionAbortedError("sandbox fault: connection reset")

    if body is None:
        close()

    def partial() -> Iterator[bytes]:
        yield body[: max(1, len(body) // 2)]
        close()

    start_response(
        status,
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return partial()


def _stalled(response: Response, seconds: float) -> Response:
    """``response`` sent as headers and half its body, then a pause, then the rest."""
    body = response.get_data()
    half = max(1, len(body) // 2)

    def chunks() -> Iterator[bytes]:
        yield body[:half]
        time.sleep(seconds)
        yield body[half:]

    stalled = Response(chunks(), status=response.status_code, headers=response.headers)
    stalled.headers["Content-Length"] = str(len(body))
    return stalled


def _carries(body: Any, field: str) -> bool:
    """Whether any item of a bulk body has ``field``."""
    return isinstance(body, list) and any(isinstance(i, dict) and field in i for i in body)
