"""Stream routing on its own: stream names and the streams setting to routes, no Target."""

from __future__ import annotations

import pytest
from singer_sdk.mapper import RemoveRecordTransform, SameRecordTransform

from planhat_common.registry import get_model
from target_planhat.errors import UnknownStreamError
from target_planhat.mapping.options import CustomFieldsPolicy, Mode
from target_planhat.mapping.routing import Router, dropped_by_stream_maps, unknown_stream_message


def test_streams_route_by_name_alias_or_schema_prefix() -> None:
    router = Router({})
    for stream in ("companies", "accounts", "public-companies", "crm.Company"):
        route = router.route_for(stream)
        assert route.model is get_model("companies"), stream
        assert route.stream == stream
        assert route.mode is Mode.UPSERT
        assert route.mapping.key is None
        assert route.description == "upsert, key: first keyable present"
    assert router.find_route("mystery_table") is None


def test_the_streams_setting_routes_a_stream_whatever_its_name() -> None:
    router = Router(
        {
            "streams": {
                "CRM_People": {"model": "contacts", "key": "email", "mode": "update_only"},
                "firms": {"model": "companies", "custom_fields": "off"},
            },
            "custom_fields": ["tier"],
            "exclude_properties": ["secret"],
        }
    )
    people = router.route_for("crm_people")  # stream names match in any case
    assert people.model is get_model("endusers")
    assert (people.mapping.key, people.mode) == ("email", Mode.UPDATE_ONLY)
    assert people.description == "update_only, key: email"
    assert people.write_mode == "update_only"
    assert people.mapping.custom_fields == CustomFieldsPolicy.parse(["tier"])
    assert people.mapping.exclude == frozenset({"secret"})
    assert router.route_for("firms").mapping.custom_fields == CustomFieldsPolicy.parse("off")


def test_push_models_and_notes() -> None:
    router = Router({"streams": {"crm-notes": {}}})
    metrics = router.route_for("metrics")
    assert metrics.mapping.push
    assert (metrics.write_mode, metrics.description) == ("push", "push")
    notes = router.route_for("crm-notes")
    assert notes.model is get_model("conversations")
    assert notes.mapping.defaults == {"type": "note"}
    assert notes.mapping.required == ("companyId",)
    assert router.route_for("conversations").mapping.defaults == {}


@pytest.mark.parametrize(
    ("streams", "message"),
    [
        ({"c": {"model": "nope"}}, "streams.c.model: 'nope' is not a Planhat model"),
        ({"c": {"model": "companies", "key": "email"}}, "not a keyable of Company"),
        ({"m": {"model": "metrics", "mode": "create_only"}}, "only 'upsert' applies"),
        ({"c": {"model": "companies", "custom_fields": "some"}}, "streams.c: custom_fields"),
        ({"mystery": {}}, "'mystery' matches no Planhat model"),
    ],
)
def test_check_settings_refuses_mistakes_in_the_streams_setting(streams, message) -> None:
    with pytest.raises(UnknownStreamError, match=message):
        Router({"streams": streams}).check_settings()


def test_route_for_an_unknown_stream_names_the_accepted_models() -> None:
    with pytest.raises(UnknownStreamError) as info:
        Router({}).route_for("mystery_table")
    assert str(info.value) == unknown_stream_message("mystery_table")
    assert "companies (account, accounts, company)" in str(info.value)
    assert "streams.mystery_table.model" in str(info.value)


def test_routes_are_worked_out_once() -> None:
    router = Router({})
    assert router.route_for("companies") is router.route_for("companies")


def test_stream_maps_drop_a_stream_only_when_every_map_removes_it() -> None:
    schema = {"properties": {}}
    remove = RemoveRecordTransform("s", schema, None, None)
    keep = SameRecordTransform("s", schema, None, None)
    assert dropped_by_stream_maps([remove])
    assert not dropped_by_stream_maps([remove, keep])
    assert not dropped_by_stream_maps([])
    assert not dropped_by_stream_maps(None)
