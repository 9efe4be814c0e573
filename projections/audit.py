"""The audit-trail view: one row per event (who did what to which entity, when), newest first.

Each row carries a one-line summary ("carol approved 'Analysis report draft'"), written when the
event is applied from a small table of the names every entity had at that moment, so a later
retitle does not rewrite what an earlier line said. Visibility follows the projects view's
`project_members`: a reader sees the rows of the projects it is a member of now.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, LiteralString
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from domain import events as ev
from domain.history import entity_of, json_text
from projections.base import View
from projections.batch import Table

DDL: tuple[LiteralString, ...] = (
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

Cursor = psycopg.Cursor[Any]

TRAIL = Table(
    "audit_trail",
    (("position", "int8"),),
    (
        ("project_id", "uuid"),
        ("version", "int4"),
        ("entity_kind", "text"),
        ("entity_id", "text"),
        ("entity_ids", "text[]"),
        ("event_type", "text"),
        ("actor", "text"),
        ("occurred_at", "timestamptz"),
        ("summary", "text"),
        ("data", "jsonb"),
    ),
)
NAMES = Table("audit_names", (("project_id", "uuid"), ("entity_id", "text")), (("name", "text"),))

_SET_NAMES = """
    INSERT INTO audit_names (project_id, entity_id, name)
    SELECT * FROM unnest(%s::uuid[], %s::text[], %s::text[])
    ON CONFLICT (project_id, entity_id) DO UPDATE SET name = EXCLUDED.name
