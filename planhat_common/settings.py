"""Connection settings both plugins take, declared once, and the client built from them."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from singer_sdk import typing as th

from planhat_common.call_gate import CallGate
from planhat_common.errors import SettingsError
from planhat_common.http import (
    DEFAULT_ANALYTICS_URL,
    DEFAULT_API_URL,
    RetryPolicy,
    check_api_url,
    make_session,
    protect_secrets,
)
from planhat_common.registry import Host
from planhat_common.sender import Sender

if TYPE_CHECKING:
    from collections.abc import Mapping

    import requests

DEFAULT_MAX_REQUESTS_PER_MINUTE = 200
DEFAULT_TIMEOUT_SECONDS = 300.0


def connection_properties(user_agent: str) -> list[th.Property[Any]]:
    """Settings for reaching Planhat: tokens, hosts, pacing, retries."""
    return [
        th.Property(
            "api_token",
            th.StringType,
            required=True,
            secret=True,
            title="API token",
            description="Planhat API access token of a service account (Settings > Service "
            "Accounts). Sent as a Bearer token; never logged.",
        ),
        th.Property(
            "api_url",
            th.StringType,
            default=DEFAULT_API_URL,
            title="API URL",
            description="Base URL of your tenant's region: https://api.planhat.com, "
            "https://api-eu.planhat.com, https://api-us2.planhat.com, ... Must be https "
            "(plain http only for loopback, e.g. the local planhat-sandbox).",
        ),
        th.Property(
            "analytics_url",
            th.StringType,
            default=DEFAULT_ANALYTICS_URL,
            title="Analytics URL",
            description="Base URL of the analytics host (metrics and user activities).",
        ),
        th.Property(
            "tenant_token",
            th.StringType,
            secret=True,
            title="Tenant token",
            description="Tenant token (Settings > Developer > Tokens); needed to push metrics "
            "and user activities to the analytics host. Never logged.",
        ),
        th.Property(
            "max_requests_per_minute",
            th.IntegerType,
            default=DEFAULT_MAX_REQUESTS_PER_MINUTE,
            title="Max requests per minute",
            description="Budget of main-API calls for this process: at most this many start "
            "in any 60-second window, one every 60/N seconds, every call and retry of every "
            "stream included (Planhat allows about 200). 0 turns pacing off.",
        ),
        th.Property(
            "request_timeout",
            th.NumberType,
            default=DEFAULT_TIMEOUT_SECONDS,
            title="Request timeout",
            description="Seconds to wait for a response before retrying the call.",
        ),
        th.Property(
            "max_retries",
            th.IntegerType,
            default=RetryPolicy.max_tries,
            title="Max tries",
            description="Attempts per call, the first included, before a transient error "
            "(429, 5xx, reset, timeout, malformed body) fails the run.",
        ),
        th.Property(
            "retry_max_wait_seconds",
            th.NumberType,
            default=RetryPolicy.max_wait,
            title="Max retry wait",
            description="Cap in seconds on a single wait between retries (Retry-After "
            "included). A 429 without Retry-After waits for the rate window (60 s) when "
            "X-Rate-Limit-Remaining is 0, else backs off from 5 s.",
        ),
        th.Property(
            "user_agent",
            th.StringType,
            default=user_agent,
            title="User agent",
            description="User-Agent header sent with every request.",
        ),
    ]


@dataclass
class PlanhatConnection:
    """What every call needs, built once per plugin run from the config."""

    config: Mapping[str, Any]
    secrets: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        self.secrets = tuple(
            str(self.config[key]) for key in ("api_token", "tenant_token") if self.config.get(key)
        )
        protect_secrets(self.secrets)

    @cached_property
    def api_url(self) -> str:
        """The main API base URL, checked to be https or loopback."""
        return check_api_url(str(self.config.get("api_url") or DEFAULT_API_URL))

    @cached_property
    def analytics_url(self) -> str:
        """The analytics base URL, checked like ``api_url``."""
        url = str(self.config.get("analytics_url") or DEFAULT_ANALYTICS_URL)
        return check_api_url(url, "analytics_url")

    def base_url(self, host: Host) -> str:
        """The base URL of ``host`` (registry paths are relative to it)."""
        return self.analytics_url if host is Host.ANALYTICS else self.api_url

    @property
    def tenant_token(self) -> str:
        """The tenant token, or a clear error naming the setting."""
        token = self.config.get("tenant_token")
        if not token:
            raise SettingsError(
                "tenant_token is required to push metrics or user activities to the "
                "analytics host (Planhat Settings > Developer > Tokens)."
            )
        return str(token)

    @cached_property
    def gate(self) -> CallGate:
        """The process-wide budget and in-flight limit for main-API calls."""
        return CallGate.from_settings(
            self.config.get("max_requests_per_minute"),
            self.config.get("max_parallel_requests"),
        )

    @cached_property
    def retry_policy(self) -> RetryPolicy:
        """Retry counts and waits from the settings."""
        max_wait = float(self.config.get("retry_max_wait_seconds") or RetryPolicy.max_wait)
        return RetryPolicy(
            max_tries=int(self.config.get("max_retries") or RetryPolicy.max_tries),
            base_wait=min(RetryPolicy.base_wait, max_wait),
            max_wait=max_wait,
            rate_limit_wait=min(RetryPolicy.rate_limit_wait, max_wait),
        )

    @cached_property
    def sender(self) -> Sender:
        """The one sender of this run's calls: through :attr:`gate`, under :attr:`retry_policy`."""
        return Sender(self.gate, self.retry_policy)

    @cached_property
    def timeout(self) -> float:
        """Per-request timeout in seconds."""
        return float(self.config.get("request_timeout") or DEFAULT_TIMEOUT_SECONDS)

    @cached_property
    def session(self) -> requests.Session:
        """A session carrying the Bearer token (for the target; the tap uses the SDK's)."""
        return make_session(str(self.config["api_token"]), self.user_agent)

    @property
    def user_agent(self) -> str:
        """The configured User-Agent."""
        return str(self.config.get("user_agent") or "planhat-singer")
