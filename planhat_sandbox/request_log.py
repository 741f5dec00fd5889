"""The log of served API requests that tests and benchmarks count calls from."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from werkzeug.wrappers import Request


class RequestLog:
    """Served requests in order: method, path, query and status (``None``: connection reset)."""

    def __init__(self) -> None:
        """Start empty."""
        self._lock = threading.Lock()
        self._entries: list[dict[str, Any]] = []

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
        """Forget logged requests."""
        with self._lock:
            self._entries.clear()

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
