"""The sandbox's admin API under ``/_sandbox/``: no auth, not logged, not rate limited.

==========================  ==================================================================
``GET /requests``           ``{"requests": [{method, path, query, status}], "counts":
                            [{method, path, status, count}]}`` (``status`` null: reset fault)
``GET /requests/summary``   ``{"requests": int, "statuses": {"200": int, "429": int, ...},
                            "in_flight": int, "max_in_flight": int}``: requests logged, per
                            status (``"reset"``: connection dropped); requests being served
                            now, and the most served at once since the log was cleared
``DELETE /requests``        clear the request log and the most in flight
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

In flight (:class:`planhat_sandbox.request_log.InFlight`) counts the requests the log records
(main API and analytics, never admin) from the moment the sandbox starts handling one until
the last byte of its answer is handed over to be sent, latency and stalls included: a client
making one call at a time is seen as 1, one keeping four calls open as 4.

Besides the methods listed, ``requests``, ``faults``, ``rate_limit``, ``activities``, ``dump``
and ``health`` answer any other method as ``GET``; ``reset``, ``load`` and ``touch`` only ``POST``;
``requests/summary`` only ``GET``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from planhat_common.registry import find_model
from planhat_sandbox.api import ApiError
from planhat_sandbox.responses import error_response, json_response

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from werkzeug.wrappers import Request, Response

    from planhat_sandbox.api import Api
    from planhat_sandbox.faults import Faults, RateLimiter
    from planhat_sandbox.request_log import RequestLog
    from planhat_sandbox.store import Store

    #: Reseed the store: ``(records, seed, model_records)``, None keeping the current one.
    Reseed = Callable[[int | None, int | None, Mapping[str, int] | None], None]

ADMIN_PREFIX = "/_sandbox/"
#: The method key of a route that answers every method without a route of its own.
ANY = "*"
OK = {"ok": True}


@dataclass
class AdminCall:
    """One admin request: the request, and what follows the route's name (``touch/<model>``)."""

    request: Request
    arg: str

    def body(self, allow_empty: bool = False) -> dict[str, Any]:
        """The JSON object sent (``{}`` for none if ``allow_empty``)."""
        data = self.request.get_data()
        if allow_empty and not data.strip():
            return {}
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise ApiError(400, "body is not valid JSON") from None
        if not isinstance(value, dict):
            raise ApiError(400, "body must be a JSON object")
        return value


class AdminApi:
    """The admin routes over one app's store, request log, faults and rate limit.

    It is handed those pieces, not the app: the app routes requests here, and nothing here
    needs to know how.
    """

    def __init__(
        self,
        *,
        store: Store,
        api: Api,
        faults: Faults,
        rate_limiter: RateLimiter,
        request_log: RequestLog,
        reseed: Reseed,
    ) -> None:
        """Serve these pieces of one sandbox; ``reseed`` refills ``store`` with seed data."""
        self.store = store
        self.api = api
        self.faults = faults
        self.rate_limiter = rate_limiter
        self.request_log = request_log
        self.reseed = reseed
        #: (method or ANY, route name) -> handler; a name ending in "/" takes an argument.
        self.routes: dict[tuple[str, str], Callable[[AdminCall], Response]] = {
            (ANY, "health"): self._health,
            (ANY, "requests"): self._requests,
            ("DELETE", "requests"): self._clear_requests,
            ("GET", "requests/"): self._requests_summary,
            (ANY, "faults"): self._faults,
            ("PUT", "faults"): self._replace_faults,
            ("PATCH", "faults"): self._update_faults,
            (ANY, "rate_limit"): self._rate_limit,
            ("PUT", "rate_limit"): self._set_rate_limit,
            (ANY, "activities"): self._activities,
            ("DELETE", "activities"): self._clear_activities,
            ("POST", "reset"): self._reset,
            (ANY, "dump"): self._dump,
            ("POST", "load"): self._load,
            ("POST", "touch/"): self._touch,
        }

    def respond(self, request: Request, path: str) -> Response:
        """The answer to an admin request for ``path`` (which starts with ``ADMIN_PREFIX``)."""
        route = path[len(ADMIN_PREFIX) :].strip("/")
        name, slash, arg = route.partition("/")
        key = name + slash
        handler = self.routes.get((request.method, key)) or self.routes.get((ANY, key))
        if handler is None:
            return error_response(404, f"no admin route '{route}' for {request.method}")
        try:
            return handler(AdminCall(request, arg))
        except (ApiError, ValueError, TypeError) as exc:
            status = exc.status if isinstance(exc, ApiError) else 400
            return error_response(status, str(exc))

    def _health(self, _call: AdminCall) -> Response:
        return json_response(200, OK)

    def _requests(self, _call: AdminCall) -> Response:
        log = self.request_log
        return json_response(200, {"requests": log.entries(), "counts": log.counts()})

    def _requests_summary(self, call: AdminCall) -> Response:
        if call.arg != "summary":
            raise ApiError(404, f"no admin route 'requests/{call.arg}'")
        return json_response(200, self.request_log.summary())

    def _clear_requests(self, _call: AdminCall) -> Response:
        self.request_log.clear()
        return json_response(200, OK)

    def _faults(self, _call: AdminCall) -> Response:
        return json_response(200, self.faults.config.to_dict())

    def _replace_faults(self, call: AdminCall) -> Response:
        return json_response(200, self.faults.replace(call.body()).to_dict())

    def _update_faults(self, call: AdminCall) -> Response:
        return json_response(200, self.faults.update(call.body()).to_dict())

    def _rate_limit(self, _call: AdminCall) -> Response:
        return json_response(200, self.rate_limiter.to_dict())

    def _set_rate_limit(self, call: AdminCall) -> Response:
        data = call.body()
        self.rate_limiter.configure(data.get("per_minute"), data.get("window_seconds"))
        return self._rate_limit(call)

    # The store's lock is held until the body is serialized: it holds live records.

    def _activities(self, _call: AdminCall) -> Response:
        with self.store.lock:
            return json_response(200, list(self.store.activities))

    def _clear_activities(self, _call: AdminCall) -> Response:
        with self.store.lock:
            self.store.activities.clear()
        return json_response(200, [])

    def _reset(self, call: AdminCall) -> Response:
        data = call.body(allow_empty=True)
        self.reseed(data.get("records"), data.get("seed"), data.get("model_records"))
        return json_response(200, OK)

    def _dump(self, _call: AdminCall) -> Response:
        with self.store.lock:
            return json_response(200, self.store.dump())

    def _load(self, call: AdminCall) -> Response:
        data = call.body()
        with self.store.lock:
            self.store.load(data)
        return json_response(200, OK)

    def _touch(self, call: AdminCall) -> Response:
        model = find_model(call.arg)
        if model is None or model.path is None:
            raise ApiError(404, f"no model '{call.arg}'")
        data = call.body()
        ids, fields = data.get("ids") or [], data.get("fields") or {}
        if not isinstance(ids, list) or not isinstance(fields, dict):
            raise ApiError(400, "'ids' must be a list and 'fields' an object")
        with self.store.lock:
            return json_response(200, self.api.touch(model, ids, fields))
