"""Fault injection and rate limiting for the sandbox's main API.

Faults apply to main-API requests, never to ``/_sandbox/`` admin routes, and to the analytics
push routes only when ``only_paths`` names them (``["/dimensiondata/"]``,
``["/analytics/"]``): a push that fails after it was stored is what tests of the target's
push retries need. Configure them when starting (``SandboxServer(faults={...})``, CLI
``--fault KEY=VALUE``), or at runtime (``PUT /_sandbox/faults`` replaces the whole config,
``PATCH /_sandbox/faults`` changes only the keys sent; ``GET`` reads it back).

The config is one flat JSON object; every key is optional and defaults as shown::

    {
      "status_burst": 0,            # next N requests answer `status_code` (JSON error body)
      "status_code": 503,           # 500, 502, 503 or 504
      "rate_limit_burst": 0,        # next N requests answer 429
      "rate_limit_mode": "retry_after",  # "retry_after": Retry-After + X-Rate-Limit-* headers;
                                    # "headers": X-Rate-Limit-* only; "none": neither header
      "retry_after": 1,             # seconds sent in Retry-After
      "latency_ms": 0,              # delay added to every request
      "reset": 0,                   # next N requests lose their connection
      "reset_mode": "mid",          # "before": closed before any response (ConnectionError);
                                    # "mid": headers + half the body, then closed
                                    # (ChunkedEncodingError in `requests`)
      "truncate": 0,                # next N list responses: 200 with the first half of the
                                    # JSON body (Content-Length matches the bytes sent)
      "error_object": 0,            # next N list responses: 200 with
                                    # {"error": "Something went wrong"}
      "stall": 0,                   # next N requests stall for `stall_ms` (a read timeout when
                                    # longer than the client's timeout)
      "stall_ms": 1000,
      "stall_mode": "mid",          # "before": the request waits before it is handled (a write
                                    # still lands, late); "mid": headers + half the body, the
                                    # wait, then the rest
      "after": 0,                   # let the next N matching requests through before counted
                                    # faults fire (to fault a stream mid-way)
      "list_cap": null,             # lower page cap for every list (below model.page_cap)
      "ignore_sort": false,         # lists ignore `sort` and return insertion order
      "missing_models": null,       # list of model paths, e.g. ["/workspaces"], that answer
                                    # 404 as on a tenant without that model
                                    # (docs/planhat-api.md, "Unconfirmed verbs and paths")
      "opaque_400_field": null,     # a field name: a bulk upsert with any item carrying it
                                    # answers 400 with an error naming no item (a payload
                                    # refused as a whole), and applies nothing
      "bulk_keys": "keyables",      # what a bulk upsert's `insertsKeys`/`updatesKeys` entries
                                    # hold: "keyables" ({_id, <keyables sent>}, pyplanhat's
                                    # docstring), "id_only" ({_id}, hull-planhat's fixtures of
                                    # Planhat's answers) or "none" (neither list, nor
                                    # `upsertedIds`/`modified`: counts and errors only); every
                                    # bulk upsert, whatever `only_paths` says
      "only_paths": null            # list of path prefixes, e.g. ["/companies"]: faults only
                                    # fire for (and only count down on) matching paths;
                                    # analytics push routes are faulted only when listed
    }

Order per request: ``after`` (a request it lets through is exempt from every counted fault),
``latency_ms``, ``reset``, ``stall`` ("before"), ``status_burst``, ``rate_limit_burst``, then the
real rate limit, auth and the handler; ``error_object`` and ``truncate`` replace successful list
responses; ``stall`` ("mid") slows the response down. Counted faults ("next N") decrement each
time they fire.

Rate limit (:class:`RateLimiter`): a per-window request budget (default window 60 s, fixed,
starting at the first counted request). Over budget the main API answers 429 with
``X-Rate-Limit-Limit`` and ``X-Rate-Limit-Remaining: 0`` (no ``Retry-After``: Planhat does not
document one); every other main-API response carries both headers too. ``None``/``0`` turns it off.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any

STATUS_CODES = frozenset({500, 502, 503, 504})
RATE_LIMIT_MODES = frozenset({"retry_after", "headers", "none"})
RESET_MODES = frozenset({"before", "mid"})
STALL_MODES = frozenset({"before", "mid"})
BULK_KEYS = frozenset({"keyables", "id_only", "none"})
COUNTED = ("status_burst", "rate_limit_burst", "reset", "truncate", "error_object", "stall")


@dataclasses.dataclass
class FaultConfig:
    """The fault configuration; see the module docstring for each key."""

    status_burst: int = 0
    status_code: int = 503
    rate_limit_burst: int = 0
    rate_limit_mode: str = "retry_after"
    retry_after: int = 1
    latency_ms: int = 0
    reset: int = 0
    reset_mode: str = "mid"
    truncate: int = 0
    error_object: int = 0
    stall: int = 0
    stall_ms: int = 1000
    stall_mode: str = "mid"
    after: int = 0
    list_cap: int | None = None
    ignore_sort: bool = False
    missing_models: list[str] | None = None
    only_paths: list[str] | None = None
    opaque_400_field: str | None = None
    bulk_keys: str = "keyables"

    @classmethod
    def from_mapping(cls, data: dict[str, Any], base: FaultConfig | None = None) -> FaultConfig:
        """A validated config from JSON-like data, on top of ``base`` (defaults if ``None``)."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown fault keys: {', '.join(sorted(unknown))}")
        merged = dataclasses.asdict(base or cls())
        merged.update(data)
        config = cls(**merged)
        config.validate()
        return config

    def validate(self) -> None:
        """Raise ``ValueError`` on values the sandbox cannot act on."""
        values: dict[str, Any] = dict(vars(self))
        for name in (*COUNTED, "retry_after", "latency_ms", "stall_ms", "after"):
            value = values[name]
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer")
        if self.status_code not in STATUS_CODES:
            raise ValueError(f"status_code must be one of {sorted(STATUS_CODES)}")
        for name, allowed in (
            ("rate_limit_mode", RATE_LIMIT_MODES),
            ("reset_mode", RESET_MODES),
            ("stall_mode", STALL_MODES),
            ("bulk_keys", BULK_KEYS),
        ):
            if values[name] not in allowed:
                raise ValueError(f"{name} must be one of {sorted(allowed)}")
        cap = values["list_cap"]
        if cap is not None and (not isinstance(cap, int) or isinstance(cap, bool) or cap < 1):
            raise ValueError("list_cap must be a positive integer or null")
        if not isinstance(values["ignore_sort"], bool):
            raise ValueError("ignore_sort must be a boolean")  # noqa: TRY004
        for name in ("only_paths", "missing_models"):
            _check_paths(name, values[name])
        field = values["opaque_400_field"]
        if field is not None and (not isinstance(field, str) or not field):
            raise ValueError("opaque_400_field must be a field name or null")

    def to_dict(self) -> dict[str, Any]:
        """The config as JSON-able data."""
        return dataclasses.asdict(self)


