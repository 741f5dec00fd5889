"""Plain Planhat calls over ``planhat_common.sender.send``: decoding, URLs and full listings.

The tap's streams go through singer-sdk; everything else (the target, the tap's discovery
and partitions) calls Planhat through :class:`PlanhatClient`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import orjson

from planhat_common.errors import PlanhatError
from planhat_common.http import TransientResponseError, describe_response
from planhat_common.paging import offset_pages
from planhat_common.sender import send

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterator

    import requests

    from planhat_common.settings import PlanhatConnection


class ModelNotFoundError(PlanhatError):
    """404 on a list endpoint: the tenant does not have this model.

    Our reading, not Planhat's word (docs/planhat-api.md, "Unconfirmed verbs and paths").
    """


#: Statuses whose body must be JSON; anything else there is a truncated or garbled reply.
_JSON_STATUSES = frozenset({200, 201, 206})


@dataclass(frozen=True)
class Reply:
    """A decoded response: status, parsed JSON body (or None) and a redacted description."""

    status: int
    body: Any
    description: str

    @property
    def ok(self) -> bool:
        """2xx."""
        return 200 <= self.status < 300  # noqa: PLR2004


class PlanhatClient:
    """Sends the target's calls through the shared retry, pacing and redaction code."""

    def __init__(self, connection: PlanhatConnection) -> None:
        """Use ``connection`` (session, call gate, retry policy, timeout, hosts, secrets)."""
        self.connection = connection

    def _decode(self, response: requests.Response, *, expect_list: bool = False) -> Reply:
        secrets = self.connection.secrets
        body: Any = None
        if response.content:
            try:
                body = orjson.loads(response.content)
            except orjson.JSONDecodeError as exc:
                if response.status_code in _JSON_STATUSES:
                    raise TransientResponseError(
                        f"unreadable JSON body: {describe_response(response, secrets)}",
                        response,
                    ) from exc
        if expect_list and response.status_code == 200 and not isinstance(body, list):  # noqa: PLR2004
            # An object such as {"error": ...} in place of the page is a glitch
            # (docs/planhat-api.md, "Errors and odd responses").
            raise TransientResponseError(
                f"expected an array: {describe_response(response, secrets)}", response
            )
        return Reply(response.status_code, body, describe_response(response, secrets))

    def call(
        self,
        method: str,
        url: str,
        *,
        data: bytes | None = None,
        params: dict[str, Any] | None = None,
        rate_limited: bool = True,
        expect_list: bool = False,
        fatal_statuses: Collection[int] = (401, 403),
        credential: str = "api_token",
        idempotent: bool = True,
    ) -> Reply:
        """One call with retries; every non-retriable status comes back as a Reply.

        Raises:
            OutcomeUnknownError: a call that is not ``idempotent`` failed in a way that may
                have come after Planhat applied it (see :func:`planhat_common.sender.send`).
        """
        conn = self.connection
        return send(
            conn.session,
            method,
            url,
            gate=conn.gate,
            policy=conn.retry_policy,
            secrets=conn.secrets,
            timeout=conn.timeout,
            data=data,
            params=params,
            rate_limited=rate_limited,
            decode=partial(self._decode, expect_list=expect_list),
            fatal_statuses=fatal_statuses,
            credential=credential,
            idempotent=idempotent,
        )

    def api(self, path: str, *ids: str) -> str:
        """A main-API URL: ``path`` plus URL-encoded id segments."""
        return "/".join([self.connection.api_url + path, *(quote(i, safe="") for i in ids)])

    def list_all(
        self,
        path: str,
        *,
        limit: int,
        select: str | None = None,
        on_page: Callable[[], None] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every record of a list endpoint in ``_id`` order, paged by offset.

        Planhat lists have no cursor and may cap pages silently (docs/planhat-api.md,
        "Listing records", "Page size caps").

        ``on_page`` is called once per call made (for the caller's call counts).
        """

        def page(offset: int) -> list[Any]:
            params = {"limit": limit, "offset": offset, "sort": "_id"}
            if select:
                params["select"] = select
            reply = self.call("GET", self.api(path), params=params, expect_list=True)
            if on_page is not None:
                on_page()
            if reply.status == 404:  # noqa: PLR2004
                raise ModelNotFoundError(reply.description)
            if reply.status != 200 or not isinstance(reply.body, list):  # noqa: PLR2004
                raise PlanhatError(f"Listing {path} failed: {reply.description}")
            return reply.body

        for body in offset_pages(page, limit):
            yield from (item for item in body if isinstance(item, dict))
