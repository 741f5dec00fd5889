"""HTTP pieces shared by the tap and the target: auth, pacing, retry waits, redaction.

Planhat facts this encodes (each in docs/planhat-api.md, under the section named):

* Bearer auth with the API token; the analytics host takes the tenant token in the path
  ("Authentication").
* About 200 calls a minute for the whole process; 429 when over, with ``X-Rate-Limit-*``
  headers on some tenants and ``Retry-After`` nowhere documented ("Rate limits and retries").
* 5xx, resets, timeouts, truncated JSON and a 200 carrying ``{"error": ...}`` instead of an
  array are transient ("Errors and odd responses"); 401 can mean the wrong regional host
  ("Hosts and regions").

What to do with a failure (wait, retry, give up, stop) is decided in one place for every
call, the tap's streams included: ``planhat_common/sender.py``.
"""

from __future__ import annotations

import ipaddress
import logging
import random
import socket
import threading
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
import urllib3

from planhat_common.errors import PlanhatError, SettingsError

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

LOGGER = logging.getLogger("planhat")

DEFAULT_API_URL = "https://api.planhat.com"
DEFAULT_ANALYTICS_URL = "https://analytics.planhat.com"
REDACTED = "***"
#: How much of an error body a message quotes: bodies have no documented format
#: (docs/planhat-api.md, "Errors and odd responses").
BODY_EXCERPT_CHARS = 300

#: Statuses worth retrying unchanged. Everything else 4xx is final (docs/planhat-api.md,
#: "Bulk upsert", "Rate limits and retries").
TOO_MANY_REQUESTS = 429
RETRIABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
#: Of those, the ones saying the request was refused before it was acted on: the only ones
#: after which a call that is not idempotent (an analytics push) may be sent again.
REFUSED_STATUSES = frozenset({408, 425, 429, 503})
TRANSIENT_EXCEPTIONS: tuple[type[BaseException], ...] = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
    ConnectionResetError,
)


#: Attempts, the first included, when the host name does not resolve (docs/planhat-api.md,
#: "Rate limits and retries"): a typo or a wrong region never resolves, and a resolver's
#: hiccup is over after one short wait, so more attempts would only delay the error.
NAME_RESOLUTION_TRIES = 2


class HostNotFoundError(PlanhatError):
    """A host name of the settings does not resolve (DNS): retrying longer would not help."""


class OutcomeUnknownError(PlanhatError):
    """A call that must not be repeated may or may not have been applied: it is not retried.

    A reset or timeout while waiting for the answer, a 500 or an unreadable 200 can all come
    after Planhat acted on the request.
    """


class PlanhatAuthError(PlanhatError):
    """401/403: the token is wrong, lacks permission, or belongs to another region."""


class TransientResponseError(Exception):
    """A response worth retrying: 429, 5xx, or a body that is not what the call promises."""

    def __init__(self, message: str, response: requests.Response | None = None) -> None:
        """Keep the response so the retry wait can read its headers."""
        super().__init__(message)
        self.response = response


def check_api_url(url: str, setting: str = "api_url") -> str:
    """Return ``url`` without a trailing slash, refusing plain http except on loopback.

    The token travels in a header, so it must never go over clear text to a remote host.
    """
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise SettingsError(f"{setting} must be an https URL, got '{url}'.")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise SettingsError(
            f"{setting} must use https (got '{url}'); plain http is allowed only for "
            "loopback addresses such as the local planhat-sandbox."
        )
    return url.rstrip("/")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every secret (tokens; the tenant token also sits in analytics URLs) in text."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


class _LogRedaction:
    """Redacts secrets from every log record of the process, whoever logs it.

    Our own messages are redacted where they are made, but libraries log too: at DEBUG,
    urllib3 logs each request line, and the analytics path carries the tenant token.
    """

    def __init__(self) -> None:
        self.secrets: set[str] = set()
        self.installed = False
        self.lock = threading.Lock()

    def add(self, secrets: Iterable[str | None]) -> None:
        with self.lock:
            self.secrets.update(s for s in secrets if s)
            if self.installed:
                return
            self.installed = True
            previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            if self.secrets:
                try:
                    message = record.getMessage()
                except (TypeError, ValueError):  # a bad format: logging reports it later
                    return record
                clean = redact(message, tuple(self.secrets))
                if clean != message:
                    record.msg, record.args = clean, None
            return record

        logging.setLogRecordFactory(factory)


_LOG_REDACTION = _LogRedaction()


def protect_secrets(secrets: Iterable[str | None]) -> None:
    """Redact ``secrets`` from every log message of this process from now on."""
    _LOG_REDACTION.add(secrets)


def describe_response(response: requests.Response, secrets: Iterable[str | None]) -> str:
    """One line naming method, path, status and the body's first bytes, with secrets redacted."""
    method = response.request.method or "?"
    url = urlsplit(response.url or response.request.url or "")
    body = (response.text or "")[:BODY_EXCERPT_CHARS].replace("\n", " ")
    return redact(
        f"{method} {url.path}{'?' + url.query if url.query else ''} returned "
        f"{response.status_code}: {body!r}",
        secrets,
    )


def auth_error_message(
    response: requests.Response, secrets: Iterable[str | None], credential: str = "api_token"
) -> str:
    """The message for 401/403, pointing at the usual causes."""
    host = urlsplit(response.url).hostname or "?"
    if credential != "api_token":
        return (
            f"Planhat refused the request ({describe_response(response, secrets)}). Check "
            f"{credential} (Planhat Settings > Developer > Tokens) and the analytics host {host}."
        )
    if response.status_code == 403:  # noqa: PLR2004
        return (
            f"Planhat refused the API token ({describe_response(response, secrets)}): the "
            "service account behind api_token lacks permission for this data (Planhat "
            "Settings > Service Accounts), or the token belongs to another region than "
            f"api_url ({host})."
        )
    return (
        f"Planhat refused the API token ({describe_response(response, secrets)}). Check that "
        f"api_token is a valid service-account token and that api_url ({host}) is your "
        "tenant's region (api, api-eu, api-eu2, api-eu3, api-us2, api-us4, ...): a token used "
        "against another region's host answers 401."
    )


