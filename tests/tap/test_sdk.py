"""The SDK's standard tap tests, against a sandbox the test class starts and stops.

The SDK's factory builds the test class, with every stream and schema, when this module is
imported. So discovery here must not call the API: ``typed_custom_fields`` is off, and custom
fields keep their untyped schema (typed ones are checked in ``test_schema_fidelity.py``). The
sandbox's URL is fixed at import; the server itself runs only while the class's tests do.

The SDK's per-attribute tests assume a property holds one JSON type ("a property whose type
lists number holds numbers"). Ours may be unions (docs/field-types.md): a field Planhat sends
as a string or an object is ``["string", "object", "null"]``. Those attribute tests run here on
single-typed properties only; every record, unions included, is checked against its schema by
the strict validator in ``test_schema_fidelity.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from singer_sdk.testing import SuiteConfig, get_tap_test_class
from singer_sdk.testing.suites import SingerTestSuite, tap_stream_attribute_tests

from tap_planhat.tap import TapPlanhat
from tests.sandbox_fixtures import SANDBOX_TOKEN, sandbox_on_reserved_port

if TYPE_CHECKING:
    from collections.abc import Iterator

_SANDBOX = sandbox_on_reserved_port(records=8)

_CONFIG = {
    "api_url": _SANDBOX.url,
    "api_token": SANDBOX_TOKEN,
    "typed_custom_fields": False,
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


def _single_typed(schema: dict[str, Any]) -> bool:
    types = schema.get("type")
    return isinstance(types, str) or len(set(types or ()) - {"null"}) == 1


def _on_single_typed(test: type) -> type:
    """``test``, applied only to properties of one JSON type."""

    def evaluate(cls: type, stream: Any, property_name: str, property_schema: dict) -> bool:
        applies = test.evaluate.__func__(cls, stream, property_name, property_schema)  # type: ignore[attr-defined]
        return _single_typed(property_schema) and applies

    return type(test.__name__, (test,), {"evaluate": classmethod(evaluate)})


_StandardTests = get_tap_test_class(
    TapPlanhat,
    config=_CONFIG,
    catalog=_catalog_with_every_stream_selected(),
    parse_env_config=False,
    suite_config=SuiteConfig(max_records_limit=20),
    include_stream_attribute_tests=False,
    custom_suites=[
        SingerTestSuite(
            kind="tap_stream_attribute",
            tests=[_on_single_typed(test) for test in tap_stream_attribute_tests.tests],
        )
    ],
)


class TestTapPlanhat(_StandardTests):  # type: ignore[misc,valid-type]
    """Standard tap tests against the module's sandbox."""


@pytest.fixture(scope="module", autouse=True)
def _sandbox() -> Iterator[None]:
    """Serve while this module's tests run (a wider scope, so before the SDK's runner)."""
    with _SANDBOX:
        yield
