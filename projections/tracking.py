"""Where each view records the last event position it has applied, in the view's own transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, LiteralString

import psycopg

from projections.tables import Column, Table

TRACKING = Table(
    "projection_tracking",
    keys=(Column("name", "text"),),
    values=(
        Column("position", "bigint"),
        Column("updated_at", "timestamptz", default="now()"),
    ),
)
TABLE = TRACKING.name
DDL: tuple[LiteralString, ...] = TRACKING.ddl()


def read_position(conn: psycopg.Connection[Any], name: str) -> int:
    """The last position the view `name` has applied; 0 when it has applied nothing."""
    row = conn.execute(
        "SELECT position FROM projection_tracking WHERE name = %s", (name,)
    ).fetchone()
    return int(row[0]) if row else 0


def read_positions(conn: psycopg.Connection[Any], names: Sequence[str]) -> dict[str, int]:
    """The positions of several views at once (0 for a view that has applied nothing)."""
    rows = conn.execute(
        "SELECT name, position FROM projection_tracking WHERE name = ANY(%s)", (list(names),)
    ).fetchall()
    found = {str(row[0]): int(row[1]) for row in rows}
    return {name: found.get(name, 0) for name in names}


def lock_positions(cur: psycopg.Cursor[Any], names: Sequence[str]) -> dict[str, int]:
    """Read the views' positions and lock them until the transaction ends.

    Two runners (in two processes, say) applying the same page thus take turns, and the second
    sees the first one's position: neither applies an event twice.
    """
    cur.execute(
        "INSERT INTO projection_tracking (name, position) SELECT unnest(%s::text[]), 0 "
        "ON CONFLICT (name) DO NOTHING",
        (list(names),),
    )
    cur.execute(
        "SELECT name, position FROM projection_tracking WHERE name = ANY(%s) "
        "ORDER BY name FOR UPDATE",
        (list(names),),
    )
    return {str(row[0]): int(row[1]) for row in cur.fetchall()}


def write_position(cur: psycopg.Cursor[Any], name: str, position: int) -> None:
    """Upsert the view's position; call it in the transaction that wrote the view's rows."""
    cur.execute(
        "INSERT INTO projection_tracking (name, position) VALUES (%s, %s) "
        "ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position, updated_at = now()",
        (name, position),
    )