def _check_paths(name: str, paths: Any) -> None:
    if paths is not None and (
        not isinstance(paths, list) or not all(isinstance(p, str) for p in paths)
    ):
        raise ValueError(f"{name} must be a list of paths or null")


def parse_fault_flag(text: str) -> tuple[str, Any]:
    """Parse a CLI ``KEY=VALUE`` fault flag (VALUE: int, true/false, null or a,b list)."""
    key, sep, raw = text.partition("=")
    if not sep:
        raise ValueError(f"fault flag '{text}' is not KEY=VALUE")
    key = key.strip()
    value: Any = raw.strip()
    if key in {"only_paths", "missing_models"}:
        value = [p for p in value.split(",") if p] or None
    elif value.lower() in {"true", "false"}:
        value = value.lower() == "true"
    elif value.lower() in {"null", "none", ""}:
        value = None
    elif value.lstrip("-").isdigit():
        value = int(value)
    return key, value


class Faults:
    """Thread-safe fault state: the config plus the "next N" counters it decrements."""

    def __init__(self, config: FaultConfig | None = None) -> None:
        """Start with ``config`` (no faults if ``None``)."""
        self._lock = threading.Lock()
        self.config = config or FaultConfig()

    def replace(self, data: dict[str, Any]) -> FaultConfig:
        """Replace the whole config (keys left out take their defaults)."""
        config = FaultConfig.from_mapping(data)
        with self._lock:
            self.config = config
        return config

    def update(self, data: dict[str, Any]) -> FaultConfig:
        """Change only the keys given."""
        with self._lock:
            self.config = FaultConfig.from_mapping(data, self.config)
            return self.config

    def applies(self, path: str) -> bool:
        """Whether faults target ``path`` (``only_paths`` prefixes, or every path)."""
        prefixes = self.config.only_paths
        return prefixes is None or any(path.startswith(p) for p in prefixes)

    def targets_analytics(self, path: str) -> bool:
        """Whether faults apply to this analytics path: only when ``only_paths`` names it."""
        prefixes = self.config.only_paths
        return prefixes is not None and any(path.startswith(p) for p in prefixes)

    def let_through(self, path: str) -> bool:
        """Whether ``after`` exempts this request (to ``path``) from counted faults."""
        with self._lock:
            if self.config.after <= 0 or not self.applies(path):
                return False
            self.config.after -= 1
            return True

    def take(self, name: str, path: str) -> bool:
        """Fire the counted fault ``name`` for ``path`` if any are left; decrement it."""
        with self._lock:
            if getattr(self.config, name) <= 0 or not self.applies(path):
                return False
            setattr(self.config, name, getattr(self.config, name) - 1)
            return True


class RateLimiter:
    """A fixed-window request budget for the main API."""

    def __init__(self, per_window: int | None = None, window_seconds: float = 60.0) -> None:
        """Allow ``per_window`` requests per ``window_seconds`` (``None``/``0``: unlimited)."""
        self._lock = threading.Lock()
        self.per_window = per_window or None
        self.window_seconds = window_seconds
        self._window_start: float | None = None
        self._used = 0

    def configure(self, per_window: int | None, window_seconds: float | None = None) -> None:
        """Change the budget and start a new window."""
        with self._lock:
            self.per_window = per_window or None
            if window_seconds:
                self.window_seconds = window_seconds
            self._window_start = None
            self._used = 0

    def to_dict(self) -> dict[str, Any]:
        """The settings as JSON-able data."""
        return {"per_minute": self.per_window, "window_seconds": self.window_seconds}

    def hit(self) -> tuple[bool, dict[str, str]]:
        """Count one request: whether it is allowed, and the rate-limit headers to send."""
        if self.per_window is None:
            return True, {}
        with self._lock:
            now = time.monotonic()
            if self._window_start is None or now - self._window_start >= self.window_seconds:
                self._window_start = now
                self._used = 0
            allowed = self._used < self.per_window
            if allowed:
                self._used += 1
            remaining = self.per_window - self._used
        return allowed, {
            "X-Rate-Limit-Limit": str(self.per_window),
            "X-Rate-Limit-Remaining": str(max(0, remaining)),
        }
