"""The views' tables as their descriptions create them are the tables the hand-written DDL made.

Until the views generated their DDL from one description per table (`projections.tables`), each
table was written out as SQL; that SQL is kept below as the reference. Both are run, each in a
schema of its own, and the catalog must read the same for both: the same tables, columns in the
same order with the same types, nullability and defaults, the same constraints, and the same
indexes (names and definitions). A versioned migration that freezes today's DDL is therefore
free to take either.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, LiteralString
from uuid import uuid4

import psycopg
import pytest
from psycopg import sql

from projections import all_ddl, all_views, tracking

_TRACKING: tuple[LiteralString, ...] = (
    """
    CREATE TABLE IF NOT EXISTS projection_tracking (
        name text PRIMARY KEY,
        position bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
    )
    """,
)


_SCHEDULE: tuple[LiteralString, ...] = (
    """
    CREATE TABLE IF NOT EXISTS schedule_projects (
        project_id uuid PRIMARY KEY,
        name text NOT NULL,
        timezone text NOT NULL,
        risk_window_days integer NOT NULL,
        version integer NOT NULL,
        last_position bigint NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS schedule_phases (
        project_id uuid NOT NULL,
        phase_id uuid NOT NULL,
        name text NOT NULL,
        ordinal integer NOT NULL,
        PRIMARY KEY (project_id, phase_id)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS schedule_milestones (
        project_id uuid NOT NULL,
        milestone_id uuid NOT NULL,
        phase_id uuid NOT NULL,
        name text NOT NULL,
        due date NOT NULL,
        baseline_due date NOT NULL,
        original_baseline_due date NOT NULL,
        status text NOT NULL,
        achieved_at timestamptz,
        achieved_by text,
        defined_at timestamptz NOT NULL,
        PRIMARY KEY (project_id, milestone_id)
    )
    """,
    # The project list looks up each project's next open milestone.
    """
    CREATE INDEX IF NOT EXISTS schedule_milestones_open_by_due
        ON schedule_milestones (project_id, due, name) WHERE status = 'not_achieved'
    """,
    """
    CREATE TABLE IF NOT EXISTS schedule_deliverables (
        project_id uuid NOT NULL,
        deliverable_id uuid NOT NULL,
        phase_id uuid NOT NULL,
        title text NOT NULL,
        kind text NOT NULL,
        state text NOT NULL,
        owner text,
        criteria_total integer NOT NULL DEFAULT 0,
        criteria_met integer NOT NULL DEFAULT 0,
        PRIMARY KEY (project_id, deliverable_id)
    )
    """,
    # One row per criterion, so that evidence recorded again on a met criterion counts once.
    """
    CREATE TABLE IF NOT EXISTS schedule_criteria (
        project_id uuid NOT NULL,
        criterion_id uuid NOT NULL,
        deliverable_id uuid NOT NULL,
        met boolean NOT NULL DEFAULT false,
        PRIMARY KEY (project_id, criterion_id)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS schedule_links (
        project_id uuid NOT NULL,
        milestone_id uuid NOT NULL,
        deliverable_id uuid NOT NULL,
        ordinal integer NOT NULL,
        PRIMARY KEY (project_id, milestone_id, deliverable_id)
    )
    """,
    """
    CREATE INDEX IF NOT EXISTS schedule_links_by_deliverable
        ON schedule_links (project_id, deliverable_id)
    """,
)


_PROJECTS: tuple[LiteralString, ...] = (
    """
    CREATE TABLE IF NOT EXISTS projects (
        project_id uuid PRIMARY KEY,
        name text NOT NULL,
        description text NOT NULL,
        timezone text NOT NULL,
        risk_window_days integer NOT NULL,
        version integer NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        last_position bigint NOT NULL,
        deliverable_counts jsonb NOT NULL,
        milestone_counts jsonb NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS project_members (
        project_id uuid NOT NULL,
        principal text NOT NULL,
        role text NOT NULL,
        PRIMARY KEY (project_id, principal)
    )
    """,
    "CREATE INDEX IF NOT EXISTS project_members_by_principal ON project_members (principal)",
    # The state of every deliverable and milestone, so that a transition whose event does not
    # say where it came from (a reopen, a cancel) moves the right count.
    """
    CREATE TABLE IF NOT EXISTS project_items (
        project_id uuid NOT NULL,
        item_id uuid NOT NULL,
        state text NOT NULL,
        PRIMARY KEY (project_id, item_id)
    )
    """,
)


_AUDIT: tuple[LiteralString, ...] = (
    """
    CREATE TABLE IF NOT EXISTS audit_trail (
        position bigint PRIMARY KEY,
        project_id uuid NOT NULL,
        version integer NOT NULL,
        entity_kind text NOT NULL,
        entity_id text NOT NULL,
        entity_ids text[] NOT NULL,
        event_type text NOT NULL,
        actor text NOT NULL,
        occurred_at timestamptz NOT NULL,
        summary text NOT NULL,
        data jsonb NOT NULL
    )
    """,
    # One index per filter of GET /v1/audit, each ending in position so that "newest first,
    # before the cursor" is a backward range scan that stops after `limit` rows.
    "CREATE INDEX IF NOT EXISTS audit_trail_by_project ON audit_trail (project_id, position)",
    # A project's events of one type: without it the planner ANDs the project's and the type's
    # bitmaps (24 ms at 1M events instead of 0.2 ms).
    "CREATE INDEX IF NOT EXISTS audit_trail_by_project_type"
    " ON audit_trail (project_id, event_type, position)",
    "CREATE INDEX IF NOT EXISTS audit_trail_by_actor ON audit_trail (actor, position)",
    "CREATE INDEX IF NOT EXISTS audit_trail_by_type ON audit_trail (event_type, position)",
    "CREATE INDEX IF NOT EXISTS audit_trail_by_time ON audit_trail (occurred_at, position)",
    # An entity filter matches every event that names the entity (evidence names its deliverable).
    "CREATE INDEX IF NOT EXISTS audit_trail_by_entity ON audit_trail USING gin (entity_ids)",
    # The name of every project, phase, deliverable, criterion and milestone, for summaries.
    """
    CREATE TABLE IF NOT EXISTS audit_names (
        project_id uuid NOT NULL,
        entity_id text NOT NULL,
        name text NOT NULL,
        PRIMARY KEY (project_id, entity_id)
    )
    """,
)


REFERENCE_DDL: tuple[LiteralString, ...] = (*_TRACKING, *_SCHEDULE, *_PROJECTS, *_AUDIT)

_COLUMNS = """
    SELECT c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
           pg_get_expr(d.adbin, d.adrelid), a.attcollation::regcollation::text, c.relpersistence
    FROM pg_class c
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
    WHERE c.relnamespace = %(schema)s::regnamespace AND c.relkind = 'r'
    ORDER BY c.relname, a.attnum
"""
_CONSTRAINTS = """
    SELECT c.relname, k.conname, k.contype, pg_get_constraintdef(k.oid)
    FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
    WHERE c.relnamespace = %(schema)s::regnamespace
    ORDER BY c.relname, k.conname
"""
# The definitions name the schema they are in: read them as if both were the same.
_INDEXES = """
    SELECT c.relname, i.relname, replace(pg_get_indexdef(x.indexrelid), %(schema)s || '.', '')
    FROM pg_index x
    JOIN pg_class i ON i.oid = x.indexrelid
    JOIN pg_class c ON c.oid = x.indrelid
    WHERE c.relnamespace = %(schema)s::regnamespace
    ORDER BY c.relname, i.relname
"""


@pytest.fixture
def schemas(database_url: str) -> Iterator[list[str]]:
    made: list[str] = []
    yield made
    with psycopg.connect(database_url, autocommit=True) as conn:
        for schema in made:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def _catalog(
    database_url: str, schemas: list[str], statements: Sequence[LiteralString]
) -> dict[str, list[tuple[Any, ...]]]:
    """Run the statements in a fresh schema (twice: they must be idempotent); its catalog."""
    schema = f"ddl_{uuid4().hex[:8]}"
    schemas.append(schema)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        conn.execute("SELECT set_config('search_path', %s, false)", (schema,))
        for _ in range(2):
            for statement in statements:
                conn.execute(statement)
        params = {"schema": schema}
        return {
            "columns": conn.execute(_COLUMNS, params).fetchall(),
            "constraints": conn.execute(_CONSTRAINTS, params).fetchall(),
            "indexes": conn.execute(_INDEXES, params).fetchall(),
        }


def test_the_described_tables_are_the_tables_the_hand_written_ddl_made(
    database_url: str, schemas: list[str]
) -> None:
    reference = _catalog(database_url, schemas, REFERENCE_DDL)
    described = _catalog(database_url, schemas, all_ddl())

    assert described["columns"] == reference["columns"]
    assert described["constraints"] == reference["constraints"]
    assert described["indexes"] == reference["indexes"]


def test_the_reference_covers_every_table_and_index_of_the_views(
    database_url: str, schemas: list[str]
) -> None:
    catalog = _catalog(database_url, schemas, REFERENCE_DDL)

    tables = {row[0] for row in catalog["columns"]}
    assert tables == {tracking.TABLE, *(t for view in all_views() for t in view.tables)}
    # Among them the partial, the GIN and the multi-column indexes.
    indexes = {row[1]: row[2] for row in catalog["indexes"]}
    assert indexes["schedule_milestones_open_by_due"].endswith(
        "WHERE (status = 'not_achieved'::text)"
    )
    assert "USING gin (entity_ids)" in indexes["audit_trail_by_entity"]
    assert '(project_id, event_type, "position")' in indexes["audit_trail_by_project_type"]
