"""What the target looks up in Planhat besides writing: existing keys, team members, custom fields.

Each listing is made once per run and kept (a fresh scan only for ACTIVATE_VERSION), and its
calls are counted for the stream that needed it first (``on_page``).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from planhat_common.errors import PlanhatError
from planhat_common.registry import get_model
from target_planhat.mapping.keys import key_value

if TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Iterable, Mapping

    from planhat_common.client import PlanhatClient
    from planhat_common.registry import Model
    from target_planhat.mapping.keys import Key


class KeyLookups:
    """Listings of the tenant's records, team members and custom fields, kept for the run."""

    def __init__(self, client: PlanhatClient, logger: logging.Logger) -> None:
        """Nothing is listed until first asked for."""
        self._client = client
        self._logger = logger
        # One listing at a time: a second asker waits for the first one's result.
        self._lock = threading.Lock()
        self._key_indexes: dict[str, dict[Key, str]] = {}
        self._custom_names: dict[str, list[str]] | None = None
        self._custom_names_read = False
        self._users_by_email: dict[str, str] | None = None

    def key_index(self, model: Model, on_page: Callable[[], None]) -> Mapping[Key, str]:
        """Existing ``(keyable, value) -> _id`` of a model: one list scan, kept for the run.

        Keys this run wrote without learning their ``_id`` map to ``""`` (see
        :meth:`note_written`).
        """
        with self._lock:
            return self._index(model, on_page)

    def _index(self, model: Model, on_page: Callable[[], None]) -> dict[Key, str]:
        index = self._key_indexes.get(model.name)
        if index is not None:
            return index
        index = {}
        if model.path and model.readable:
            select = ",".join(dict.fromkeys(("_id", *model.keyables)))
            self._logger.info("Listing %s keys (%s) once for this run", model.planhat_name, select)
            for item in self._client.list_all(
                model.path, select=select, limit=model.page_cap, on_page=on_page
            ):
                record_id = str(item.get("_id") or "")
                for name in model.keyables:
                    value = key_value(item.get(name))
                    if value is not None:
                        index[name, value] = record_id
        self._key_indexes[model.name] = index
        return index

    def fresh_key_index(self, model: Model, on_page: Callable[[], None]) -> Mapping[Key, str]:
        """Like :meth:`key_index`, after listing the model again (its records changed since).

        Keys this run wrote without learning their ``_id`` are kept, as ``""`` if still unseen.
        """
        with self._lock:
            written = {k for k, v in self._key_indexes.pop(model.name, {}).items() if not v}
            index = self._index(model, on_page)
            for key in written:
                index.setdefault(key, "")
            return index

    def find_id(self, model: Model, key: Key | None, on_page: Callable[[], None]) -> str | None:
        """The Planhat ``_id`` of the model's record with ``key`` (one key scan), or None."""
        if key is None:
            return None
        if key[0] == "_id":
            return key[1]
        return self.key_index(model, on_page).get(key) or None

    def known_id(self, model: Model, key: Key | None) -> str | None:
        """A key's Planhat ``_id`` if the run knows it without a call (for the results file)."""
        if key is None:
            return None
        if key[0] == "_id":
            return key[1]
        with self._lock:
            return self._key_indexes.get(model.name, {}).get(key) or None

    def note_written(self, model: Model, keys: Iterable[Key], on_page: Callable[[], None]) -> None:
        """Remember keys Planhat took, so a later create_only or update_only batch sees them."""
        with self._lock:
            index = self._index(model, on_page)
            for key in keys:
                index.setdefault(key, "")

    def ids_absent_from(
        self, model: Model, keys: set[Key], written: set[str], on_page: Callable[[], None]
    ) -> list[str]:
        """Ids of the model's Planhat records matching none of ``keys`` (one fresh scan)."""
        assert model.path is not None  # noqa: S101 - callers check
        select = ",".join(dict.fromkeys(("_id", *model.keyables)))
        absent = []
        for item in self._client.list_all(
            model.path, select=select, limit=model.page_cap, on_page=on_page
        ):
            record_id = str(item.get("_id") or "")
            if not record_id or record_id in written:
                continue
            if not any((name, str(item.get(name))) in keys for name in model.keyables):
                absent.append(record_id)
        return absent

    def user_ids_by_email(self, on_page: Callable[[], None]) -> Mapping[str, str]:
        """Team members' ``_id`` by lower-cased email: one /users listing per run."""
        with self._lock:
            if self._users_by_email is None:
                users = get_model("users")
                assert users.path is not None  # noqa: S101 - a listed model
                self._logger.info("Listing team members (_id, email) once for this run")
                found: dict[str, str] = {}
                for item in self._client.list_all(
                    users.path, select="_id,email", limit=users.page_cap, on_page=on_page
                ):
                    email, user_id = item.get("email"), item.get("_id")
                    if isinstance(email, str) and isinstance(user_id, str):
                        found.setdefault(email.strip().lower(), user_id)
                self._users_by_email = found
            return self._users_by_email

    def custom_field_names(self, model: Model, on_page: Callable[[], None]) -> list[str] | None:
        """Names of the tenant's custom fields of ``model``: one /customfields listing per run.

        None when the listing is not allowed or not there: columns then keep their names.
        """
        with self._lock:
            if not self._custom_names_read:
                self._custom_names = self._read_custom_names(on_page)
                self._custom_names_read = True
            if self._custom_names is None:
                return None
            return self._custom_names.get(model.planhat_name.lower(), [])

    def _read_custom_names(self, on_page: Callable[[], None]) -> dict[str, list[str]] | None:
        definitions = get_model("custom_fields")
        assert definitions.path is not None  # noqa: S101 - a listed model
        by_parent: dict[str, list[str]] = {}
        try:
            for item in self._client.list_all(
                definitions.path, select="name,parent", limit=definitions.page_cap, on_page=on_page
            ):
                parent, name = str(item.get("parent") or ""), item.get("name")
                if isinstance(name, str) and name:
                    by_parent.setdefault(parent.lower(), []).append(name)
        except PlanhatError as exc:
            self._logger.warning(
                "Custom field definitions could not be read (%s): columns that are not "
                "standard fields go into `custom` under their own names.",
                exc,
            )
            return None
        return by_parent
