"""The schedule rows one page of events changes: which rows each event touches, read once
before the page is replayed, and written once after."""

from __future__ import annotations

from datetime import date
from functools import singledispatchmethod
from typing import Any
from uuid import UUID

import psycopg

from domain import events as ev
from projections import writes
from projections.schedule.tables import (
    CRITERIA,
    DELIVERABLES,
    DEPENDENCIES,
    LINKS,
    MILESTONES,
    PHASES,
    PROJECTS,
)
from projections.tables import Row
from projections.writes import Rows

Cursor = psycopg.Cursor[Any]


def as_uuid(value: object) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def as_date(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


class PageRows:
    """The rows of the schedule a page changes (`SchedulePage` replays the events on them)."""

    def __init__(self) -> None:
        self.projects: dict[UUID, Row] = {}  # created in this page
        # The phases this page adds; `ordinal` is the n-th the page adds to its project.
        self.phases: list[Row] = []
        self.phases_added: dict[UUID, int] = {}
        # R24: each project's last new order of its phases in this page (every phase then).
        self.phase_orders: dict[UUID, list[UUID]] = {}
        self.deliverables = Rows(DELIVERABLES)
        self.criteria = Rows(CRITERIA)
        self.milestones = Rows(MILESTONES)
        self.links = Rows(LINKS)
        self.dependencies = Rows(DEPENDENCIES)
        self.linked: set[tuple[UUID, UUID]] = set()  # milestones whose links change

    # --- which rows an event touches ----------------------------------------------------

    @singledispatchmethod
    def touch(self, event: ev.ProjectEvent) -> None:
        """Projects and phases are only ever added: nothing to read."""

    @touch.register
    def _touch_deliverable_defined(self, event: ev.DeliverableDefined) -> None:
        self.deliverables.note_new((event.originator_id, event.deliverable_id))

    @touch.register
    def _touch_criterion_added(self, event: ev.CriterionAdded) -> None:
        self.criteria.note_new((event.originator_id, event.criterion_id))
        self.deliverables.note((event.originator_id, event.deliverable_id))

    @touch.register
    def _touch_evidence_recorded(self, event: ev.EvidenceRecorded) -> None:
        self.criteria.note((event.originator_id, event.criterion_id))
        self.deliverables.note((event.originator_id, event.deliverable_id))

    @touch.register
    def _touch_deliverable_changed(self, event: ev.DeliverableEvent) -> None:
        self.deliverables.note((event.originator_id, event.deliverable_id))

    @touch.register
    def _touch_milestone_defined(self, event: ev.MilestoneDefined) -> None:
        self.milestones.note_new((event.originator_id, event.milestone_id))

    @touch.register
    def _touch_links_changed(self, event: ev.DeliverableLinked | ev.DeliverableUnlinked) -> None:
        self.linked.add((event.originator_id, event.milestone_id))

    @touch.register
    def _touch_dependency(
        self,
        event: ev.MilestoneDependencyAdded
        | ev.MilestoneDependencyLagChanged
        | ev.MilestoneDependencyRemoved,
    ) -> None:
        self.dependencies.note((event.originator_id, event.milestone_id, event.predecessor_id))

    @touch.register
    def _touch_milestone_changed(self, event: ev.MilestoneEvent) -> None:
        self.milestones.note((event.originator_id, event.milestone_id))

    @touch.register
    def _touch_rebaselined(self, event: ev.ProjectRebaselined) -> None:
        for milestone_id in event.baselines:
            self.milestones.note((event.originator_id, as_uuid(milestone_id)))

    def read(self, cur: Cursor) -> None:
        """Read the rows the page changes but does not create."""
        self.criteria.read(cur)
        # Evidence counts on the deliverable its criterion belongs to.
        for criterion in self.criteria.now.values():
            if criterion is not None:
                self.deliverables.note((criterion.project_id, criterion.deliverable_id))
        self.deliverables.read(cur)
        self.milestones.read(cur)
        self.dependencies.read(cur)
        # A link goes after the milestone's last one: every link of those milestones.
        self.links.load(cur, self.linked, prefix=2)

    def write(self, cur: Cursor, last: dict[UUID, tuple[ev.ProjectEvent, int]]) -> None:
        # Every event moves its project's version (the schedule's ETag).
        for project_id, project in self.projects.items():
            event, position = last[project_id]
            project.version, project.last_position = event.originator_version, position
        if self.projects:
            writes.copy(cur, PROJECTS, [PROJECTS.astuple(p) for p in self.projects.values()])
        existing = [p for p in last if p not in self.projects]
        writes.update(
            cur,
            PROJECTS,
            [(p, last[p][0].originator_version, last[p][1]) for p in existing],
            columns=("version", "last_position"),
        )
        if self.phases:
            # Phases are never removed: a new phase comes after every one before it (R24).
            # The sub-select sees the table as it was before this statement.
            cur.execute(
                "INSERT INTO schedule_phases (project_id, phase_id, name, ordinal)"
                " SELECT t.p, t.ph, t.name, coalesce((SELECT max(s.ordinal)"
                "  FROM schedule_phases s WHERE s.project_id = t.p), 0) + t.n"
                " FROM unnest(%s::uuid[], %s::uuid[], %s::text[], %s::int[])"
                " WITH ORDINALITY AS t(p, ph, name, n, i) ORDER BY t.i",
                [list(column) for column in zip(*map(PHASES.astuple, self.phases), strict=True)],
            )
        for project_id, order in self.phase_orders.items():
            # R24: a reorder names every phase the project had then; phases added after it
            # in this page already sit after them (their ordinals are higher).
            cur.execute(
                "UPDATE schedule_phases s SET ordinal = t.n FROM unnest(%s::uuid[])"
                " WITH ORDINALITY AS t(ph, n) WHERE s.project_id = %s AND s.phase_id = t.ph",
                [order, project_id],
            )
        tables = (self.deliverables, self.criteria, self.milestones, self.links, self.dependencies)
        for rows in tables:
            rows.write(cur)