@dataclass(frozen=True)
class RetryPolicy:
    """How long and how often to retry transient failures.

    Attributes:
        max_tries: attempts in all, the first included.
        base_wait: first backoff wait in seconds after a 5xx, reset or timeout; doubles per
            attempt, with jitter.
        max_wait: cap on any single wait, Retry-After included.
        rate_limit_wait: wait after a 429 saying the budget is spent (``X-Rate-Limit-Remaining:
            0``) but not when it comes back: Planhat's window is 60-120 s
            (docs/planhat-api.md, "Rate limits and retries").
        rate_limit_base: first backoff wait after a 429 with neither hint; doubles per attempt,
            with jitter, up to ``rate_limit_wait``.
    """

    max_tries: int = 8
    base_wait: float = 1.0
    max_wait: float = 120.0
    rate_limit_wait: float = 60.0
    rate_limit_base: float = 5.0

    def gives_up(self, attempt: int, failure: BaseException | None) -> bool:
        """Whether a call stops after its ``attempt``-th failure (1-based), ``failure``.

        ``failure`` is the exception of a failure that got no response (None after a
        response). A host name that does not resolve stops it after
        :data:`NAME_RESOLUTION_TRIES` attempts; anything else after ``max_tries``.
        """
        tries = self.max_tries
        if failure is not None and name_not_resolved(failure):
            tries = min(tries, NAME_RESOLUTION_TRIES)
        return attempt >= tries

    def wait_seconds(self, attempt: int, response: requests.Response | None) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based) after ``response``.

        A 429 waits what ``Retry-After`` asks; else what the ``X-Rate-Limit-*`` headers
        imply; else backs off exponentially. Anything else backs off from ``base_wait``.
        """
        if response is not None and response.status_code == 429:  # noqa: PLR2004
            hinted = retry_after_seconds(response)
            if hinted is None:
                hinted = rate_limit_headers_wait(response, self.rate_limit_wait)
            if hinted is None:
                hinted = min(self.rate_limit_wait, self._backoff(self.rate_limit_base, attempt))
            wait = hinted
        else:
            wait = self._backoff(self.base_wait, attempt)
        return max(0.0, min(wait, self.max_wait))

    @staticmethod
    def _backoff(base: float, attempt: int) -> float:
        return base * 2 ** (attempt - 1) + random.uniform(0, base)  # noqa: S311 - jitter


def rate_limit_headers_wait(response: requests.Response, window: float) -> float | None:
    """The wait the legacy ``X-Rate-Limit-Limit``/``-Remaining`` headers imply, else None.

    Nothing left (``Remaining: 0``): the window must reset, which Planhat does not time, so
    ``window``. Something left yet refused (a burst): the spacing of the budget, one call's
    share of a minute.
    """
    remaining = response.headers.get("X-Rate-Limit-Remaining")
    limit = response.headers.get("X-Rate-Limit-Limit")
    if remaining is None and limit is None:
        return None
    try:
        left = int(remaining) if remaining is not None else 0
        per_minute = float(limit) if limit is not None else 0.0
    except ValueError:
        return None
    if left <= 0 or per_minute <= 0:
        return window
    return 60.0 / per_minute


def retry_after_seconds(response: requests.Response) -> float | None:
    """The wait a 429 asks for: ``Retry-After`` (seconds or HTTP date), else None."""
    header = response.headers.get("Retry-After")
    if not header:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def make_session(token: str, user_agent: str) -> requests.Session:
    """A session sending the Bearer token.

    requests drops ``Authorization`` when a redirect leaves the host, so a redirect elsewhere
    never carries the token.
    """
    session = requests.Session()
    session.headers.update(
        {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "Content-Type": "application/json",
            "User-Agent": user_agent,
        }
    )
    return session


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception it wraps: requests wraps urllib3's in args or as the cause."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        reason = getattr(current, "reason", None)
        links = [*current.args, reason, current.__cause__, current.__context__]
        pending.extend(link for link in links if isinstance(link, BaseException))


def name_not_resolved(exc: BaseException) -> bool:
    """Whether a request failed because its host name did not resolve (a DNS lookup)."""
    return any(
        isinstance(cause, (socket.gaierror, urllib3.exceptions.NameResolutionError))
        for cause in _causes(exc)
    )


def failure_text(exc: BaseException, url: str) -> str:
    """What went wrong with a request that got no response, in a few words where possible."""
    if name_not_resolved(exc):
        return f"the host name {urlsplit(url).hostname} does not resolve"
    return str(exc)


def host_not_found_message(url: str, secrets: Iterable[str | None]) -> str:
    """The one line that ends a run whose host does not resolve: the host, what to check."""
    host = urlsplit(url).hostname or "?"
    return redact(
        f"Cannot reach {host}: the host name does not resolve (DNS lookup failed). Check "
        "api_url (and analytics_url) for a typo and your tenant's region (api, api-eu, "
        "api-us2, ...), and that this machine can resolve names (network, DNS, proxy).",
        secrets,
    )


def never_connected(exc: BaseException) -> bool:
    """Whether a request failed before any of it reached the server (no connection made)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    return any(isinstance(cause, urllib3.exceptions.NewConnectionError) for cause in _causes(exc))
