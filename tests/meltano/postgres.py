"""A real PostgreSQL for the warehouse tests: pgserver (PyPI) runs one without root.

It listens on a Unix socket in its data directory. target-postgres takes a plain psycopg URL;
tap-postgres insists on a user, password and host in its URL, and libpq's ``host`` query
parameter (the socket directory) then wins over the ``localhost`` it is given.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import psycopg

if TYPE_CHECKING:
    from pathlib import Path

_NAMES = itertools.count(1)


@dataclass
class Postgres:
    """A running server; :meth:`database` makes a fresh, empty database."""

    socket_dir: Path
    server: Any

    def database(self) -> Database:
        """A new database on this server."""
        name = f"planhat_{next(_NAMES)}"
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as con:
            con.execute(f'create database "{name}"')
        return Database(self, name)

    def dsn(self, database: str) -> str:
        """A libpq connection string for ``database``."""
        return f"host={self.socket_dir} user=postgres dbname={database}"


@dataclass
class Database:
    """One database: URLs for the two plugins and SQL for the tests."""

    postgres: Postgres
    name: str

    @property
    def target_url(self) -> str:
        """``sqlalchemy_url`` for target-postgres."""
        return f"postgresql+psycopg://postgres@/{self.name}?host={self.postgres.socket_dir}"

    @property
    def tap_url(self) -> str:
        """``sqlalchemy_url`` for tap-postgres (user, password and host required)."""
        socket = self.postgres.socket_dir
        return f"postgresql+psycopg2://postgres:x@localhost:5432/{self.name}?host={socket}"

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Rows of one statement (none for statements that return none)."""
        with psycopg.connect(self.postgres.dsn(self.name), autocommit=True) as con:
            cursor = con.execute(sql, params or None)
            return cursor.fetchall() if cursor.description else []

    def column_types(self, schema: str, table: str) -> dict[str, str]:
        """``column -> data type`` as information_schema names it (e.g. ``jsonb``)."""
        rows = self.query(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = %s and table_name = %s",
            schema,
            table,
        )
        return dict(rows)


def start_postgres(data_dir: Path, runtime_dir: Path) -> Postgres:
    """Start PostgreSQL in ``data_dir``."""
    # platformdirs (under pgserver) warns without a runtime directory; give it one.
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime_dir))
    import pgserver  # noqa: PLC0415 - imported once the environment is ready

    return Postgres(data_dir, pgserver.get_server(data_dir, cleanup_mode="stop"))
