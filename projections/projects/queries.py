"""The projects view's query: the projects a principal reads, with counts and next due milestone."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import dict_row

from projections.tracking import read_position
from projections.transactions import snapshot

_LIST_PROJECTS = """
    SELECT p.project_id, p.name, p.description, p.timezone, p.risk_window_days, p.version,
           p.created_at, p.updated_at, p.last_position, p.deliverable_counts,
           p.milestone_counts, mem.role,
           next.milestone_id AS next_id, next.name AS next_name, next.due AS next_due
    FROM projects p
    LEFT JOIN project_members mem
           ON mem.project_id = p.project_id AND mem.principal = %(principal)s
    LEFT JOIN LATERAL (
        SELECT m.milestone_id, m.name, m.due FROM schedule_milestones m
        WHERE m.project_id = p.project_id AND m.status = 'not_achieved'
        ORDER BY m.due, m.name, m.milestone_id LIMIT 1
    ) next ON true
    WHERE (%(read_all)s OR mem.role IS NOT NULL)
      AND (%(scope)s::uuid[] IS NULL OR p.project_id = ANY(%(scope)s::uuid[]))
      AND (%(after_name)s::text IS NULL
           OR (p.name, p.project_id) > (%(after_name)s::text, %(after_id)s::uuid))
    ORDER BY p.name, p.project_id
    LIMIT %(limit)s
"""


# The page a caller gets without asking for a size, and the largest it may ask for (as the
# audit trail's): an organisation's ten thousand projects are never one answer.
PAGE = 100
MAX_PAGE = 1000


def list_projects(
    conn: psycopg.Connection[Any],
    principal: str,
    read_all: bool,
    scope: Collection[UUID] | None = None,
    *,
    after: tuple[str, UUID] | None = None,
    limit: int = PAGE,
) -> list[dict[str, Any]]:
    """The projects `principal` is a member of (every project when `read_all`), by name; only
    those in `scope` when it is given (a scoped token's projects). At most `limit` of them, those
    after `after` (the name and id of the last one of the page before) in the order (name, id):
    a project created or renamed between two pages is listed in the page its name falls in.

    The next due milestone (the earliest not achieved, not cancelled one) is read from the
    schedule view's `schedule_milestones`, so it is as fresh as that view. `role` is the
    principal's role on the project, None where it reads only by `read_all`.
    """
    with snapshot(conn), conn.cursor(row_factory=dict_row) as cur:
        scoped = None if scope is None else list(scope)
        params = {
            "principal": principal,
            "read_all": read_all,
            "scope": scoped,
            "after_name": None if after is None else after[0],
            "after_id": None if after is None else after[1],
            "limit": limit,
        }
        rows = cur.execute(_LIST_PROJECTS, params)
        return [_project_item(row) for row in rows.fetchall()]


def _project_item(row: dict[str, Any]) -> dict[str, Any]:
    next_due = None
    if row["next_id"] is not None:
        next_due = {"id": row["next_id"], "name": row["next_name"], "due": row["next_due"]}
    return {
        "id": row["project_id"],
        "name": row["name"],
        "description": row["description"],
        "timezone": row["timezone"],
        "risk_window_days": row["risk_window_days"],
        "version": row["version"],
        "position": row["last_position"],
        "role": row["role"],
        "created_at": _utc(row["created_at"]),
        "updated_at": _utc(row["updated_at"]),
        "counts": {
            "deliverables": row["deliverable_counts"],
            "milestones": row["milestone_counts"],
        },
        "next_due_milestone": next_due,
    }


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class Readable:
    """The projects a member reads, as of `position`: the projects view's position when it read
    them (every membership change at or below it is in)."""

    projects: frozenset[UUID]
    position: int


def readable_projects(
    conn: psycopg.Connection[Any], principal: str, scope: Collection[UUID] | None = None
) -> Readable:
    """The projects `principal` is a member of now (only those in `scope` when given), and the
    position of the projects view they were read at, on one snapshot."""
    with snapshot(conn) as snap:
        rows = snap.execute(
            "SELECT project_id FROM project_members WHERE principal = %s", (principal,)
        ).fetchall()
        position = read_position(snap, "projects")
    projects = frozenset(row[0] for row in rows)
    if scope is not None:
        projects &= frozenset(scope)
    return Readable(projects, position)
