"""Run the sandbox app on 127.0.0.1 in a background thread: :class:`SandboxServer`."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from planhat_common.registry import MAX_BODY_BYTES, get_model
from planhat_sandbox.app import SandboxApp

if TYPE_CHECKING:
    from collections.abc import Mapping
    from types import TracebackType
    from typing import Self

    from planhat_sandbox.store import Store


class _QuietHandler(WSGIRequestHandler):
    """Werkzeug's handler without per-request access logging."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Do not log every request."""


class SandboxServer:
    """A stateful fake Planhat API on ``127.0.0.1``.

    Example::

        with SandboxServer(token="t", tenant_token="tenant", records=50) as sandbox:
            requests.get(f"{sandbox.url}/companies", headers={"Authorization": "Bearer t"})
    """

    def __init__(
        self,
        token: str = "sandbox-token",  # noqa: S107 - a fake API's fake token
        tenant_token: str = "sandbox-tenant",  # noqa: S107
        records: int = 20,
        *,
        seed: int = 0,
        rate_limit_per_minute: int | None = None,
        faults: Mapping[str, Any] | None = None,
        model_records: Mapping[str, int] | None = None,
        rate_limit_window_seconds: float = 60.0,
        max_body_bytes: int = MAX_BODY_BYTES,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        """Seed the store now; serve on :meth:`start` (``port=0``: a free port)."""
        self.token = token
        self.tenant_token = tenant_token
        self.host = host
        self.port = port
        self.app = SandboxApp(
            token=token,
            tenant_token=tenant_token,
            records=records,
            seed=seed,
            model_records=model_records,
            rate_limit_per_minute=rate_limit_per_minute,
            rate_limit_window_seconds=rate_limit_window_seconds,
            faults=faults,
            max_body_bytes=max_body_bytes,
        )
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> SandboxServer:
        """Bind and serve in a daemon thread (threaded server); idempotent."""
        if self._server is not None:
            return self
        server = make_server(
            self.host, self.port, self.app, threaded=True, request_handler=_QuietHandler
        )
        self.port = server.server_port
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"planhat-sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        if thread is not None:
            thread.join(timeout=5)
        server.server_close()

    def __enter__(self) -> Self:
        """Start on entering a ``with`` block."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop on leaving it."""
        self.stop()

    # -- addresses -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The main API base URL, e.g. ``http://127.0.0.1:51234``; known once the port is."""
        if not self.port:
            raise RuntimeError("the sandbox has no port yet; call start() first")
        return f"http://{self.host}:{self.port}"

    @property
    def analytics_url(self) -> str:
        """The analytics base URL (the same server)."""
        return self.url

    @property
    def running(self) -> bool:
        """Whether the server is serving."""
        return self._server is not None

    # -- Python helpers (same as the admin API) -----------------------------------------------

    @property
    def store(self) -> Store:
        """The live store (hold ``store.lock`` while changing it from another thread)."""
        return self.app.store

    def auth_headers(self) -> dict[str, str]:
        """``Authorization`` header for the main API."""
        return {"Authorization": f"Bearer {self.token}"}

    def requests_log(self) -> list[dict[str, Any]]:
        """Logged main-API and analytics requests: ``{method, path, query, status}``."""
        return self.app.log_entries()

    def request_counts(self) -> list[dict[str, Any]]:
        """Logged requests counted per ``(method, path, status)``."""
        return self.app.log_counts()

    def clear_log(self) -> None:
        """Forget logged requests."""
        self.app.clear_log()

    def set_faults(self, **config: Any) -> dict[str, Any]:
        """Replace the fault config (keys left out: no fault). ``set_faults()`` clears all."""
        return self.app.faults.replace(config).to_dict()

    def update_faults(self, **config: Any) -> dict[str, Any]:
        """Change only the given fault keys."""
        return self.app.faults.update(config).to_dict()

    def faults(self) -> dict[str, Any]:
        """The current fault config, with counters as they are now."""
        return self.app.faults.config.to_dict()

    def set_rate_limit(self, per_minute: int | None, window_seconds: float | None = None) -> None:
        """Change the request budget (``None``/``0``: off) and start a new window."""
        self.app.rate_limiter.configure(per_minute, window_seconds)

    def activities(self) -> list[dict[str, Any]]:
        """User activities pushed to the analytics routes."""
        with self.store.lock:
            return list(self.store.activities)

    def dump(self) -> dict[str, Any]:
        """The whole store as JSON-able data."""
        with self.store.lock:
            return self.store.dump()

    def load(self, data: Mapping[str, Any]) -> None:
        """Replace the store from :meth:`dump` output."""
        with self.store.lock:
            self.store.load(data)

    def reset(self) -> None:
        """Reseed the store and clear the log and activities (faults are kept)."""
        self.app.reseed()

    def records(self, model: str) -> list[dict[str, Any]]:
        """Copies of a model's stored records, in insertion order."""
        with self.store.lock:
            return [dict(r) for r in self.store.collection(model).records.values()]

    def touch(
        self, model: str, ids: list[str], fields: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Change records server-side and bump their update timestamps."""
        with self.store.lock:
            return [dict(r) for r in self.app.api.touch(get_model(model), ids, dict(fields or {}))]
