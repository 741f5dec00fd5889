"""Key, team member and custom field look-ups on their own, over a stand-in client."""

from __future__ import annotations

import logging
from typing import Any

from planhat_common.errors import PlanhatError
from planhat_common.registry import get_model
from target_planhat.lookups import KeyLookups

COMPANIES = get_model("companies")


class _Lists:
    """Stands in for PlanhatClient.list_all: one page per listing, calls logged by path."""

    def __init__(self, pages: dict[str, list[dict[str, Any]] | Exception]) -> None:
        self.pages = pages
        self.calls: list[str] = []

    def list_all(self, path: str, *, limit: int, select: str | None = None, on_page=None):
        assert limit > 0
        assert select
        self.calls.append(path)
        if on_page is not None:
            on_page()
        page = self.pages[path]
        if isinstance(page, Exception):
            raise page
        yield from page


class _Calls:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


def _lookups(pages) -> tuple[KeyLookups, _Lists]:
    client = _Lists(pages)
    return KeyLookups(client, logging.getLogger("test")), client  # type: ignore[arg-type]


def test_one_key_scan_per_model_per_run() -> None:
    lookups, client = _lookups(
        {"/companies": [{"_id": "1", "externalId": "A", "sourceId": "s-a"}, {"_id": "2"}]}
    )
    on_page = _Calls()
    assert lookups.known_id(COMPANIES, ("externalId", "A")) is None  # no scan made yet: no call
    assert lookups.find_id(COMPANIES, ("externalId", "A"), on_page) == "1"
    assert lookups.find_id(COMPANIES, ("sourceId", "s-a"), on_page) == "1"
    assert lookups.find_id(COMPANIES, ("externalId", "B"), on_page) is None
    assert lookups.known_id(COMPANIES, ("externalId", "A")) == "1"
    assert (client.calls, on_page.count) == (["/companies"], 1)


def test_ids_and_missing_keys_need_no_scan() -> None:
    lookups, client = _lookups({})
    assert lookups.find_id(COMPANIES, ("_id", "x"), _Calls()) == "x"
    assert lookups.find_id(COMPANIES, None, _Calls()) is None
    assert lookups.known_id(COMPANIES, ("_id", "x")) == "x"
    assert client.calls == []


def test_keys_written_this_run_exist_without_an_id() -> None:
    lookups, _ = _lookups({"/companies": []})
    lookups.note_written(COMPANIES, [("externalId", "NEW")], _Calls())
    assert lookups.key_index(COMPANIES, _Calls()) == {("externalId", "NEW"): ""}
    assert lookups.known_id(COMPANIES, ("externalId", "NEW")) is None


def test_ids_absent_from_scans_afresh_each_time() -> None:
    items = [
        {"_id": "1", "externalId": "KEEP"},
        {"_id": "2", "externalId": "GONE"},
        {"_id": "3", "externalId": "WRITTEN-THIS-RUN"},
    ]
    lookups, client = _lookups({"/companies": items})
    keys = {("externalId", "KEEP")}
    assert lookups.ids_absent_from(COMPANIES, keys, {"3"}, _Calls()) == ["2"]
    assert lookups.ids_absent_from(COMPANIES, keys, {"3"}, _Calls()) == ["2"]
    assert client.calls == ["/companies", "/companies"]


def test_team_members_by_email_listed_once() -> None:
    users = [{"_id": "u1", "email": " Ann@Example.com "}, {"_id": "u2"}]
    lookups, client = _lookups({"/users": users})
    on_page = _Calls()
    assert lookups.user_ids_by_email(on_page) == {"ann@example.com": "u1"}
    assert lookups.user_ids_by_email(on_page) == {"ann@example.com": "u1"}
    assert (client.calls, on_page.count) == (["/users"], 1)


def test_custom_field_names_by_model() -> None:
    fields = [
        {"name": "Tier", "parent": "company"},
        {"name": "Seats", "parent": "Company"},
        {"name": "Role", "parent": "enduser"},
    ]
    lookups, client = _lookups({"/customfields": fields})
    assert lookups.custom_field_names(COMPANIES, _Calls()) == ["Tier", "Seats"]
    assert lookups.custom_field_names(get_model("endusers"), _Calls()) == ["Role"]
    assert lookups.custom_field_names(get_model("tasks"), _Calls()) == []
    assert client.calls == ["/customfields"]


def test_unreadable_custom_fields_are_read_once_and_say_so(caplog) -> None:
    lookups, client = _lookups({"/customfields": PlanhatError("403 Forbidden")})
    with caplog.at_level(logging.WARNING):
        assert lookups.custom_field_names(COMPANIES, _Calls()) is None
        assert lookups.custom_field_names(COMPANIES, _Calls()) is None
    assert client.calls == ["/customfields"]
    assert caplog.text.count("Custom field definitions could not be read (403 Forbidden)") == 1