"""


class AuditView(View):
    name = "audit"
    tables = ("audit_trail", "audit_names")
    ddl = DDL

    def process_page(self, cur: Cursor, events: Sequence[tuple[ev.ProjectEvent, int]]) -> None:
        """One row per event by COPY, and the names the page gives in one upsert.

        A summary takes the names its entities have when its event is applied: the page's own
        names so far, else the table's (read once for the page), else the entity's id.
        """
        if not events:
            return
        prepared = []
        named: set[tuple[UUID, str]] = set()
        unknown: set[tuple[UUID, str]] = set()
        for event, position in events:
            p = event.originator_id
            template, refs = summary_template(event)
            unknown.update((p, ref) for ref in refs if (p, ref) not in named)
            given = name_given(event)
            if given is not None:
                named.add((p, given[0]))
            prepared.append((event, position, template, refs, given))
        names: dict[tuple[UUID, str], str] = {
            (row[0], row[1]): row[2] for row in NAMES.select(cur, unknown)
        }
        changed: dict[tuple[UUID, str], str] = {}
        rows = []
        for event, position, template, refs, given in prepared:
            p = event.originator_id
            entity = entity_of(event)
            args = [names.get((p, ref), ref) for ref in refs]
            rows.append(
                (
                    position,
                    p,
                    event.originator_version,
                    entity.kind,
                    entity.id,
                    list(entity.related),
                    event.type_name,
                    event.actor,
                    event.timestamp,
                    _format(cur, template, args),
                    Jsonb(event, dumps=json_text),
                )
            )
            if given is not None:
                names[(p, given[0])] = changed[(p, given[0])] = given[1]
        TRAIL.copy(cur, rows)
        if changed:
            cur.execute(
                _SET_NAMES,
                (
                    [key[0] for key in changed],
                    [key[1] for key in changed],
                    list(changed.values()),
                ),
            )


# A summary template holds literal text with '%' doubled and a '%s' slot per name.
_SLOTS = re.compile(r"%[%s]")


def _format(cur: Cursor, template: str, args: list[str]) -> str:
    """PostgreSQL's `format(template, VARIADIC args)` for a template of '%s' and '%%' only (all
    `summary_template` makes); anything else is left to the server, which formats (or refuses)
    it as it did when it formatted every summary."""
    if "%" not in template and not args:
        return template
    tokens = _SLOTS.findall(template)
    if "%" not in _SLOTS.sub("", template) and tokens.count("%s") == len(args):
        return template % tuple(args)
    row = cur.execute("SELECT format(%s, VARIADIC %s::text[])", (template, args)).fetchone()
    assert row is not None
    return str(row[0])


def name_given(event: ev.ProjectEvent) -> tuple[str, str] | None:
    """(entity id, name) when the event names or renames an entity."""
    if isinstance(event, ev.ProjectCreated):
        return str(event.originator_id), event.name
    if isinstance(event, ev.PhaseAdded):
        return str(event.phase_id), event.name
    if isinstance(event, ev.DeliverableDefined | ev.DeliverableRetitled):
        return str(event.deliverable_id), event.title
    if isinstance(event, ev.CriterionAdded):
        return str(event.criterion_id), event.text
    if isinstance(event, ev.MilestoneDefined):
        return str(event.milestone_id), event.name
    return None


def summary_template(event: ev.ProjectEvent) -> tuple[str, list[str]]:
    """A one-line summary as a format() template, and the ids whose names fill its %s slots."""
    who = _lit(event.actor)
    project = str(event.originator_id)
    if isinstance(event, ev.ProjectCreated):
        return f"{who} created project '{_lit(event.name)}'", []
    if isinstance(event, ev.MemberAdded):
        return f"{who} added {_lit(event.principal)} as {event.role}", []
    if isinstance(event, ev.MemberRoleChanged):
        return (
            f"{who} changed the role of {_lit(event.principal)} from {event.previous_role} "
            f"to {event.role}",
            [],
        )
    if isinstance(event, ev.MemberRemoved):
        return f"{who} removed {_lit(event.principal)} from project '%s'", [project]
    if isinstance(event, ev.PhaseAdded):
        return f"{who} added phase '{_lit(event.name)}'", []
    if isinstance(event, ev.DeliverableDefined):
        return f"{who} defined {event.kind} '{_lit(event.title)}'", []
    if isinstance(event, ev.CriterionAdded):
        return f"{who} added criterion '{_lit(event.text)}' to '%s'", [str(event.deliverable_id)]
    if isinstance(event, ev.EvidenceRecorded):
        return (
            f"{who} recorded evidence for '%s' of '%s'",
            [str(event.criterion_id), str(event.deliverable_id)],
        )
    if isinstance(event, ev.DeliverableEvent):
        return _deliverable_summary(event, who), [str(event.deliverable_id)]
    if isinstance(event, ev.MilestoneDefined):
        return f"{who} defined milestone '{_lit(event.name)}' due {event.due.isoformat()}", []
    if isinstance(event, ev.DeliverableLinked):
        return f"{who} linked '%s' to milestone '%s'", [
            str(event.deliverable_id),
            str(event.milestone_id),
        ]
    if isinstance(event, ev.DeliverableUnlinked):
        return f"{who} unlinked '%s' from milestone '%s'", [
            str(event.deliverable_id),
            str(event.milestone_id),
        ]
    if isinstance(event, ev.MilestoneEvent):
        return _milestone_summary(event, who), [str(event.milestone_id)]
    if isinstance(event, ev.ProjectRebaselined):
        count = len(event.baselines)
        noun = "milestone" if count == 1 else "milestones"
        return f"{who} re-baselined {count} open {noun}: {_reason(event.reason)}", []
    return f"{who} recorded {event.type_name}", []


def _deliverable_summary(event: ev.DeliverableEvent, who: str) -> str:
    if isinstance(event, ev.DeliverableRetitled):
        return f"{who} retitled '%s' to '{_lit(event.title)}'"
    if isinstance(event, ev.DeliverableDescribed):
        return f"{who} changed the description of '%s'"
    if isinstance(event, ev.DeliverableOwnerAssigned):
        if event.owner is None:
            return f"{who} cleared the owner of '%s'"
        return f"{who} made {_lit(event.owner)} the owner of '%s'"
    if isinstance(event, ev.DeliverableMovedToPhase):
        return f"{who} moved '%s' to another phase"
    if isinstance(event, ev.DeliverableKindChanged):
        return f"{who} made '%s' a {event.kind}"
    if isinstance(event, ev.DeliverableSubmitted):
        return f"{who} submitted '%s' for review"
    if isinstance(event, ev.DeliverableApproved):
        return f"{who} approved '%s'"
    if isinstance(event, ev.DeliverableRejected):
        return f"{who} rejected '%s': {_reason(event.reason)}"
    if isinstance(event, ev.DeliverableReopened):
        return f"{who} reopened '%s': {_reason(event.reason)}"
    if isinstance(event, ev.DeliverableCancelled):
        return f"{who} cancelled '%s': {_reason(event.reason)}"
    return f"{who} recorded {event.type_name} on '%s'"


def _milestone_summary(event: ev.MilestoneEvent, who: str) -> str:
    if isinstance(event, ev.MilestoneRescheduled):
        return (
            f"{who} rescheduled '%s' from {event.previous_due.isoformat()} to "
            f"{event.due.isoformat()}: {_reason(event.reason)}"
        )
    if isinstance(event, ev.MilestoneAchieved):
        return f"{who} achieved '%s'"
    if isinstance(event, ev.MilestoneReopened):
        return f"{who} reopened '%s': {_reason(event.reason)}"
    if isinstance(event, ev.MilestoneCancelled):
        return f"{who} cancelled '%s': {_reason(event.reason)}"
    return f"{who} recorded {event.type_name} on '%s'"


_SPACE = re.compile(r"\s+")
REASON_SHOWN = 120  # characters of a reason a summary keeps; the data has it whole


def _lit(text: str) -> str:
    """Literal text inside a format() template: one line, and '%' escaped."""
    return _SPACE.sub(" ", text).strip().replace("%", "%%")


def _reason(reason: str) -> str:
    one_line = _SPACE.sub(" ", reason).strip()
    if len(one_line) > REASON_SHOWN:
        one_line = one_line[: REASON_SHOWN - 1] + "…"
    return one_line.replace("%", "%%")


# --- queries -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilter:
    """The filters of GET /v1/audit; `since` is inclusive, `until` exclusive."""

    project_id: UUID | None = None
    entity_id: str | None = None
    actor: str | None = None
    type: str | None = None
    since: datetime | None = None
    until: datetime | None = None


_COLUMNS = sql.SQL(
    "a.position, a.project_id, a.version, a.entity_kind, a.entity_id, a.event_type, a.actor,"
    " a.occurred_at, a.summary, a.data"
)


def _query(
    where: AuditFilter, *, reader: str, read_all: bool, before: int | None, limit: int | None
) -> tuple[sql.Composed, dict[str, Any]]:
    conditions: list[sql.Composable] = []
    params: dict[str, Any] = {"reader": reader, "limit": limit}

    def add(condition: LiteralString, name: str, value: object) -> None:
        if value is not None:
            conditions.append(sql.SQL(condition))
            params[name] = value

    add("a.position < %(before)s", "before", before)
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
    page = sql.SQL(" LIMIT %(limit)s") if limit is not None else sql.SQL("")
    if read_all:
        # Newest first straight off an index that ends in position: stops after `limit` rows.
        filtered = sql.SQL(" WHERE ") + sql.SQL(" AND ").join(conditions) if conditions else None
        return sql.Composed(
            [
                sql.SQL("SELECT {} FROM audit_trail a").format(_COLUMNS),
                filtered or sql.SQL(""),
                sql.SQL(" ORDER BY "),
                sql.SQL(f"{lead} DESC, a.position DESC" if lead else "a.position DESC"),
                page,
            ]
        ), params
    if limit is None:
        # An export streams the whole match in order, so no sort has to finish first.
        conditions.append(
            sql.SQL(
                "a.project_id IN"
                " (SELECT project_id FROM project_members WHERE principal = %(reader)s)"
            )
        )
        return sql.Composed(
            [
                sql.SQL("SELECT {} FROM audit_trail a WHERE ").format(_COLUMNS),
                sql.SQL(" AND ").join(conditions),
                sql.SQL(" ORDER BY a.position DESC"),
            ]
        ), params
    # A member's page: at most `limit` rows from each project it reads, then the newest of
    # those. A filter on the whole table would scan back past every other project's rows.
    conditions.insert(0, sql.SQL("a.project_id = m.project_id"))
    return sql.Composed(
        [
            sql.SQL("SELECT {} FROM project_members m CROSS JOIN LATERAL (").format(_COLUMNS),
            sql.SQL("SELECT {} FROM audit_trail a WHERE ").format(_COLUMNS),
            sql.SQL(" AND ").join(conditions),
            sql.SQL(" ORDER BY a.position DESC LIMIT %(limit)s) a"),
            sql.SQL(" WHERE m.principal = %(reader)s ORDER BY a.position DESC LIMIT %(limit)s"),
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


def iter_audit(
    conn: psycopg.Connection[Any],
    where: AuditFilter,
    *,
    reader: str,
    read_all: bool,
    before: int | None = None,
) -> Iterator[dict[str, Any]]:
    """Every matching row, newest first, through a server-side cursor (for exports)."""
    query, params = _query(where, reader=reader, read_all=read_all, before=before, limit=None)
    with (
        conn.transaction(),
        conn.cursor(name="audit_export", row_factory=dict_row) as cur,
    ):
        cur.itersize = 500
        cur.execute(query, params)
        for row in cur:
            yield _row(row)


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
