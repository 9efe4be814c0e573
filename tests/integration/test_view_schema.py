"""The views' tables as their descriptions create them are the tables the migrations made.

Each view describes its tables once (`projections.tables`), and rebuilds create shadow tables
from those descriptions; the live tables are made by the versioned migrations
(`adapters/postgres/migrations`). The two must never drift apart: a change to a description
needs a migration that makes the live table the same. Both are made, the descriptions in a
schema of their own, and the catalog must read the same: the same tables, columns in the same
order with the same types, nullability and defaults, the same constraints, and the same indexes
(names and definitions).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, LiteralString
from uuid import uuid4

import psycopg
import pytest
from psycopg import sql

from adapters.postgres.migrate import migrate
from projections import all_ddl, all_views, tracking
from tests.integration.scratch import scratch_database

VIEW_TABLES = sorted({tracking.TABLE, *(t for view in all_views() for t in view.tables)})

_COLUMNS = """
    SELECT c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
           pg_get_expr(d.adbin, d.adrelid), a.attcollation::regcollation::text, c.relpersistence
    FROM pg_class c
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
    WHERE c.relnamespace = %(schema)s::regnamespace AND c.relkind = 'r'
      AND c.relname = ANY(%(tables)s)
    ORDER BY c.relname, a.attnum
"""
_CONSTRAINTS = """
    SELECT c.relname, k.conname, k.contype, pg_get_constraintdef(k.oid)
    FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
    WHERE c.relnamespace = %(schema)s::regnamespace AND c.relname = ANY(%(tables)s)
    ORDER BY c.relname, k.conname
"""
# The definitions name the schema they are in: read them as if both were the same.
_INDEXES = """
    SELECT c.relname, i.relname, replace(pg_get_indexdef(x.indexrelid), %(schema)s || '.', '')
    FROM pg_index x
    JOIN pg_class i ON i.oid = x.indexrelid
    JOIN pg_class c ON c.oid = x.indrelid
    WHERE c.relnamespace = %(schema)s::regnamespace AND c.relname = ANY(%(tables)s)
    ORDER BY c.relname, i.relname
"""


@pytest.fixture(scope="module")
def migrated(database_url: str) -> Iterator[str]:
    with scratch_database(database_url, "ml_view_schema") as url:
        migrate(url)
        yield url


def _read(conn: psycopg.Connection[Any], schema: str) -> dict[str, list[tuple[Any, ...]]]:
    params = {"schema": schema, "tables": VIEW_TABLES}
    return {
        "columns": conn.execute(_COLUMNS, params).fetchall(),
        "constraints": conn.execute(_CONSTRAINTS, params).fetchall(),
        "indexes": conn.execute(_INDEXES, params).fetchall(),
    }


def _described(url: str, statements: Sequence[LiteralString]) -> dict[str, list[tuple[Any, ...]]]:
    """Run the statements in a fresh schema (twice: they must be idempotent); its catalog."""
    schema = f"ddl_{uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        try:
            conn.execute("SELECT set_config('search_path', %s, false)", (schema,))
            for _ in range(2):
                for statement in statements:
                    conn.execute(statement)
            return _read(conn, schema)
        finally:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def _live(url: str) -> dict[str, list[tuple[Any, ...]]]:
    with psycopg.connect(url) as conn:
        return _read(conn, "public")


def test_the_described_tables_are_the_tables_the_migrations_made(migrated: str) -> None:
    live = _live(migrated)
    described = _described(migrated, all_ddl())

    assert described["columns"] == live["columns"]
    assert described["constraints"] == live["constraints"]
    assert described["indexes"] == live["indexes"]


def test_the_migrations_make_every_table_and_index_of_the_views(migrated: str) -> None:
    catalog = _live(migrated)

    assert sorted({row[0] for row in catalog["columns"]}) == VIEW_TABLES
    # Among them the partial, the GIN and the multi-column indexes.
    indexes = {row[1]: row[2] for row in catalog["indexes"]}
    assert indexes["schedule_milestones_open_by_due"].endswith(
        "WHERE (status = 'not_achieved'::text)"
    )
    assert "USING gin (entity_ids)" in indexes["audit_trail_by_entity"]
    assert "WITH (fastupdate=off)" in indexes["audit_trail_by_entity"]  # no pending list
    assert '(project_id, event_type, "position")' in indexes["audit_trail_by_project_type"]
