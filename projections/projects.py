"""The projects view: the project list with its members, counts by state and next due milestone."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, LiteralString
from uuid import UUID

import psycopg
from psycopg.rows import dict_row

from domain import events as ev
from domain import rules
from domain.entities import DeliverableState, MilestoneStatus
from domain.roles import ProjectRole
from projections.base import View
from projections.batch import DuplicateRowError, Rows, Table, apply_page, dispatcher
from projections.transactions import snapshot

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

PROJECTS = Table(
    "projects",
    (("project_id", "uuid"),),
    (
        ("name", "text"),
        ("description", "text"),
        ("timezone", "text"),
        ("risk_window_days", "int4"),
        ("version", "int4"),
        ("created_at", "timestamptz"),
        ("updated_at", "timestamptz"),
        ("last_position", "int8"),
        ("deliverable_counts", "jsonb"),
        ("milestone_counts", "jsonb"),
    ),
)
MEMBERS = Table(
    "project_members", (("project_id", "uuid"), ("principal", "text")), (("role", "text"),)
)
ITEMS = Table("project_items", (("project_id", "uuid"), ("item_id", "uuid")), (("state", "text"),))

# Positions in the value lists of PROJECTS.
P_VERSION, P_UPDATED_AT, P_LAST_POSITION, P_DELIVERABLES, P_MILESTONES = 4, 6, 7, 8, 9
DELIVERABLE_COUNTS, MILESTONE_COUNTS = P_DELIVERABLES, P_MILESTONES


class ProjectsView(View):
    """Applies a page set-based (see `projections.batch`): rows loaded once, changed in Python
    in position order with the rules of the per-event statements they replace, one write per
    table."""

    name = "projects"
    tables = ("projects", "project_members", "project_items")
    ddl = DDL

    def process_page(self, cur: Cursor, events: Sequence[tuple[ev.ProjectEvent, int]]) -> None:
        apply_page(cur, events, _ProjectsPage(), _handler)


def _zero_counts(states: type[DeliverableState] | type[MilestoneStatus]) -> dict[str, int]:
    return {state.value: 0 for state in states}


class _ProjectsPage:
    def __init__(self) -> None:
        self.projects = Rows(PROJECTS)
        self.created: set[UUID] = set()
        # (project, principal) -> role, None when removed; and which came from the creation.
        self.members: dict[tuple[UUID, str], str | None] = {}
        self.creators: set[tuple[UUID, str]] = set()
        self.upserted: set[tuple[UUID, str]] = set()
        self.items = Rows(ITEMS)

    def load(self, cur: Cursor, events: Sequence[tuple[ev.ProjectEvent, int]]) -> None:
        created_items: set[tuple[UUID, UUID]] = set()
        moved_items: set[tuple[UUID, UUID]] = set()
        counted: set[UUID] = set()
        for event, _ in events:
            p = event.originator_id
            if isinstance(event, ev.ProjectCreated):
                self.created.add(p)
            elif isinstance(event, ev.DeliverableDefined):
                created_items.add((p, event.deliverable_id))
                counted.add(p)
            elif isinstance(event, ev.MilestoneDefined):
                created_items.add((p, event.milestone_id))
                counted.add(p)
            elif isinstance(event, ev.DeliverableMoved):
                moved_items.add((p, event.deliverable_id))
                counted.add(p)
            elif isinstance(event, ev.MilestoneMoved):
                moved_items.add((p, event.milestone_id))
                counted.add(p)
        self.items.load(cur, moved_items - created_items)
        self.projects.load(cur, [(p,) for p in counted - self.created])

    def write(self, cur: Cursor, last: dict[UUID, tuple[ev.ProjectEvent, int]]) -> None:
        # Every event moves its project's version and update time.
        for project_id, (event, position) in last.items():
            row = self.projects.get((project_id,))
            if row is not None:
                row[P_VERSION] = event.originator_version
                row[P_UPDATED_AT] = event.timestamp
                row[P_LAST_POSITION] = position
        self.projects.write(cur)
        # The projects the page neither created nor counted on: only their version moves.
        others = [p for p in last if (p,) not in self.projects.now]
        if others:
            cur.execute(
                "UPDATE projects p SET version = t.version, updated_at = t.at,"
                " last_position = t.position"
                " FROM unnest(%s::uuid[], %s::int[], %s::timestamptz[], %s::bigint[])"
                " AS t(project_id, version, at, position)"
                " WHERE p.project_id = t.project_id",
                (
                    others,
                    [last[p][0].originator_version for p in others],
                    [last[p][0].timestamp for p in others],
                    [last[p][1] for p in others],
                ),
            )
        self._write_members(cur)
        self.items.write(cur)

    def _write_members(self, cur: Cursor) -> None:
        # The creator's row is a plain insert (it fails if the row exists, as it did); rows a
        # member event touched end as the last event left them.
        inserted = [k for k in self.creators if k not in self.upserted]
        removed = [k for k, role in self.members.items() if role is None]
        upserted = [
            (*k, role)
            for k, role in self.members.items()
            if role is not None and k in self.upserted
        ]
        if inserted:
            MEMBERS.copy(cur, [(*k, self.members[k]) for k in inserted if self.members[k]])
        MEMBERS.delete(cur, removed)
        if upserted:
            cur.execute(
                "INSERT INTO project_members (project_id, principal, role)"
                " SELECT * FROM unnest(%s::uuid[], %s::text[], %s::text[])"
                " ON CONFLICT (project_id, principal) DO UPDATE SET role = EXCLUDED.role",
                [list(column) for column in zip(*upserted, strict=True)],
            )

    # --- one method per event class; `_handler` maps them ----------------------------------

    def project_created(self, event: ev.ProjectCreated, position: int) -> None:
        p = event.originator_id
        self.projects.insert(
            (p,),
            [
                event.name,
                event.description,
                event.timezone,
                event.risk_window_days,
                event.originator_version,
                event.timestamp,
                event.timestamp,
                position,
                _zero_counts(DeliverableState),
                _zero_counts(MilestoneStatus),
            ],
        )
        # The creator is the first manager; no MemberAdded event says so.
        key = (p, event.actor)
        if key in self.creators or self.members.get(key) is not None:
            raise DuplicateRowError(f"project_members: {key} exists already")
        self.creators.add(key)
        self.members[key] = ProjectRole.MANAGER.value

    def set_member(self, event: ev.MemberAdded | ev.MemberRoleChanged, position: int) -> None:
        key = (event.originator_id, event.principal)
        self.members[key] = event.role
        self.upserted.add(key)

    def member_removed(self, event: ev.MemberRemoved, position: int) -> None:
        key = (event.originator_id, event.principal)
        self.members[key] = None
        self.upserted.add(key)

    def _add_item(self, event: ev.ProjectEvent, item_id: UUID, counts: int, state: str) -> None:
        p = event.originator_id
        self.items.insert((p, item_id), [state])
        project = self.projects.get((p,))
        if project is not None:
            project[counts] = _counted(project[counts], None, state)

    def _move_item(self, event: ev.ProjectEvent, item_id: UUID, counts: int, state: str) -> None:
        p = event.originator_id
        item = self.items.get((p, item_id))
        if item is None:
            return
        previous = item[0]
        item[0] = state
        project = self.projects.get((p,))
        if previous != state and project is not None:
            project[counts] = _counted(project[counts], previous, state)

    def deliverable_defined(self, event: ev.DeliverableDefined, position: int) -> None:
        self._add_item(event, event.deliverable_id, DELIVERABLE_COUNTS, rules.DELIVERABLE_START)

    def milestone_defined(self, event: ev.MilestoneDefined, position: int) -> None:
        self._add_item(event, event.milestone_id, MILESTONE_COUNTS, rules.MILESTONE_START)

    def deliverable_state_changed(self, event: ev.DeliverableMoved, position: int) -> None:
        state = event.transition.target
        self._move_item(event, event.deliverable_id, DELIVERABLE_COUNTS, state.value)

    def milestone_status_changed(self, event: ev.MilestoneMoved, position: int) -> None:
        status = event.transition.target
        self._move_item(event, event.milestone_id, MILESTONE_COUNTS, status.value)


def _counted(counts: dict[str, Any], previous: str | None, state: str) -> dict[str, Any]:
    """`counts` with one less `previous` (when given) and one more `state`, as the SQL did:
    `counts || jsonb_build_object(previous, (counts->>previous)::int - 1, state,
    coalesce((counts->>state)::int, 0) + 1)`."""
    moved = dict(counts)
    if previous is not None:
        before = counts.get(previous)
        moved[previous] = None if before is None else int(before) - 1
    now = counts.get(state)
    moved[state] = (0 if now is None else int(now)) + 1
    return moved


_HANDLERS: dict[type, Callable[[_ProjectsPage, Any, int], None]] = {
    ev.ProjectCreated: _ProjectsPage.project_created,
    ev.MemberAdded: _ProjectsPage.set_member,
    ev.MemberRoleChanged: _ProjectsPage.set_member,
    ev.MemberRemoved: _ProjectsPage.member_removed,
    ev.DeliverableDefined: _ProjectsPage.deliverable_defined,
    ev.MilestoneDefined: _ProjectsPage.milestone_defined,
    ev.DeliverableMoved: _ProjectsPage.deliverable_state_changed,
    ev.MilestoneMoved: _ProjectsPage.milestone_status_changed,
}
_handler = dispatcher(_HANDLERS)


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
