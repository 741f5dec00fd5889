"""The log of served API requests that tests and benchmarks count calls from.

Besides each request, it keeps how many requests were being served at once (:class:`InFlight`),
which is how a benchmark sees a client's concurrency from the server's side.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from werkzeug.wrappers import Request


class InFlight:
    """Requests being served now, and the most served at once since the last :meth:`reset`.

    A request counts from the moment the app is called until the chunk holding the last byte
    of its body (by ``Content-Length``) is handed to the server to send, or until the server
    closes the body (no ``Content-Length``, a dropped connection, an error). Counting to the
    last byte rather than to the close keeps a sequential client at 1: Werkzeug closes a body
    only after waiting for the client to hang up, by which time the client's next request may
    already be in.
    """

    def __init__(self) -> None:
        """None in flight."""
        self._lock = threading.Lock()
        self._current = 0
        self._peak = 0

    def serve(
        self, app: WSGIApplication, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        """``app(environ, start_response)``, counted while it is served."""
        length: list[int] = []

        def start(
            status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None
        ) -> Callable[[bytes], object]:
            length[:] = [int(v) for k, v in headers if k.lower() == "content-length"][:1]
            return start_response(status, headers, exc_info)

        self._enter()
        try:
            body = app(environ, start)
        except BaseException:
            self._leave()
            raise
        return _CountedBody(body, length, self._leave)

    def reset(self) -> None:
        """Start a new peak from the requests being served now."""
        with self._lock:
            self._peak = self._current

    def snapshot(self) -> tuple[int, int]:
        """(in flight now, the most at once since the last reset)."""
        with self._lock:
            return self._current, self._peak

    def _enter(self) -> None:
        with self._lock:
            self._current += 1
            self._peak = max(self._peak, self._current)

    def _leave(self) -> None:
        with self._lock:
            self._current -= 1


class _CountedBody:
    """A WSGI body that calls ``done`` once: at its last byte, at its end, or when closed.

    A class rather than a generator: a generator closed before its first chunk skips its
    ``finally``, and the count would leak.
    """

    def __init__(self, body: Iterable[bytes], length: list[int], done: Callable[[], None]) -> None:
        self._body = body
        self._chunks: Iterator[bytes] = iter(body)
        self._length = length  # filled by start_response, which may run after app() returns
        self._sent = 0
        self._done: Callable[[], None] | None = done

    def __iter__(self) -> _CountedBody:
        return self

    def __next__(self) -> bytes:
        try:
            chunk = next(self._chunks)
        except StopIteration:
            self._finish()
            raise
        self._sent += len(chunk)
        if self._length and self._sent >= self._length[0]:
            self._finish()
        return chunk

    def close(self) -> None:
        """Finish counting, and close the wrapped body."""
        self._finish()
        close = getattr(self._body, "close", None)
        if close is not None:
            close()

    def _finish(self) -> None:
        done, self._done = self._done, None
        if done is not None:
            done()


class RequestLog:
    """Served requests in order: method, path, query and status (``None``: connection reset)."""

    def __init__(self) -> None:
        """Start empty."""
        self._lock = threading.Lock()
        self._entries: list[dict[str, Any]] = []
        self.in_flight = InFlight()

    def add(self, request: Request, path: str, status: int | None) -> None:
        """Log ``request`` as answered with ``status``; ``path`` as the client sent it."""
        entry = {
            "method": request.method,
            "path": path,
            "query": request.args.to_dict(),
            "status": status,
        }
        with self._lock:
            self._entries.append(entry)

    def clear(self) -> None:
        """Forget logged requests, and the most in flight at once."""
        with self._lock:
            self._entries.clear()
            self.in_flight.reset()

    def entries(self) -> list[dict[str, Any]]:
        """A copy of the log."""
        with self._lock:
            return [dict(e) for e in self._entries]

    def counts(self) -> list[dict[str, Any]]:
        """Logged requests counted per ``(method, path, status)``."""
        counts: dict[tuple[str, str, int | None], int] = {}
        for entry in self.entries():
            key = (entry["method"], entry["path"], entry["status"])
            counts[key] = counts.get(key, 0) + 1
        return [
            {"method": m, "path": p, "status": s, "count": c} for (m, p, s), c in counts.items()
        ]

    def summary(self) -> dict[str, Any]:
        """Requests logged, per status (``"reset"``: connection dropped), and in flight."""
        statuses: dict[str, int] = {}
        with self._lock:
            total = len(self._entries)
            for entry in self._entries:
                status = entry["status"]
                key = "reset" if status is None else str(status)
                statuses[key] = statuses.get(key, 0) + 1
        current, peak = self.in_flight.snapshot()
        return {
            "requests": total,
            "statuses": statuses,
            "in_flight": current,
            "max_in_flight": peak,
        }
