"""The sandbox's WSGI app: routes each request to the main API, analytics or admin, with auth.

Main API (``Authorization: Bearer <token>`` or Basic ``<token>:``), for every registry model
with a ``path``: ``GET/POST/PUT <path>`` and ``GET/PUT/DELETE <path>/<id>`` as the model's
``verbs`` allow (405 otherwise). ``GET /dimensiondata`` also takes ``cid``/``cId``, ``dimid``
and inclusive epoch-day ``from``/``to``.

Analytics (no ``Authorization`` needed; tenant token in the path; exempt from rate limit and
faults): ``POST /dimensiondata/<tenant>``, ``POST /analytics/<tenant>``,
``POST /analytics/bulk/<tenant>``. Wrong tenant: 403; empty tenant: 404.

Admin, under ``/_sandbox/`` (no auth, not logged, not rate limited): :mod:`planhat_sandbox.admin`.
Faults: :mod:`planhat_sandbox.faults` (the config) and :mod:`planhat_sandbox.fault_injection`.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import orjson
from werkzeug.wrappers import Request

from planhat_common.registry import MAX_BODY_BYTES, MODELS, Model, Verb
from planhat_sandbox import analytics
from planhat_sandbox.admin import ADMIN_PREFIX, AdminApi
from planhat_sandbox.api import Api, ApiError
from planhat_sandbox.fault_injection import FaultInjector, MidReset, Reset, drop_connection
from planhat_sandbox.faults import FaultConfig, Faults, RateLimiter
from planhat_sandbox.request_log import RequestLog
from planhat_sandbox.responses import error_response, json_response
from planhat_sandbox.seed import seed_store
from planhat_sandbox.store import Store

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from _typeshed.wsgi import StartResponse, WSGIEnvironment
    from werkzeug.wrappers import Response

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
#: The main API's verb by (method, whether the path names one record).
VERBS = {
    ("GET", False): Verb.LIST,
    ("POST", False): Verb.CREATE,
    ("PUT", False): Verb.BULK_UPSERT,
    ("GET", True): Verb.GET,
    ("PUT", True): Verb.UPDATE,
    ("DELETE", True): Verb.DELETE,
}


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
        self.injector = FaultInjector(self.faults, self.rate_limiter)
        self.request_log = RequestLog()
        self.admin = AdminApi(
            store=self.store,
            api=self.api,
            faults=self.faults,
            rate_limiter=self.rate_limiter,
            request_log=self.request_log,
            reseed=self.reseed,
        )

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
        self.request_log.clear()

    def log_entries(self) -> list[dict[str, Any]]:
        """A copy of the request log."""
        return self.request_log.entries()

    def log_counts(self) -> list[dict[str, Any]]:
        """Logged requests counted per ``(method, path, status)``."""
        return self.request_log.counts()

    # -- WSGI ----------------------------------------------------------------------------------

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Serve one request."""
        request = Request(environ)
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or request.path
        path = raw.split("?", 1)[0]
        if "://" in path:  # absolute-form request target
            path = "/" + path.split("://", 1)[1].partition("/")[2]
        if path.startswith(ADMIN_PREFIX):
            return self.admin.respond(request, path)(environ, start_response)
        return self.request_log.in_flight.serve(
            lambda env, start: self._serve(request, path, env, start), environ, start_response
        )

    def _serve(
        self, request: Request, path: str, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        """Serve one main-API or analytics request, and log it."""
        push = self._push_route(request, path)
        try:
            if push is None:
                response = self._main(request, path)
            elif self.faults.targets_analytics(path):
                response = self.injector.faulted(path, lambda _exempt: push())
            else:
                response = push()
        except Reset:
            self.request_log.add(request, unquote(path), None)
            return drop_connection(environ, start_response, None)
        except MidReset as mid:
            self.request_log.add(request, unquote(path), None)
            return drop_connection(environ, start_response, mid.body, mid.status)
        self.request_log.add(request, unquote(path), response.status_code)
        return response(environ, start_response)

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
            return error_response(404, "tenant token missing from the path")
        if not hmac.compare_digest(tenant.encode(), self.tenant_token.encode()):
            return error_response(403, "invalid tenant token")
        try:
            body = self._json_body(request)
        except ApiError as exc:
            return error_response(exc.status, exc.message)
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

    def _main(self, request: Request, path: str) -> Response:
        return self.injector.faulted(path, lambda exempt: self._rate_limited(request, path, exempt))

    def _rate_limited(self, request: Request, path: str, exempt: bool) -> Response:
        """The main API's answer: rate limit, auth, then the route."""
        allowed, headers = self.rate_limiter.hit()
        if not allowed:
            response = error_response(429, "Too many requests")
        elif not self._authorized(request):
            response = error_response(401, "invalid or missing API token")
        else:
            try:
                response = self._route(request, path, exempt)
            except ApiError as exc:
                response = error_response(exc.status, exc.message)
        response.headers.update(headers)
        return response

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

    def _route(self, request: Request, path: str, exempt: bool = False) -> Response:
        segments = [unquote(s) for s in path.strip("/").split("/")]
        model = (
            MODELS_BY_PATH.get(segments[0]) if segments and len(segments) <= ITEM_DEPTH else None
        )
        key = segments[1] if len(segments) == ITEM_DEPTH else None
        if model is None or key == "" or model.path in (self.faults.config.missing_models or ()):
            return error_response(404, f"no route for {unquote(path)}")
        method = request.method
        verb = VERBS.get((method, key is not None))
        if verb is Verb.CREATE and model.supports(Verb.PUSH):
            return error_response(404, "tenant token missing from the path")
        if verb is None or not model.supports(verb):
            return error_response(405, f"{method} is not supported on {model.path}")
        body = self._json_body(request) if method in {"POST", "PUT"} else None
        config = self.faults.config
        with self.store.lock:
            if verb is Verb.LIST:
                page = self.api.list_page(model, request.args, config.list_cap, config.ignore_sort)
                return self.injector.list_response(path, orjson.dumps(page), exempt)
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

    def _bulk_upsert(self, model: Model, body: Any, path: str) -> tuple[int, Any]:
        if self.injector.refuses_bulk_upsert(body, path):
            return 400, {"error": "invalid payload"}  # names no item, applies nothing
        return self.api.bulk_upsert(model, body, keys=self.faults.config.bulk_keys)
