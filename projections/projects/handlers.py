"""The projects view's page: which rows each event touches, how it changes them, and their
writes (one statement per table)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import singledispatchmethod
from typing import Any
from uuid import UUID

import psycopg

from domain import events as ev
from domain import rules
from domain.roles import ProjectRole
from domain.states import DeliverableState, MilestoneStatus
from projections import writes
from projections.base import View, fold_page
from projections.projects.tables import ITEMS, MEMBERS, PROJECTS, TABLES
from projections.tables import Row, ddl_of, names_of
from projections.writes import DuplicateRowError, Rows

Cursor = psycopg.Cursor[Any]


class ProjectsView(View):
    """Applies a page set-based (see `projections.writes`): rows loaded once, changed in Python
    in position order with the rules of the per-event statements they replace, one write per
    table."""

    name = "projects"
    tables = names_of(TABLES)
    ddl = ddl_of(TABLES)

    def process_page(self, cur: Cursor, events: Sequence[tuple[ev.ProjectEvent, int]]) -> None:
        fold_page(cur, events, ProjectsPage())


def _zero_counts(states: type[DeliverableState] | type[MilestoneStatus]) -> dict[str, int]:
    return {state.value: 0 for state in states}


class ProjectsPage:
    """The rows of the projects view a page changes, and one handler per event class."""

    def __init__(self) -> None:
        self.projects = Rows(PROJECTS)
        # (project, principal) -> the member's row, None when removed; and which rows came
        # from a project's creation, which from a member event.
        self.members: dict[tuple[UUID, str], Row | None] = {}
        self.creators: set[tuple[UUID, str]] = set()
        self.upserted: set[tuple[UUID, str]] = set()
        self.items = Rows(ITEMS)

    # --- which rows an event touches ----------------------------------------------------

    @singledispatchmethod
    def touch(self, event: ev.ProjectEvent) -> None:
        """Members are written blind (an upsert, a delete): nothing to read."""

    @touch.register
    def _touch_project_created(self, event: ev.ProjectCreated) -> None:
        self.projects.note_new((event.originator_id,))

    @touch.register
    def _touch_deliverable_defined(self, event: ev.DeliverableDefined) -> None:
        self.items.note_new((event.originator_id, event.deliverable_id))
        self.projects.note((event.originator_id,))

    @touch.register
    def _touch_milestone_defined(self, event: ev.MilestoneDefined) -> None:
        self.items.note_new((event.originator_id, event.milestone_id))
        self.projects.note((event.originator_id,))

    @touch.register
    def _touch_deliverable_moved(self, event: ev.DeliverableMoved) -> None:
        self.items.note((event.originator_id, event.deliverable_id))
        self.projects.note((event.originator_id,))

    @touch.register
    def _touch_milestone_moved(self, event: ev.MilestoneMoved) -> None:
        self.items.note((event.originator_id, event.milestone_id))
        self.projects.note((event.originator_id,))

    def read(self, cur: Cursor) -> None:
        """Read the items that move and the projects whose counts move, unless new."""
        self.items.read(cur)
        self.projects.read(cur)

    def write(self, cur: Cursor, last: dict[UUID, tuple[ev.ProjectEvent, int]]) -> None:
        # Every event moves its project's version and update time.
        for project_id, (event, position) in last.items():
            project = self.projects.get((project_id,))
            if project is not None:
                project.version = event.originator_version
                project.updated_at = event.timestamp
                project.last_position = position
        self.projects.write(cur)
        # The projects the page neither created nor counted on: only their version moves.
        writes.update(
            cur,
            PROJECTS,
            [
                (p, event.originator_version, event.timestamp, position)
                for p, (event, position) in last.items()
                if (p,) not in self.projects.now
            ],
            columns=("version", "updated_at", "last_position"),
        )
        self._write_members(cur)
        self.items.write(cur)

    def _write_members(self, cur: Cursor) -> None:
        # The creator's row is a plain insert (it fails if the row exists, as it did); rows a
        # member event touched end as the last event left them.
        inserted = [
            row
            for key, row in self.members.items()
            if key in self.creators and key not in self.upserted and row is not None
        ]
        removed = [key for key, row in self.members.items() if row is None]
        upserted = [
            row for key, row in self.members.items() if row is not None and key in self.upserted
        ]
        if inserted:
            writes.copy(cur, MEMBERS, [MEMBERS.astuple(row) for row in inserted])
        writes.delete(cur, MEMBERS, removed)
        writes.upsert(cur, MEMBERS, [MEMBERS.astuple(row) for row in upserted])

    # --- how an event changes them ------------------------------------------------------

    @singledispatchmethod
    def apply(self, event: ev.ProjectEvent, position: int) -> None:
        """An event that moves no count and no member changes only the version (`write`)."""

    @apply.register
    def _project_created(self, event: ev.ProjectCreated, position: int) -> None:
        p = event.originator_id
        self.projects.insert(
            PROJECTS.row(
                project_id=p,
                name=event.name,
                description=event.description,
                timezone=event.timezone,
                risk_window_days=event.risk_window_days,
                version=event.originator_version,
                created_at=event.timestamp,
                updated_at=event.timestamp,
                last_position=position,
                deliverable_counts=_zero_counts(DeliverableState),
                milestone_counts=_zero_counts(MilestoneStatus),
            )
        )
        # The creator is the first manager; no MemberAdded event says so.
        key = (p, event.actor)
        if key in self.creators or self.members.get(key) is not None:
            raise DuplicateRowError(f"project_members: {key} exists already")
        self.creators.add(key)
        self.members[key] = MEMBERS.row(
            project_id=p, principal=event.actor, role=ProjectRole.MANAGER.value
        )

    @apply.register
    def _member_set(self, event: ev.MemberAdded | ev.MemberRoleChanged, position: int) -> None:
        key = (event.originator_id, event.principal)
        self.members[key] = MEMBERS.row(
            project_id=event.originator_id, principal=event.principal, role=event.role
        )
        self.upserted.add(key)

    @apply.register
    def _member_removed(self, event: ev.MemberRemoved, position: int) -> None:
        key = (event.originator_id, event.principal)
        self.members[key] = None
        self.upserted.add(key)

    @apply.register
    def _deliverable_defined(self, event: ev.DeliverableDefined, position: int) -> None:
        self._add_item(event, event.deliverable_id, "deliverable_counts", rules.DELIVERABLE_START)

    @apply.register
    def _milestone_defined(self, event: ev.MilestoneDefined, position: int) -> None:
        self._add_item(event, event.milestone_id, "milestone_counts", rules.MILESTONE_START)

    @apply.register
    def _deliverable_moved(self, event: ev.DeliverableMoved, position: int) -> None:
        state = event.transition.target
        self._move_item(event, event.deliverable_id, "deliverable_counts", state.value)

    @apply.register
    def _milestone_moved(self, event: ev.MilestoneMoved, position: int) -> None:
        status = event.transition.target
        self._move_item(event, event.milestone_id, "milestone_counts", status.value)

    def _add_item(self, event: ev.ProjectEvent, item_id: UUID, counts: str, state: str) -> None:
        p = event.originator_id
        self.items.insert(ITEMS.row(project_id=p, item_id=item_id, state=state))
        project = self.projects.get((p,))
        if project is not None:
            setattr(project, counts, _counted(getattr(project, counts), None, state))

    def _move_item(self, event: ev.ProjectEvent, item_id: UUID, counts: str, state: str) -> None:
        p = event.originator_id
        item = self.items.get((p, item_id))
        if item is None:
            return
        previous = item.state
        item.state = state
        project = self.projects.get((p,))
        if previous != state and project is not None:
            setattr(project, counts, _counted(getattr(project, counts), previous, state))


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
