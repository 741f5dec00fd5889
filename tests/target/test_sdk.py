"""The SDK's standard target tests.

The standard ``.singer`` files use generic stream names (``test_array_data``,
``TestCamelcase``, ``test:SpecialChars!in?attributes``, ...) that match no Planhat model.
Choice: run the whole standard suite with ``skip_unknown_streams: true``, so those streams go
through the SDK pipeline (validation, schema changes, STATE relay, the three expected
exceptions) into the counting skip sink, and map ``example_stream`` (``pk_updates``: name
and email, with a key change mid-stream) to endusers keyed by email so one standard file is
really written over HTTP. The factory takes the config when this module is imported, so the
sandbox's URL is fixed then; the server runs only while the module's tests do.
"""

from __future__ import annotations

import tempfile
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from singer_sdk.testing import get_target_test_class

from target_planhat.target import TargetPlanhat
from tests.sandbox_fixtures import SANDBOX_TENANT_TOKEN, SANDBOX_TOKEN, sandbox_on_reserved_port

if TYPE_CHECKING:
    from collections.abc import Iterator

_SANDBOX = sandbox_on_reserved_port(records=3)
_DEAD_LETTER = Path(tempfile.mkdtemp(prefix="target-planhat-sdk-")) / "dead_letter.jsonl"

SDK_CONFIG = {
    "api_token": SANDBOX_TOKEN,
    "tenant_token": SANDBOX_TENANT_TOKEN,
    "api_url": _SANDBOX.url,
    "analytics_url": _SANDBOX.analytics_url,
    "max_requests_per_minute": 0,
    "retry_max_wait_seconds": 0.05,
    "max_retries": 3,
    "skip_unknown_streams": True,
    "streams": {"example_stream": {"model": "endusers", "key": "email"}},
    "dead_letter_path": str(_DEAD_LETTER),
    "push_ledger_path": str(_DEAD_LETTER.with_name("push_ledger.jsonl")),
    "sync_ledger_path": str(_DEAD_LETTER.with_name("sync_ledger")),
}

_StandardTests = get_target_test_class(TargetPlanhat, config=SDK_CONFIG, parse_env_config=False)


class TestTargetPlanhatStandard(_StandardTests):  # type: ignore[misc,valid-type]
    """Standard target tests against a module-level sandbox."""


@pytest.fixture(scope="module", autouse=True)
def _sandbox() -> Iterator[None]:
    with _SANDBOX:
        yield


def test_pk_updates_file_is_written_to_endusers() -> None:
    singer_file = resources.files("singer_sdk.testing.target_test_streams") / "pk_updates.singer"
    target = TargetPlanhat(config=SDK_CONFIG, parse_env_config=False)
    with singer_file.open() as lines:
        target.listen(lines)
    users = {r.get("email"): r for r in _SANDBOX.records("endusers")}
    assert {"alice@example.com", "bob@example.com"} <= set(users)
    assert users["alice@example.com"]["name"] == "Alice"
    assert not _DEAD_LETTER.exists()
