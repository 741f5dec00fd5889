"""The sandbox's WSGI app: routing, auth, rate limit, faults, the request log and admin routes.

Main API (``Authorization: Bearer <token>`` or Basic ``<token>:``), for every registry model
with a ``path``: ``GET/POST/PUT <path>`` and ``GET/PUT/DELETE <path>/<id>`` as the model's
``verbs`` allow (405 otherwise). ``GET /dimensiondata`` also takes ``cid``/``cId``, ``dimid``
and inclusive epoch-day ``from``/``to``.

Analytics (no ``Authorization`` needed; tenant token in the path; exempt from rate limit and
faults): ``POST /dimensiondata/<tenant>``, ``POST /analytics/<tenant>``,
``POST /analytics/bulk/<tenant>``. Wrong tenant: 403; empty tenant: 404.

Admin (no auth, not logged, not rate limited), under ``/_sandbox/``:

==========================  ==================================================================
``GET /requests``           ``{"requests": [{method, path, query, status}], "counts":
                            [{method, path, status, count}]}`` (``status`` null: reset fault)
``DELETE /requests``        clear the request log
``GET /faults``             the fault config (see :mod:`planhat_sandbox.faults`)
``PUT /faults``             replace it (keys left out take defaults); ``PATCH`` merges
``GET /rate_limit``         ``{"per_minute": int|null, "window_seconds": float}``
``PUT /rate_limit``         set it (starts a new window)
``GET /activities``         pushed user activities; ``DELETE`` clears them
``POST /reset``             reseed (optional body ``{"records", "seed", "model_records"}``),
                            clear the log and activities; faults are kept
``GET /dump``               the whole store as JSON; ``POST /load`` replaces it from a dump
``POST /touch/<model>``     ``{"ids": [...], "fields": {...}}``: change records server-side
                            and bump their update timestamps; answers the changed records
``GET /health``             ``{"ok": true}``
==========================  ==================================================================
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import logging
import socket
import threading
import time
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import unquote

import orjson
from werkzeug.wrappers import Request, Response

from planhat_common.registry import MAX_BODY_BYTES, MODELS, Model, Verb, find_model
from planhat_sandbox import analytics
from planhat_sandbox.api import Api, ApiError
from planhat_sandbox.faults import FaultConfig, Faults, RateLimiter
from planhat_sandbox.seed import seed_store
from planhat_sandbox.store import Store

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

    from _typeshed.wsgi import StartResponse, WSGIEnvironment

log = logging.getLogger(__name__)

ADMIN_PREFIX = "/_sandbox/"
ERROR_OBJECT = {"error": "Something went wrong"}
#: Path segments of a single-record route (``<path>/<id>``).
ITEM_DEPTH = 2
MODELS_BY_PATH: Mapping[str, Model] = {m.path.strip("/"): m for m in MODELS if m.path}
#: Analytics push routes from the registry: (path prefix, model, one item per call),
#: longest prefix first (``/analytics/bulk/`` before ``/analytics/``).
PUSH_ROUTES = sorted(
    [(m.push_path.split("{tenant_token}")[0], m, False) for m in MODELS if m.push_path]
    + [
        (m.single_push_path.split("{tenant_token}")[0], m, True)
        for m in MODELS
        if m.single_push_path
    ],
    key=lambda route: -len(route[0]),
)


def _carries(body: Any, field: str) -> bool:
    """Whether any item of a bulk body has ``field``."""
    return isinstance(body, list) and any(isinstance(i, dict) and field in i for i in body)


def json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON response."""
    return Response(
        orjson.dumps(body), status=status, headers=headers, content_type="application/json"
    )


def _error(status: int, message: str) -> Response:
    return json_response(status, {"error": message})


