"""The SDK's standard tap tests, against a sandbox started when this module is collected.

The test class reads every stream's schema at collection time, and our schemas come from
the API (typed custom fields), so the sandbox must already run then.
"""

from __future__ import annotations

import atexit

from singer_sdk.testing import SuiteConfig, get_tap_test_class

from planhat_sandbox.testing import SANDBOX_TOKEN, SandboxServer
from tap_planhat.tap import TapPlanhat

_SANDBOX = SandboxServer(token=SANDBOX_TOKEN, records=8).start()
atexit.register(_SANDBOX.stop)

_CONFIG = {
    "api_url": _SANDBOX.url,
    "api_token": SANDBOX_TOKEN,
    "max_requests_per_minute": 0,
    "start_date": "2000-01-01T00:00:00Z",
}


def _catalog_with_every_stream_selected() -> dict:
    """dimension_data is off by default; the standard tests should cover it too."""
    catalog = TapPlanhat(config=_CONFIG, parse_env_config=False).catalog_dict
    for stream in catalog["streams"]:
        for entry in stream["metadata"]:
            if entry["breadcrumb"] == []:
                entry["metadata"]["selected"] = True
    return catalog


TestTapPlanhat = get_tap_test_class(
    TapPlanhat,
    config=_CONFIG,
    catalog=_catalog_with_every_stream_selected(),
    parse_env_config=False,
    suite_config=SuiteConfig(max_records_limit=20),
)
