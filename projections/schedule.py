"""The schedule view: phases, milestones, deliverables and their links, with health read live."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any, LiteralString
from uuid import UUID

import psycopg
from psycopg.rows import dict_row

from domain import events as ev
from domain.entities import DeliverableState, MilestoneStatus
from domain.health import milestone_health, today_in
from projections.base import View, last_event_by_project, snapshot

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


class ScheduleView(View):
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
        super().process_page(cur, events)
        # Every event moves its project's version (the schedule's ETag); one write per page.
        last = last_event_by_project(events)
        cur.execute(
            "UPDATE schedule_projects p SET version = t.version, last_position = t.position"
            " FROM unnest(%s::uuid[], %s::int[], %s::bigint[]) AS t(project_id, version, position)"
            " WHERE p.project_id = t.project_id",
            (
                list(last),
                [event.originator_version for event, _ in last.values()],
                [position for _, position in last.values()],
            ),
        )

    @functools.singledispatchmethod
    def apply(self, event: ev.ProjectEvent, cur: Cursor, position: int) -> None:
        """Other events (a new description, members) do not show on the schedule."""

    @apply.register
    def _project_created(self, event: ev.ProjectCreated, cur: Cursor, position: int) -> None:
        cur.execute(
            "INSERT INTO schedule_projects"
            " (project_id, name, timezone, risk_window_days, version, last_position)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            (
                event.originator_id,
                event.name,
                event.timezone,
                event.risk_window_days,
                event.originator_version,
                position,
            ),
        )

    @apply.register
    def _phase_added(self, event: ev.PhaseAdded, cur: Cursor, position: int) -> None:
        # Phases are never removed or reordered: the n-th phase added is the n-th phase.
        cur.execute(
            "INSERT INTO schedule_phases (project_id, phase_id, name, ordinal)"
            " SELECT %(p)s, %(ph)s, %(name)s, coalesce(max(ordinal), 0) + 1"
            " FROM schedule_phases WHERE project_id = %(p)s",
            {"p": event.originator_id, "ph": event.phase_id, "name": event.name},
        )

    # --- deliverables ----------------------------------------------------------------------

    @apply.register
    def _deliverable_defined(
        self, event: ev.DeliverableDefined, cur: Cursor, position: int
    ) -> None:
        cur.execute(
            "INSERT INTO schedule_deliverables"
            " (project_id, deliverable_id, phase_id, title, kind, state, owner)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (
                event.originator_id,
                event.deliverable_id,
                event.phase_id,
                event.title,
                event.kind,
                DeliverableState.DRAFT.value,
                event.owner,
            ),
        )

    @apply.register
    def _retitled(self, event: ev.DeliverableRetitled, cur: Cursor, position: int) -> None:
        self._set_deliverable(cur, event, "title = %s", event.title)

    @apply.register
    def _owner_assigned(
        self, event: ev.DeliverableOwnerAssigned, cur: Cursor, position: int
    ) -> None:
        self._set_deliverable(cur, event, "owner = %s", event.owner)

    @apply.register
    def _moved(self, event: ev.DeliverableMovedToPhase, cur: Cursor, position: int) -> None:
        self._set_deliverable(cur, event, "phase_id = %s", event.phase_id)

    @apply.register
    def _kind_changed(self, event: ev.DeliverableKindChanged, cur: Cursor, position: int) -> None:
        self._set_deliverable(cur, event, "kind = %s", event.kind)

    @apply.register(ev.DeliverableSubmitted)
    @apply.register(ev.DeliverableApproved)
    @apply.register(ev.DeliverableRejected)
    @apply.register(ev.DeliverableReopened)
    @apply.register(ev.DeliverableCancelled)
    def _state_changed(self, event: ev.DeliverableEvent, cur: Cursor, position: int) -> None:
        self._set_deliverable(cur, event, "state = %s", DELIVERABLE_STATE_AFTER[type(event)])

    @staticmethod
    def _set_deliverable(
        cur: Cursor, event: ev.DeliverableEvent, assignment: LiteralString, value: object
    ) -> None:
        cur.execute(
            "UPDATE schedule_deliverables SET "
            + assignment
            + " WHERE project_id = %s AND deliverable_id = %s",
            (value, event.originator_id, event.deliverable_id),
        )

    @apply.register
    def _criterion_added(self, event: ev.CriterionAdded, cur: Cursor, position: int) -> None:
        cur.execute(
            "WITH added AS (INSERT INTO schedule_criteria (project_id, criterion_id,"
            "  deliverable_id) VALUES (%(p)s, %(c)s, %(d)s))"
            " UPDATE schedule_deliverables SET criteria_total = criteria_total + 1"
            " WHERE project_id = %(p)s AND deliverable_id = %(d)s",
            {"p": event.originator_id, "c": event.criterion_id, "d": event.deliverable_id},
        )

    @apply.register
    def _evidence_recorded(self, event: ev.EvidenceRecorded, cur: Cursor, position: int) -> None:
        # R6: evidence recorded again replaces the earlier one; the criterion was met already.
        cur.execute(
            "WITH newly_met AS ("
            "  UPDATE schedule_criteria SET met = true"
            "  WHERE project_id = %(p)s AND criterion_id = %(c)s AND NOT met"
            "  RETURNING deliverable_id)"
            " UPDATE schedule_deliverables d SET criteria_met = criteria_met + 1"
            " FROM newly_met n"
            " WHERE d.project_id = %(p)s AND d.deliverable_id = n.deliverable_id",
            {"p": event.originator_id, "c": event.criterion_id},
        )

    # --- milestones ------------------------------------------------------------------------

    @apply.register
    def _milestone_defined(self, event: ev.MilestoneDefined, cur: Cursor, position: int) -> None:
        # One statement (not two) per event keeps a page's round of statements short.
        cur.execute(
            "WITH linked AS (INSERT INTO schedule_links"
            "  (project_id, milestone_id, deliverable_id, ordinal)"
            "  SELECT %(p)s, %(m)s, d.id, d.ordinal"
            "  FROM unnest(%(ds)s::uuid[]) WITH ORDINALITY AS d(id, ordinal))"
            " INSERT INTO schedule_milestones (project_id, milestone_id, phase_id, name, due,"
            " baseline_due, original_baseline_due, status, defined_at)"
            " VALUES (%(p)s, %(m)s, %(ph)s, %(name)s, %(due)s, %(due)s, %(due)s, %(s)s, %(at)s)",
            {
                "p": event.originator_id,
                "m": event.milestone_id,
                "ds": list(event.deliverable_ids),
                "ph": event.phase_id,
                "name": event.name,
                "due": event.due,
                "s": MilestoneStatus.NOT_ACHIEVED.value,
                "at": event.timestamp,
            },
        )

    @apply.register
    def _linked(self, event: ev.DeliverableLinked, cur: Cursor, position: int) -> None:
        cur.execute(
            "INSERT INTO schedule_links (project_id, milestone_id, deliverable_id, ordinal)"
            " SELECT %(p)s, %(m)s, %(d)s, coalesce(max(ordinal), 0) + 1 FROM schedule_links"
            " WHERE project_id = %(p)s AND milestone_id = %(m)s",
            {"p": event.originator_id, "m": event.milestone_id, "d": event.deliverable_id},
        )

    @apply.register
    def _unlinked(self, event: ev.DeliverableUnlinked, cur: Cursor, position: int) -> None:
        cur.execute(
            "DELETE FROM schedule_links"
            " WHERE project_id = %s AND milestone_id = %s AND deliverable_id = %s",
            (event.originator_id, event.milestone_id, event.deliverable_id),
        )

    @apply.register
    def _rescheduled(self, event: ev.MilestoneRescheduled, cur: Cursor, position: int) -> None:
        self._set_milestone(cur, event, "due = %s", event.due)

    @apply.register
    def _achieved(self, event: ev.MilestoneAchieved, cur: Cursor, position: int) -> None:
        cur.execute(
            "UPDATE schedule_milestones SET status = %s, achieved_at = %s, achieved_by = %s"
            " WHERE project_id = %s AND milestone_id = %s",
            (
                MilestoneStatus.ACHIEVED.value,
                event.timestamp,
                event.actor,
                event.originator_id,
                event.milestone_id,
            ),
        )

    @apply.register
    def _reopened(self, event: ev.MilestoneReopened, cur: Cursor, position: int) -> None:
        cur.execute(
            "UPDATE schedule_milestones SET status = %s, achieved_at = NULL, achieved_by = NULL"
            " WHERE project_id = %s AND milestone_id = %s",
            (MilestoneStatus.NOT_ACHIEVED.value, event.originator_id, event.milestone_id),
        )

    @apply.register
    def _cancelled(self, event: ev.MilestoneCancelled, cur: Cursor, position: int) -> None:
        self._set_milestone(cur, event, "status = %s", MilestoneStatus.CANCELLED.value)

    @staticmethod
    def _set_milestone(
        cur: Cursor, event: ev.MilestoneEvent, assignment: LiteralString, value: object
    ) -> None:
        cur.execute(
            "UPDATE schedule_milestones SET "
            + assignment
            + " WHERE project_id = %s AND milestone_id = %s",
            (value, event.originator_id, event.milestone_id),
        )

    @apply.register
    def _rebaselined(self, event: ev.ProjectRebaselined, cur: Cursor, position: int) -> None:
        if not event.baselines:
            return
        cur.execute(
            "UPDATE schedule_milestones m SET baseline_due = b.due"
            " FROM unnest(%s::uuid[], %s::date[]) AS b(id, due)"
            " WHERE m.project_id = %s AND m.milestone_id = b.id",
            (
                [UUID(mid) for mid in event.baselines],
                list(event.baselines.values()),
                event.originator_id,
            ),
        )


DELIVERABLE_STATE_AFTER: dict[type[ev.DeliverableEvent], str] = {
    ev.DeliverableSubmitted: DeliverableState.IN_REVIEW.value,
    ev.DeliverableApproved: DeliverableState.APPROVED.value,
    ev.DeliverableRejected: DeliverableState.DRAFT.value,
    ev.DeliverableReopened: DeliverableState.DRAFT.value,
    ev.DeliverableCancelled: DeliverableState.CANCELLED.value,
}


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
            achievable_now=_achievable_now(deliverables),
        )
        by_phase.setdefault(m["phase_id"], []).append(
            {
                "id": m["milestone_id"],
                "name": m["name"],
                "due": due,
                "baseline_due": m["baseline_due"],
                "original_baseline_due": m["original_baseline_due"],
                "slip_days": (due - m["baseline_due"]).days,
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


def _achievable_now(deliverables: list[dict[str, Any]]) -> bool:
    """R3 from the view: a live linked deliverable, and every live one approved."""
    live = [d for d in deliverables if d["state"] != DeliverableState.CANCELLED]
    return bool(live) and all(d["state"] == DeliverableState.APPROVED for d in live)


def _utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(UTC)
