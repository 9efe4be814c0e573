"""The projects view: the project list with its members, counts by state and next due milestone."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, LiteralString

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from domain import events as ev
from domain.entities import DeliverableState, MilestoneStatus
from domain.roles import ProjectRole
from projections.base import View, last_event_by_project, snapshot

DDL: tuple[LiteralString, ...] = (
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

Cursor = psycopg.Cursor[Any]

DELIVERABLE_STATE_AFTER: dict[type[ev.DeliverableEvent], DeliverableState] = {
    ev.DeliverableSubmitted: DeliverableState.IN_REVIEW,
    ev.DeliverableApproved: DeliverableState.APPROVED,
    ev.DeliverableRejected: DeliverableState.DRAFT,
    ev.DeliverableReopened: DeliverableState.DRAFT,
    ev.DeliverableCancelled: DeliverableState.CANCELLED,
}

MILESTONE_STATUS_AFTER: dict[type[ev.MilestoneEvent], MilestoneStatus] = {
    ev.MilestoneAchieved: MilestoneStatus.ACHIEVED,
    ev.MilestoneReopened: MilestoneStatus.NOT_ACHIEVED,
    ev.MilestoneCancelled: MilestoneStatus.CANCELLED,
}


class ProjectsView(View):
    name = "projects"
    tables = ("projects", "project_members", "project_items")
    ddl = DDL

    def process_page(self, cur: Cursor, events: Sequence[tuple[ev.ProjectEvent, int]]) -> None:
        super().process_page(cur, events)
        # Every event moves its project's version and update time; one write per page.
        last = last_event_by_project(events)
        cur.execute(
            "UPDATE projects p SET version = t.version, updated_at = t.at,"
            " last_position = t.position"
            " FROM unnest(%s::uuid[], %s::int[], %s::timestamptz[], %s::bigint[])"
            " AS t(project_id, version, at, position)"
            " WHERE p.project_id = t.project_id",
            (
                list(last),
                [event.originator_version for event, _ in last.values()],
                [event.timestamp for event, _ in last.values()],
                [position for _, position in last.values()],
            ),
        )

    @functools.singledispatchmethod
    def apply(self, event: ev.ProjectEvent, cur: Cursor, position: int) -> None:
        """Other events change only the project's version (see `process_event`)."""

    @apply.register
    def _project_created(self, event: ev.ProjectCreated, cur: Cursor, position: int) -> None:
        # The creator is the first manager; no MemberAdded event says so.
        cur.execute(
            "WITH creator AS (INSERT INTO project_members (project_id, principal, role)"
            "  VALUES (%(p)s, %(actor)s, %(role)s))"
            " INSERT INTO projects (project_id, name, description, timezone, risk_window_days,"
            " version, created_at, updated_at, last_position, deliverable_counts,"
            " milestone_counts) VALUES (%(p)s, %(name)s, %(description)s, %(timezone)s,"
            " %(risk)s, %(version)s, %(at)s, %(at)s, %(position)s, %(deliverables)s,"
            " %(milestones)s)",
            {
                "p": event.originator_id,
                "actor": event.actor,
                "role": ProjectRole.MANAGER.value,
                "name": event.name,
                "description": event.description,
                "timezone": event.timezone,
                "risk": event.risk_window_days,
                "version": event.originator_version,
                "at": event.timestamp,
                "position": position,
                "deliverables": Jsonb(dict.fromkeys(DeliverableState, 0)),
                "milestones": Jsonb(dict.fromkeys(MilestoneStatus, 0)),
            },
        )

    @apply.register
    def _member_added(self, event: ev.MemberAdded, cur: Cursor, position: int) -> None:
        self._set_member(cur, event, event.principal, event.role)

    @apply.register
    def _member_role_changed(self, event: ev.MemberRoleChanged, cur: Cursor, position: int) -> None:
        self._set_member(cur, event, event.principal, event.role)

    @apply.register
    def _member_removed(self, event: ev.MemberRemoved, cur: Cursor, position: int) -> None:
        cur.execute(
            "DELETE FROM project_members WHERE project_id = %s AND principal = %s",
            (event.originator_id, event.principal),
        )

    @staticmethod
    def _set_member(cur: Cursor, event: ev.ProjectEvent, principal: str, role: str) -> None:
        cur.execute(
            "INSERT INTO project_members (project_id, principal, role) VALUES (%s, %s, %s)"
            " ON CONFLICT (project_id, principal) DO UPDATE SET role = EXCLUDED.role",
            (event.originator_id, principal, role),
        )

    @apply.register
    def _deliverable_defined(
        self, event: ev.DeliverableDefined, cur: Cursor, position: int
    ) -> None:
        self._add_item(cur, event, event.deliverable_id, "deliverable_counts", "draft")

    @apply.register
    def _milestone_defined(self, event: ev.MilestoneDefined, cur: Cursor, position: int) -> None:
        self._add_item(cur, event, event.milestone_id, "milestone_counts", "not_achieved")

    @apply.register(ev.DeliverableSubmitted)
    @apply.register(ev.DeliverableApproved)
    @apply.register(ev.DeliverableRejected)
    @apply.register(ev.DeliverableReopened)
    @apply.register(ev.DeliverableCancelled)
    def _deliverable_state_changed(
        self, event: ev.DeliverableEvent, cur: Cursor, position: int
    ) -> None:
        state = DELIVERABLE_STATE_AFTER[type(event)]
        self._move_item(cur, event, event.deliverable_id, "deliverable_counts", state.value)

    @apply.register(ev.MilestoneAchieved)
    @apply.register(ev.MilestoneReopened)
    @apply.register(ev.MilestoneCancelled)
    def _milestone_status_changed(
        self, event: ev.MilestoneEvent, cur: Cursor, position: int
    ) -> None:
        status = MILESTONE_STATUS_AFTER[type(event)]
        self._move_item(cur, event, event.milestone_id, "milestone_counts", status.value)

    @staticmethod
    def _add_item(
        cur: Cursor, event: ev.ProjectEvent, item_id: object, counts: LiteralString, state: str
    ) -> None:
        cur.execute(
            "WITH added AS (INSERT INTO project_items (project_id, item_id, state)"
            "  VALUES (%(p)s, %(i)s, %(s)s))"
            " UPDATE projects SET " + counts + " = " + counts + " || jsonb_build_object("
            "  %(s)s::text, coalesce((" + counts + " ->> %(s)s)::int, 0) + 1)"
            " WHERE project_id = %(p)s",
            {"p": event.originator_id, "i": item_id, "s": state},
        )

    @staticmethod
    def _move_item(
        cur: Cursor, event: ev.ProjectEvent, item_id: object, counts: LiteralString, state: str
    ) -> None:
        # Every CTE reads the same snapshot: `previous` sees the state before `moved` changes it.
        cur.execute(
            "WITH previous AS (SELECT state FROM project_items"
            "  WHERE project_id = %(p)s AND item_id = %(i)s AND state <> %(s)s),"
            " moved AS (UPDATE project_items SET state = %(s)s"
            "  WHERE project_id = %(p)s AND item_id = %(i)s)"
            " UPDATE projects SET " + counts + " = " + counts + " || jsonb_build_object("
            "  previous.state, (" + counts + " ->> previous.state)::int - 1,"
            "  %(s)s::text, coalesce((" + counts + " ->> %(s)s)::int, 0) + 1)"
            " FROM previous WHERE project_id = %(p)s",
            {"p": event.originator_id, "i": item_id, "s": state},
        )


# --- queries -------------------------------------------------------------------------------

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
    WHERE %(read_all)s OR mem.role IS NOT NULL
    ORDER BY p.name, p.project_id
"""


def list_projects(
    conn: psycopg.Connection[Any], principal: str, read_all: bool
) -> list[dict[str, Any]]:
    """The projects `principal` is a member of (every project when `read_all`), by name.

    The next due milestone (the earliest not achieved, not cancelled one) is read from the
    schedule view's `schedule_milestones`, so it is as fresh as that view. `role` is the
    principal's role on the project, None where it reads only by `read_all`.
    """
    with snapshot(conn), conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(_LIST_PROJECTS, {"principal": principal, "read_all": read_all})
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
