"""The audit view's queries: a page of the trail (keyset, newest first), an export, a plan.

Visibility follows the projects view's `project_members`: a reader sees the rows of the projects
it is a member of now.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, LiteralString
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.rows import dict_row


@dataclass(frozen=True)
class AuditFilter:
    """The filters of GET /v1/audit; `since` is inclusive, `until` exclusive, `to_position`
    inclusive."""

    project_id: UUID | None = None
    entity_id: str | None = None
    actor: str | None = None
    type: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    # Not a user's filter: a scoped token's projects (None: every project the reader reads).
    scope: frozenset[UUID] | None = None
    # Rows at or before this global position (inclusive): the trail as it stood then, which a
    # page's slider names exactly even where several events share an instant.
    to_position: int | None = None


_COLUMNS = sql.SQL(
    "a.position, a.project_id, a.version, a.entity_kind, a.entity_id, a.event_type, a.actor,"
    " a.occurred_at, a.summary, a.data"
)


def _query(
    where: AuditFilter, *, reader: str, read_all: bool, before: int | None, limit: int
) -> tuple[sql.Composed, dict[str, Any]]:
    conditions: list[sql.Composable] = []
    params: dict[str, Any] = {"reader": reader, "limit": limit}

    def add(condition: LiteralString, name: str, value: object) -> None:
        if value is not None:
            conditions.append(sql.SQL(condition))
            params[name] = value

    add("a.position < %(before)s", "before", before)
    add("a.position <= %(to_position)s", "to_position", where.to_position)
    add("a.project_id = %(project_id)s", "project_id", where.project_id)
    add("a.entity_ids @> ARRAY[%(entity_id)s::text]", "entity_id", where.entity_id)
    # The column whose index orders the answer (see `_index_column`) is compared as a range
    # of one value, which the planner does not fold into a constant.
    lead = _index_column(where) if read_all else None
    if lead == "a.actor":
        add("a.actor >= %(actor)s AND a.actor <= %(actor)s", "actor", where.actor)
    else:
        add("a.actor = %(actor)s", "actor", where.actor)
    if lead == "a.event_type":
        add("a.event_type >= %(type)s AND a.event_type <= %(type)s", "type", where.type)
    else:
        add("a.event_type = %(type)s", "type", where.type)
    add("a.occurred_at >= %(since)s", "since", where.since)
    add("a.occurred_at < %(until)s", "until", where.until)
    if read_all and where.scope is None:
        # Newest first straight off an index that ends in position: stops after `limit` rows.
        filtered = sql.SQL(" WHERE ") + sql.SQL(" AND ").join(conditions) if conditions else None
        return sql.Composed(
            [
                sql.SQL("SELECT {} FROM audit_trail a").format(_COLUMNS),
                filtered or sql.SQL(""),
                sql.SQL(" ORDER BY "),
                sql.SQL(f"{lead} DESC, a.position DESC" if lead else "a.position DESC"),
                sql.SQL(" LIMIT %(limit)s"),
            ]
        ), params
    # A member's page (or a scoped token's): at most `limit` rows from each project it reads,
    # then the newest of those. A filter on the whole table would scan back past every other
    # project's rows.
    conditions.insert(0, sql.SQL("a.project_id = m.project_id"))
    if where.scope is not None:
        params["scope"] = sorted(where.scope)
    if read_all:  # an auditor's or an admin's scoped token: the projects of its scope
        projects = sql.SQL("SELECT unnest(%(scope)s::uuid[]) AS project_id")
    elif where.scope is None:
        projects = sql.SQL("SELECT project_id FROM project_members WHERE principal = %(reader)s")
    else:
        projects = sql.SQL(
            "SELECT project_id FROM project_members WHERE principal = %(reader)s"
            " AND project_id = ANY(%(scope)s::uuid[])"
        )
    return sql.Composed(
        [
            sql.SQL("SELECT {} FROM (").format(_COLUMNS),
            projects,
            sql.SQL(") m CROSS JOIN LATERAL ("),
            sql.SQL("SELECT {} FROM audit_trail a WHERE ").format(_COLUMNS),
            sql.SQL(" AND ").join(conditions),
            sql.SQL(" ORDER BY a.position DESC LIMIT %(limit)s) a"),
            sql.SQL(" ORDER BY a.position DESC LIMIT %(limit)s"),
        ]
    ), params


def _index_column(where: AuditFilter) -> LiteralString | None:
    """The filtered column whose own index should give the newest rows first, if any.

    Filtered by a principal (or only by a type), the planner walked the primary key backwards
    and filtered, betting that the principal's rows are spread evenly through the log. They
    come in runs (a principal works on a few projects at a time): one principal's newest 100
    rows took 15 ms at 1M events. Ordered by that column too (it is fixed by the filter, so the
    answer is the same) and compared as a range the planner does not fold into a constant, the
    query reads the `(actor, position)` index backwards: 0.2 ms. A project's filters already
    get their indexes.
    """
    if where.project_id is not None:
        return None
    if where.actor is not None:
        return "a.actor"
    if where.type is not None:
        return "a.event_type"
    return None


def audit_page(
    conn: psycopg.Connection[Any],
    where: AuditFilter,
    *,
    reader: str,
    read_all: bool,
    before: int | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Up to `limit` rows older than position `before` (all when None), newest first.

    Keyset pagination on the position: rows committed meanwhile have higher positions, so a
    reader paging backwards neither repeats nor skips a row.
    """
    query, params = _query(where, reader=reader, read_all=read_all, before=before, limit=limit)
    with conn.cursor(row_factory=dict_row) as cur:
        return [_row(r) for r in cur.execute(query, params).fetchall()]


Connect = Callable[[], AbstractContextManager[psycopg.Connection[Any]]]


def iter_audit(
    connect: Connect,
    where: AuditFilter,
    *,
    reader: str,
    read_all: bool,
    before: int | None = None,
    page: int,
) -> Iterator[dict[str, Any]]:
    """Every matching row, newest first, for exports: `page` rows at a time, each page read on
    a connection of its own from `connect()` (a pool's) and given back before any row is
    yielded, so a slow or vanished reader holds no connection and no transaction between pages.

    The pages are keyed by position, as `audit_page`'s are: rows the view adds meanwhile have
    higher positions than any row already read, so the export is every match at or below
    the newest row of its first page, each once, newest first, as complete as a single read.
    (Visibility is read with each page: a reader removed from a project meanwhile gets no
    more of its rows.)
    """
    while True:
        with connect() as conn:
            rows = audit_page(
                conn, where, reader=reader, read_all=read_all, before=before, limit=page
            )
        yield from rows
        if len(rows) < page:
            return
        before = rows[-1]["position"]


def explain_audit(
    conn: psycopg.Connection[Any],
    where: AuditFilter,
    *,
    reader: str,
    read_all: bool,
    before: int | None = None,
    limit: int = 100,
) -> str:
    """The plan of one page (for measurements; see docs/history.md)."""
    query, params = _query(where, reader=reader, read_all=read_all, before=before, limit=limit)
    rows = conn.execute(sql.SQL("EXPLAIN (ANALYZE, BUFFERS) ") + query, params).fetchall()
    return "\n".join(str(r[0]) for r in rows)


def _row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "position": row["position"],
        "project_id": row["project_id"],
        "version": row["version"],
        "entity_kind": row["entity_kind"],
        "entity_id": row["entity_id"],
        "type": row["event_type"],
        "actor": row["actor"],
        "occurred_at": row["occurred_at"].astimezone(UTC),
        "summary": row["summary"],
        "data": row["data"],
    }
