"""The schedule view: phases, milestones, deliverables and their links, with health read live."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any, LiteralString, NamedTuple
from uuid import UUID

import psycopg
from psycopg.rows import dict_row

from domain import events as ev
from domain import rules
from domain.entities import DeliverableState, MilestoneStatus
from domain.rules import milestone_health, today_in
from projections.base import View
from projections.batch import DuplicateRowError, Rows, Table, apply_page, dispatcher
from projections.transactions import snapshot

DDL: tuple[LiteralString, ...] = (
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

Cursor = psycopg.Cursor[Any]


PROJECTS = Table(
    "schedule_projects",
    (("project_id", "uuid"),),
    (
        ("name", "text"),
        ("timezone", "text"),
        ("risk_window_days", "int4"),
        ("version", "int4"),
        ("last_position", "int8"),
    ),
)
DELIVERABLES = Table(
    "schedule_deliverables",
    (("project_id", "uuid"), ("deliverable_id", "uuid")),
    (
        ("phase_id", "uuid"),
        ("title", "text"),
        ("kind", "text"),
        ("state", "text"),
        ("owner", "text"),
        ("criteria_total", "int4"),
        ("criteria_met", "int4"),
    ),
)
CRITERIA = Table(
    "schedule_criteria",
    (("project_id", "uuid"), ("criterion_id", "uuid")),
    (("deliverable_id", "uuid"), ("met", "bool")),
)
MILESTONES = Table(
    "schedule_milestones",
    (("project_id", "uuid"), ("milestone_id", "uuid")),
    (
        ("phase_id", "uuid"),
        ("name", "text"),
        ("due", "date"),
        ("baseline_due", "date"),
        ("original_baseline_due", "date"),
        ("status", "text"),
        ("achieved_at", "timestamptz"),
        ("achieved_by", "text"),
        ("defined_at", "timestamptz"),
    ),
)
LINKS = Table(
    "schedule_links",
    (("project_id", "uuid"), ("milestone_id", "uuid"), ("deliverable_id", "uuid")),
    (("ordinal", "int4"),),
)

# Positions in the value lists of the tables above.
D_PHASE, D_TITLE, D_KIND, D_STATE, D_OWNER, D_TOTAL, D_MET = range(7)
C_DELIVERABLE, C_MET = range(2)
M_DUE, M_BASELINE, M_STATUS, M_ACHIEVED_AT, M_ACHIEVED_BY = 2, 3, 5, 6, 7


class ScheduleView(View):
    """Applies a page set-based: the rows its events change are loaded once, changed in
    Python in position order with the rules of the per-event statements they replace, and
    written with one statement per table (see `projections.batch`)."""

    name = "schedule"
    tables = (
        "schedule_projects",
        "schedule_phases",
        "schedule_milestones",
        "schedule_deliverables",
        "schedule_criteria",
        "schedule_links",
    )
    ddl = DDL

    def process_page(self, cur: Cursor, events: Sequence[tuple[ev.ProjectEvent, int]]) -> None:
        apply_page(cur, events, _SchedulePage(), _handler)


def _uuid(value: object) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def _date(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


class _SchedulePage:
    def __init__(self) -> None:
        self.projects: dict[UUID, list[Any]] = {}  # created in this page
        self.phases: list[tuple[UUID, UUID, str, int]] = []  # (project, phase, name, nth)
        self.phases_added: dict[UUID, int] = {}
        self.deliverables = Rows(DELIVERABLES)
        self.criteria = Rows(CRITERIA)
        self.milestones = Rows(MILESTONES)
        self.links = Rows(LINKS)

    def load(self, cur: Cursor, events: Sequence[tuple[ev.ProjectEvent, int]]) -> None:
        """Read the rows the page changes but does not create."""
        created: dict[str, set[tuple[UUID, UUID]]] = {"d": set(), "c": set(), "m": set()}
        changed: dict[str, set[tuple[UUID, UUID]]] = {"d": set(), "c": set(), "m": set()}
        linked: set[tuple[UUID, UUID]] = set()
        for event, _ in events:
            p = event.originator_id
            if isinstance(event, ev.DeliverableDefined):
                created["d"].add((p, event.deliverable_id))
            elif isinstance(event, ev.CriterionAdded):
                created["c"].add((p, event.criterion_id))
                changed["d"].add((p, event.deliverable_id))
            elif isinstance(event, ev.EvidenceRecorded):
                changed["c"].add((p, event.criterion_id))
                changed["d"].add((p, event.deliverable_id))
            elif isinstance(event, ev.DeliverableEvent):
                changed["d"].add((p, event.deliverable_id))
            elif isinstance(event, ev.MilestoneDefined):
                created["m"].add((p, event.milestone_id))
            elif isinstance(event, ev.DeliverableLinked | ev.DeliverableUnlinked):
                linked.add((p, event.milestone_id))
            elif isinstance(event, ev.MilestoneEvent):
                changed["m"].add((p, event.milestone_id))
            elif isinstance(event, ev.ProjectRebaselined):
                changed["m"].update((p, _uuid(m)) for m in event.baselines)
        self.criteria.load(cur, changed["c"] - created["c"])
        # Evidence counts on the deliverable its criterion belongs to.
        for key, row in self.criteria.now.items():
            if row is not None:
                changed["d"].add((key[0], row[C_DELIVERABLE]))
        self.deliverables.load(cur, changed["d"] - created["d"])
        self.milestones.load(cur, changed["m"] - created["m"])
        # A link goes after the milestone's last one: every link of those milestones.
        self.links.load(cur, linked, prefix=2)

    def write(self, cur: Cursor, last: dict[UUID, tuple[ev.ProjectEvent, int]]) -> None:
        # Every event moves its project's version (the schedule's ETag).
        for project_id, row in self.projects.items():
            event, position = last[project_id]
            row[3], row[4] = event.originator_version, position
        if self.projects:
            PROJECTS.copy(cur, [(p, *row) for p, row in self.projects.items()])
        existing = [p for p in last if p not in self.projects]
        if existing:
            cur.execute(
                "UPDATE schedule_projects p SET version = t.version, last_position = t.position"
                " FROM unnest(%s::uuid[], %s::int[], %s::bigint[])"
                " AS t(project_id, version, position)"
                " WHERE p.project_id = t.project_id",
                (
                    existing,
                    [last[p][0].originator_version for p in existing],
                    [last[p][1] for p in existing],
                ),
            )
        if self.phases:
            # Phases are never removed or reordered: the n-th phase added is the n-th phase.
            # The sub-select sees the table as it was before this statement.
            cur.execute(
                "INSERT INTO schedule_phases (project_id, phase_id, name, ordinal)"
                " SELECT t.p, t.ph, t.name, coalesce((SELECT max(s.ordinal)"
                "  FROM schedule_phases s WHERE s.project_id = t.p), 0) + t.n"
                " FROM unnest(%s::uuid[], %s::uuid[], %s::text[], %s::int[])"
                " WITH ORDINALITY AS t(p, ph, name, n, i) ORDER BY t.i",
                [list(column) for column in zip(*self.phases, strict=True)],
            )
        for rows in (self.deliverables, self.criteria, self.milestones, self.links):
            rows.write(cur)

    # --- one method per event class; `_HANDLERS` maps them ---------------------------------

    def project_created(self, event: ev.ProjectCreated, position: int) -> None:
        if event.originator_id in self.projects:
            raise DuplicateRowError(f"schedule_projects: {event.originator_id} exists already")
        self.projects[event.originator_id] = [
            event.name,
            event.timezone,
            event.risk_window_days,
            event.originator_version,
            position,
        ]

    def phase_added(self, event: ev.PhaseAdded, position: int) -> None:
        p = event.originator_id
        nth = self.phases_added.get(p, 0) + 1
        self.phases_added[p] = nth
        self.phases.append((p, event.phase_id, event.name, nth))

    def deliverable_defined(self, event: ev.DeliverableDefined, position: int) -> None:
        self.deliverables.insert(
            (event.originator_id, event.deliverable_id),
            [
                event.phase_id,
                event.title,
                event.kind,
                rules.DELIVERABLE_START.value,
                event.owner,
                0,
                0,
            ],
        )

    def _set_deliverable(self, event: ev.DeliverableEvent, column: int, value: object) -> None:
        row = self.deliverables.get((event.originator_id, event.deliverable_id))
        if row is not None:
            row[column] = value

    def retitled(self, event: ev.DeliverableRetitled, position: int) -> None:
        self._set_deliverable(event, D_TITLE, event.title)

    def owner_assigned(self, event: ev.DeliverableOwnerAssigned, position: int) -> None:
        self._set_deliverable(event, D_OWNER, event.owner)

    def moved(self, event: ev.DeliverableMovedToPhase, position: int) -> None:
        self._set_deliverable(event, D_PHASE, event.phase_id)

    def kind_changed(self, event: ev.DeliverableKindChanged, position: int) -> None:
        self._set_deliverable(event, D_KIND, event.kind)

    def state_changed(self, event: ev.DeliverableMoved, position: int) -> None:
        self._set_deliverable(event, D_STATE, event.transition.target.value)

    def criterion_added(self, event: ev.CriterionAdded, position: int) -> None:
        p = event.originator_id
        self.criteria.insert((p, event.criterion_id), [event.deliverable_id, False])
        row = self.deliverables.get((p, event.deliverable_id))
        if row is not None:
            row[D_TOTAL] += 1

    def evidence_recorded(self, event: ev.EvidenceRecorded, position: int) -> None:
        # R6: evidence recorded again replaces the earlier one; the criterion was met already.
        p = event.originator_id
        criterion = self.criteria.get((p, event.criterion_id))
        if criterion is None or criterion[C_MET]:
            return
        criterion[C_MET] = True
        row = self.deliverables.get((p, criterion[C_DELIVERABLE]))
        if row is not None:
            row[D_MET] += 1

    def milestone_defined(self, event: ev.MilestoneDefined, position: int) -> None:
        p, m = event.originator_id, event.milestone_id
        for ordinal, deliverable_id in enumerate(event.deliverable_ids, start=1):
            self.links.insert((p, m, _uuid(deliverable_id)), [ordinal])
        self.milestones.insert(
            (p, m),
            [
                event.phase_id,
                event.name,
                event.due,
                event.due,
                event.due,
                rules.MILESTONE_START.value,
                None,
                None,
                event.timestamp,
            ],
        )

    def linked(self, event: ev.DeliverableLinked, position: int) -> None:
        # Every link of the milestone was loaded (`load`), or inserted by this page.
        milestone = (event.originator_id, event.milestone_id)
        last = max(
            (row[0] for key, row in self.links.now.items() if row and key[:2] == milestone),
            default=0,
        )
        self.links.insert((*milestone, event.deliverable_id), [last + 1])

    def unlinked(self, event: ev.DeliverableUnlinked, position: int) -> None:
        self.links.delete((event.originator_id, event.milestone_id, event.deliverable_id))

    def _milestone(self, event: ev.MilestoneEvent) -> list[Any] | None:
        return self.milestones.get((event.originator_id, event.milestone_id))

    def rescheduled(self, event: ev.MilestoneRescheduled, position: int) -> None:
        row = self._milestone(event)
        if row is not None:
            row[M_DUE] = event.due

    def achieved(self, event: ev.MilestoneAchieved, position: int) -> None:
        row = self._milestone(event)
        if row is not None:
            row[M_STATUS] = event.transition.target.value
            row[M_ACHIEVED_AT] = event.timestamp
            row[M_ACHIEVED_BY] = event.actor

    def reopened(self, event: ev.MilestoneReopened, position: int) -> None:
        row = self._milestone(event)
        if row is not None:
            row[M_STATUS] = event.transition.target.value
            row[M_ACHIEVED_AT] = None
            row[M_ACHIEVED_BY] = None

    def cancelled(self, event: ev.MilestoneCancelled, position: int) -> None:
        row = self._milestone(event)
        if row is not None:
            row[M_STATUS] = event.transition.target.value

    def rebaselined(self, event: ev.ProjectRebaselined, position: int) -> None:
        for milestone_id, due in event.baselines.items():
            row = self.milestones.get((event.originator_id, _uuid(milestone_id)))
            if row is not None:
                row[M_BASELINE] = _date(due)


_HANDLERS: dict[type, Callable[[_SchedulePage, Any, int], None]] = {
    ev.ProjectCreated: _SchedulePage.project_created,
    ev.PhaseAdded: _SchedulePage.phase_added,
    ev.DeliverableDefined: _SchedulePage.deliverable_defined,
    ev.DeliverableRetitled: _SchedulePage.retitled,
    ev.DeliverableOwnerAssigned: _SchedulePage.owner_assigned,
    ev.DeliverableMovedToPhase: _SchedulePage.moved,
    ev.DeliverableKindChanged: _SchedulePage.kind_changed,
    ev.DeliverableMoved: _SchedulePage.state_changed,
    ev.CriterionAdded: _SchedulePage.criterion_added,
    ev.EvidenceRecorded: _SchedulePage.evidence_recorded,
    ev.MilestoneDefined: _SchedulePage.milestone_defined,
    ev.DeliverableLinked: _SchedulePage.linked,
    ev.DeliverableUnlinked: _SchedulePage.unlinked,
    ev.MilestoneRescheduled: _SchedulePage.rescheduled,
    ev.MilestoneAchieved: _SchedulePage.achieved,
    ev.MilestoneReopened: _SchedulePage.reopened,
    ev.MilestoneCancelled: _SchedulePage.cancelled,
    ev.ProjectRebaselined: _SchedulePage.rebaselined,
}
_handler = dispatcher(_HANDLERS)


# --- queries -------------------------------------------------------------------------------


def get_schedule(
    conn: psycopg.Connection[Any], project_id: UUID, now: datetime
) -> dict[str, Any] | None:
    """The project's schedule as the view holds it, with R12 health as of `now`.

    `position` is the global position of the project's last event the view has applied.
    Answers None for a project the view does not know (yet).
    """
    with snapshot(conn), conn.cursor(row_factory=dict_row) as cur:
        project = cur.execute(
            "SELECT name, timezone, risk_window_days, version, last_position"
            " FROM schedule_projects WHERE project_id = %s",
            (project_id,),
        ).fetchone()
        if project is None:
            return None
        phases = cur.execute(
            "SELECT phase_id, name FROM schedule_phases WHERE project_id = %s ORDER BY ordinal",
            (project_id,),
        ).fetchall()
        milestones = cur.execute(
            "SELECT * FROM schedule_milestones WHERE project_id = %s"
            " ORDER BY due, name, milestone_id",
            (project_id,),
        ).fetchall()
        links = cur.execute(
            "SELECT l.milestone_id, d.deliverable_id, d.title, d.state, d.criteria_met,"
            " d.criteria_total"
            " FROM schedule_links l JOIN schedule_deliverables d USING (project_id, deliverable_id)"
            " WHERE l.project_id = %s ORDER BY l.milestone_id, l.ordinal",
            (project_id,),
        ).fetchall()

    timezone: str = project["timezone"]
    today = today_in(timezone, now)
    linked: dict[UUID, list[dict[str, Any]]] = {}
    for row in links:
        linked.setdefault(row["milestone_id"], []).append(
            {
                "id": row["deliverable_id"],
                "title": row["title"],
                "state": row["state"],
                "criteria_met": row["criteria_met"],
                "criteria_total": row["criteria_total"],
            }
        )
    by_phase: dict[UUID, list[dict[str, Any]]] = {p["phase_id"]: [] for p in phases}
    for m in milestones:
        deliverables = linked.get(m["milestone_id"], [])
        status = MilestoneStatus(m["status"])
        due: date = m["due"]
        achieved_at = _utc(m["achieved_at"])
        health = milestone_health(
            status=status,
            due=due,
            achieved_at=achieved_at,
            today=today,
            timezone=timezone,
            risk_window_days=project["risk_window_days"],
            achievable_now=not rules.achievement_blockers(
                m["milestone_id"],
                m["name"],
                [_Linked(d["id"], d["title"], d["state"]) for d in deliverables],
            ),
        )
        by_phase.setdefault(m["phase_id"], []).append(
            {
                "id": m["milestone_id"],
                "name": m["name"],
                "due": due,
                "baseline_due": m["baseline_due"],
                "original_baseline_due": m["original_baseline_due"],
                "slip_days": rules.slip_days(due, m["baseline_due"]),
                "achieved": status is MilestoneStatus.ACHIEVED,
                "status": status.value,
                "achieved_at": achieved_at,
                "achieved_by": m["achieved_by"],
                "health": health.value,
                "deliverables": deliverables,
            }
        )
    return {
        "project_id": project_id,
        "name": project["name"],
        "timezone": timezone,
        "today": today,
        "version": project["version"],
        "position": project["last_position"],
        "phases": [
            {"id": p["phase_id"], "name": p["name"], "milestones": by_phase[p["phase_id"]]}
            for p in phases
        ],
    }


class _Linked(NamedTuple):
    """A linked deliverable as R3 (`domain.rules`) reads it."""

    id: UUID
    title: str
    state: DeliverableState


def _utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(UTC)