class _Reset(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised inside request handling to drop the connection."""


class SandboxApp:
    """The WSGI application over one store."""

    def __init__(
        self,
        token: str,
        tenant_token: str,
        *,
        records: int = 20,
        seed: int = 0,
        model_records: Mapping[str, int] | None = None,
        rate_limit_per_minute: int | None = None,
        rate_limit_window_seconds: float = 60.0,
        faults: Mapping[str, Any] | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        """Seed a store and prepare to serve it."""
        self.token = token
        self.tenant_token = tenant_token
        self.records = records
        self.seed = seed
        self.model_records = dict(model_records or {})
        self.max_body_bytes = max_body_bytes
        self.store = seed_store(Store(seed), records, seed, self.model_records)
        self.api = Api(self.store)
        self.faults = Faults(FaultConfig.from_mapping(dict(faults or {})))
        self.rate_limiter = RateLimiter(rate_limit_per_minute, rate_limit_window_seconds)
        self._log_lock = threading.Lock()
        self.request_log: list[dict[str, Any]] = []

    # -- helpers for Python callers ------------------------------------------------------------

    def reseed(
        self,
        records: int | None = None,
        seed: int | None = None,
        model_records: Mapping[str, int] | None = None,
    ) -> None:
        """Replace the store's data with fresh seed data; clear the log and activities."""
        if records is not None:
            self.records = records
        if seed is not None:
            self.seed = seed
        if model_records is not None:
            self.model_records = dict(model_records)
        fresh = seed_store(Store(self.seed), self.records, self.seed, self.model_records)
        with self.store.lock:
            self.store.collections = fresh.collections
            self.store.activities = fresh.activities
            self.store.ids = fresh.ids
        self.clear_log()

    def clear_log(self) -> None:
        """Forget logged requests."""
        with self._log_lock:
            self.request_log.clear()

    def log_entries(self) -> list[dict[str, Any]]:
        """A copy of the request log."""
        with self._log_lock:
            return [dict(e) for e in self.request_log]

    def log_counts(self) -> list[dict[str, Any]]:
        """Logged requests counted per ``(method, path, status)``."""
        counts: dict[tuple[str, str, int | None], int] = {}
        for entry in self.log_entries():
            key = (entry["method"], entry["path"], entry["status"])
            counts[key] = counts.get(key, 0) + 1
        return [
            {"method": m, "path": p, "status": s, "count": c} for (m, p, s), c in counts.items()
        ]

    def _log(self, request: Request, path: str, status: int | None) -> None:
        entry = {
            "method": request.method,
            "path": path,
            "query": request.args.to_dict(),
            "status": status,
        }
        with self._log_lock:
            self.request_log.append(entry)

    # -- WSGI ----------------------------------------------------------------------------------

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Serve one request."""
        request = Request(environ)
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or request.path
        path = raw.split("?", 1)[0]
        if "://" in path:  # absolute-form request target
            path = "/" + path.split("://", 1)[1].partition("/")[2]
        if path.startswith(ADMIN_PREFIX):
            return self._admin(request, path)(environ, start_response)
        push = self._push_route(request, path)
        try:
            if push is None:
                response = self._main(request, path)
            elif self.faults.targets_analytics(path):
                response = self._faulted(path, lambda _exempt: push())
            else:
                response = push()
        except _Reset:
            self._log(request, unquote(path), None)
            return self._drop(environ, start_response, None)
        except _MidReset as mid:
            self._log(request, unquote(path), None)
            return self._drop(environ, start_response, mid.body, mid.status)
        self._log(request, unquote(path), response.status_code)
        return response(environ, start_response)

    @staticmethod
    def _drop(
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

    # -- analytics -----------------------------------------------------------------------------

    def _push_route(self, request: Request, path: str) -> Any:
        """The handler for an analytics push route, or ``None`` if ``path`` is not one."""
        if request.method != "POST":
            return None
        for prefix, model, single in PUSH_ROUTES:
            if path.startswith(prefix) and "/" not in path[len(prefix) :]:
                tenant = unquote(path[len(prefix) :])
                return lambda m=model, one=single, t=tenant: self._push(request, m, one, t)
        return None

    def _push(self, request: Request, model: Model, single: bool, tenant: str) -> Response:
        if not tenant:
            return _error(404, "tenant token missing from the path")
        if not hmac.compare_digest(tenant.encode(), self.tenant_token.encode()):
            return _error(403, "invalid tenant token")
        try:
            body = self._json_body(request)
        except ApiError as exc:
            return _error(exc.status, exc.message)
        with self.store.lock:
            if model.name == "dimension_data":
                result = analytics.push_metrics(self.store, body)
            else:
                result = analytics.push_activities(self.store, body, bulk=not single)
            return json_response(200, result)

    # -- main API ------------------------------------------------------------------------------

    def _authorized(self, request: Request) -> bool:
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        candidate = ""
        if scheme.lower() == "bearer":
            candidate = value.strip()
        elif scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(value.strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return False
            user, _, password = decoded.partition(":")
            candidate = user if password == "" else ""
        return bool(candidate) and hmac.compare_digest(candidate.encode(), self.token.encode())

    def _pre_faults(self, path: str, exempt: bool) -> Response | None:
        """Latency, "before" resets and stalls, 5xx and 429 bursts (mid ones: :meth:`_main`)."""
        faults = self.faults
        config = faults.config
        if config.latency_ms and faults.applies(path):
            time.sleep(config.latency_ms / 1000)
        if exempt:
            return None
        if faults.take("reset", path):
            if config.reset_mode == "before":
                raise _Reset
            raise _MidReset(b"")
        if config.stall_mode == "before" and faults.take("stall", path):
            time.sleep(config.stall_ms / 1000)
        if faults.take("status_burst", path):
            return _error(config.status_code, f"sandbox fault: {config.status_code}")
        if faults.take("rate_limit_burst", path):
            headers: dict[str, str] = {}
            if config.rate_limit_mode in {"retry_after", "headers"}:
                limit = str(self.rate_limiter.per_window or 200)
                headers = {"X-Rate-Limit-Limit": limit, "X-Rate-Limit-Remaining": "0"}
            if config.rate_limit_mode == "retry_after":
                headers["Retry-After"] = str(config.retry_after)
            return json_response(429, {"error": "Too many requests"}, headers)
        return None

    def _main(self, request: Request, path: str) -> Response:
        return self._faulted(path, lambda exempt: self._rate_limited(request, path, exempt))

    def _rate_limited(self, request: Request, path: str, exempt: bool) -> Response:
        """The main API's answer: rate limit, auth, then the route."""
        allowed, headers = self.rate_limiter.hit()
        if not allowed:
            response = _error(429, "Too many requests")
        elif not self._authorized(request):
            response = _error(401, "invalid or missing API token")
        else:
            try:
                response = self._route(request, path, exempt)
            except ApiError as exc:
                response = _error(exc.status, exc.message)
        response.headers.update(headers)
        return response

    def _faulted(self, path: str, handle: Callable[[bool], Response]) -> Response:
        """``handle(exempt)``'s answer, with the configured faults around it."""
        mid_reset = False
        exempt = self.faults.let_through(path)
        try:
            faulted = self._pre_faults(path, exempt)
        except _MidReset:
            mid_reset, faulted = True, None  # answer for real, then send only half the body
        if faulted is not None:
            return faulted
        response = handle(exempt)
        if mid_reset:
            raise _MidReset(response.get_data() or b"{}", response.status)
        config = self.faults.config
        if not exempt and config.stall_mode == "mid" and self.faults.take("stall", path):
            return _stalled(response, config.stall_ms / 1000)
        return response

    def _bulk_upsert(self, model: Model, body: Any, path: str) -> tuple[int, Any]:
        poison = self.faults.config.opaque_400_field
        if poison and self.faults.applies(path) and _carries(body, poison):
            return 400, {"error": "invalid payload"}  # names no item, applies nothing
        return self.api.bulk_upsert(model, body)

    def _json_body(self, request: Request) -> Any:
        data = request.stream.read(self.max_body_bytes + 1)
        if len(data) > self.max_body_bytes:
            # Read the rest first, so the client sees the 413 rather than a reset.
            while request.stream.read(1 << 20):
                pass
            raise ApiError(413, f"body larger than {self.max_body_bytes} bytes")
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            raise ApiError(400, "body is not valid JSON") from None

    def _route(self, request: Request, path: str, exempt: bool = False) -> Response:  # noqa: PLR0911
        segments = [unquote(s) for s in path.strip("/").split("/")]
        model = (
            MODELS_BY_PATH.get(segments[0]) if segments and len(segments) <= ITEM_DEPTH else None
        )
        if model is None or model.path in (self.faults.config.missing_models or ()):
            return _error(404, f"no route for {unquote(path)}")
        method = request.method
        key = segments[1] if len(segments) == ITEM_DEPTH else None
        verb = {
            ("GET", False): Verb.LIST,
            ("POST", False): Verb.CREATE,
            ("PUT", False): Verb.BULK_UPSERT,
            ("GET", True): Verb.GET,
            ("PUT", True): Verb.UPDATE,
            ("DELETE", True): Verb.DELETE,
        }.get((method, key is not None))
        if key == "":
            return _error(404, f"no route for {unquote(path)}")
        if verb is Verb.CREATE and model.supports(Verb.PUSH):
            return _error(404, "tenant token missing from the path")
        if verb is None or not model.supports(verb):
            return _error(405, f"{method} is not supported on {model.path}")
        body = self._json_body(request) if method in {"POST", "PUT"} else None
        config = self.faults.config
        with self.store.lock:
            if verb is Verb.LIST:
                page = self.api.list_page(model, request.args, config.list_cap, config.ignore_sort)
                return self._list_response(path, orjson.dumps(page), exempt)
            if verb is Verb.GET:
                return json_response(200, self.api.find(model, key or ""))
            if verb is Verb.CREATE:
                status, result = self.api.create(model, body)
            elif verb is Verb.BULK_UPSERT:
                status, result = self._bulk_upsert(model, body, path)
            elif verb is Verb.UPDATE:
                status, result = self.api.update(model, key or "", body)
            else:
                status, result = self.api.delete(model, key or "")
            return json_response(status, result)

    def _list_response(self, path: str, payload: bytes, exempt: bool = False) -> Response:
        if exempt:
            pass
        elif self.faults.take("error_object", path):
            payload = orjson.dumps(ERROR_OBJECT)
        elif self.faults.take("truncate", path):
            payload = payload[: max(1, len(payload) // 2)]
        return Response(payload, status=200, content_type="application/json")

    # -- admin ---------------------------------------------------------------------------------

    def _admin(self, request: Request, path: str) -> Response:
        try:
            return self._admin_route(request, path[len(ADMIN_PREFIX) :].strip("/"))
        except (ApiError, ValueError, TypeError) as exc:
            status = exc.status if isinstance(exc, ApiError) else 400
            return _error(status, str(exc))

    def _admin_route(self, request: Request, route: str) -> Response:  # noqa: C901, PLR0911, PLR0912
        method = request.method
        if route == "health":
            return json_response(200, {"ok": True})
        if route == "requests":
            if method == "DELETE":
                self.clear_log()
                return json_response(200, {"ok": True})
            return json_response(200, {"requests": self.log_entries(), "counts": self.log_counts()})
        if route == "faults":
            if method == "PUT":
                return json_response(200, self.faults.replace(self._object(request)).to_dict())
            if method == "PATCH":
                return json_response(200, self.faults.update(self._object(request)).to_dict())
            return json_response(200, self.faults.config.to_dict())
        if route == "rate_limit":
            if method == "PUT":
                data = self._object(request)
                self.rate_limiter.configure(data.get("per_minute"), data.get("window_seconds"))
            return json_response(200, self.rate_limiter.to_dict())
        if route == "activities":
            with self.store.lock:
                if method == "DELETE":
                    self.store.activities.clear()
                return json_response(200, list(self.store.activities))
        if route == "reset" and method == "POST":
            data = self._object(request, allow_empty=True)
            self.reseed(data.get("records"), data.get("seed"), data.get("model_records"))
            return json_response(200, {"ok": True})
        if route == "dump":
            with self.store.lock:
                return json_response(200, self.store.dump())
        if route == "load" and method == "POST":
            data = self._object(request)
            with self.store.lock:
                self.store.load(data)
            return json_response(200, {"ok": True})
        if route.startswith("touch/") and method == "POST":
            model = find_model(route[len("touch/") :])
            if model is None or model.path is None:
                raise ApiError(404, f"no model '{route[6:]}'")
            data = self._object(request)
            ids, fields = data.get("ids") or [], data.get("fields") or {}
            if not isinstance(ids, list) or not isinstance(fields, dict):
                raise ApiError(400, "'ids' must be a list and 'fields' an object")
            with self.store.lock:
                return json_response(200, self.api.touch(model, ids, fields))
        return _error(404, f"no admin route '{route}' for {method}")

    def _object(self, request: Request, allow_empty: bool = False) -> dict[str, Any]:
        data = request.get_data()
        if allow_empty and not data.strip():
            return {}
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise ApiError(400, "body is not valid JSON") from None
        if not isinstance(value, dict):
            raise ApiError(400, "body must be a JSON object")
        return value


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


class _MidReset(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Drop the connection after sending headers and half of ``body``."""

    def __init__(self, body: bytes, status: str = "200 OK") -> None:
        super().__init__("mid-response reset")
        self.body = body
        self.status = status
