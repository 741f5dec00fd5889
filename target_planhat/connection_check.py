"""``target-planhat --test``: check the API token, its region and the tenant token; write nothing.

The API token and region are checked with the smallest read there is (one company's
``_id``): a 401 means a wrong token or a token of another region. The tenant token is
checked with a push of an empty array to the analytics host, which adds nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from planhat_common.registry import Host, Verb, get_model

if TYPE_CHECKING:
    from planhat_common.client import PlanhatClient
    from planhat_common.settings import PlanhatConnection

LOGGER = logging.getLogger("target-planhat")
_REFUSED = frozenset({401, 403, 404})


@dataclass(frozen=True)
class Check:
    """One check's result."""

    what: str
    ok: bool
    detail: str


def check_api(client: PlanhatClient, connection: PlanhatConnection) -> Check:
    """Whether the API token is accepted (and may read) at the configured API URL."""
    companies = get_model("companies")
    url = client.api(companies.path or "")
    reply = client.call(
        "GET", url, params={"limit": 1, "select": "_id"}, fatal_statuses=(), expect_list=False
    )
    where = connection.api_url
    if reply.ok:
        return Check("API token", ok=True, detail=f"accepted by {where}")
    if reply.status == 401:  # noqa: PLR2004
        return Check(
            "API token",
            ok=False,
            detail=f"refused by {where} (401): a wrong token, or a token of another region "
            "(https://api-eu.planhat.com, https://api-us2.planhat.com, ...)",
        )
    if reply.status == 403:  # noqa: PLR2004
        return Check(
            "API token",
            ok=False,
            detail=f"valid at {where}, but its service account may not read companies (403): "
            "give it read and write permissions on the models you load",
        )
    return Check("API token", ok=False, detail=f"{where} answered {reply.description}")


def check_tenant(client: PlanhatClient, connection: PlanhatConnection) -> Check | None:
    """Whether the analytics host accepts the tenant token (None when none is set)."""
    if not connection.config.get("tenant_token"):
        return None
    activities = get_model("user_activities")
    base = connection.base_url(Host.ANALYTICS)
    path = (activities.push_path or "").format(tenant_token=connection.tenant_token)
    reply = client.call(
        "POST",
        base + path,
        data=b"[]",
        rate_limited=activities.host_of(Verb.PUSH) is Host.API,
        fatal_statuses=(),
        credential="tenant_token",
    )
    if reply.ok:
        return Check("tenant token", ok=True, detail=f"accepted by {base} (an empty push)")
    if reply.status in _REFUSED:
        return Check(
            "tenant token",
            ok=False,
            detail=f"refused by {base} ({reply.status}): check the tenant token (Settings > "
            "Developer > Tokens), not the API token",
        )
    # An empty push may be refused for being empty (unconfirmed): not the token's fault.
    return Check(
        "tenant token",
        ok=True,
        detail=f"not refused by {base}, which answered {reply.status} to an empty push "
        "(docs/writes.md)",
    )


def run_checks(client: PlanhatClient, connection: PlanhatConnection) -> bool:
    """Run every check, log one line each; True when all passed."""
    checks = [check_api(client, connection), check_tenant(client, connection)]
    done = [c for c in checks if c is not None]
    for check in done:
        log = LOGGER.info if check.ok else LOGGER.error
        log("%s %s: %s", "OK" if check.ok else "FAILED", check.what, check.detail)
    if not connection.config.get("tenant_token"):
        LOGGER.info("tenant token: not set (needed only for metrics and user activities)")
    return all(c.ok for c in done)
