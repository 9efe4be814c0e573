"""The schedule view's query: a project's phases and milestones, with R12 health and R18's
forecast read live."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, NamedTuple
from uuid import UUID

import psycopg
from psycopg.rows import dict_row

from domain import rules
from domain.entities import DeliverableState, MilestoneStatus
from domain.rules import milestone_health, today_in
from projections.transactions import snapshot


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
            " d.criteria_total, d.required_approvals, d.approvals"
            " FROM schedule_links l JOIN schedule_deliverables d USING (project_id, deliverable_id)"
            " WHERE l.project_id = %s ORDER BY l.milestone_id, l.ordinal",
            (project_id,),
        ).fetchall()
        dependencies = read_dependencies(cur, project_id)

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
                "required_approvals": row["required_approvals"],
                "approvals": list(row["approvals"]),
            }
        )
    by_phase: dict[UUID, list[dict[str, Any]]] = {p["phase_id"]: [] for p in phases}
    found = milestone_forecasts(milestones, dependencies, timezone)
    by_id = {str(m["milestone_id"]): m for m in milestones}
    for m in milestones:
        key = str(m["milestone_id"])
        deliverables = linked.get(m["milestone_id"], [])
        status = MilestoneStatus(m["status"])
        due: date = m["due"]
        achieved_at = _utc(m["achieved_at"])
        predecessors = dependencies.get(key, {})
        forecast = found.get(key)
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
            )
            and not rules.predecessor_blockers(
                _Predecessor(
                    by_id[p]["milestone_id"], by_id[p]["name"], MilestoneStatus(by_id[p]["status"])
                )
                for p in predecessors
                if p in by_id
            ),
            forecast_due=None if forecast is None else forecast.due,
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
                "predecessors": [
                    {"id": UUID(p), "lag_days": lag} for p, lag in predecessors.items()
                ],
                "forecast_due": None if forecast is None else forecast.due,
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


def read_dependencies(cur: psycopg.Cursor[Any], project_id: UUID) -> dict[str, dict[str, int]]:
    """R16: each milestone's predecessors with their lags, by id (as `Milestone.predecessors`)."""
    rows = cur.execute(
        "SELECT milestone_id, predecessor_id, lag_days FROM schedule_dependencies"
        " WHERE project_id = %s ORDER BY milestone_id, predecessor_id",
        (project_id,),
    ).fetchall()
    dependencies: dict[str, dict[str, int]] = {}
    for row in rows:
        dependencies.setdefault(str(row["milestone_id"]), {})[str(row["predecessor_id"])] = row[
            "lag_days"
        ]
    return dependencies


def milestone_forecasts(
    milestones: list[dict[str, Any]], dependencies: dict[str, dict[str, int]], timezone: str
) -> dict[str, rules.Forecast]:
    """R18 over the view's rows: the same `rules.forecasts` the aggregate's reads call."""
    return rules.forecasts(
        {
            str(m["milestone_id"]): rules.Planned(
                status=MilestoneStatus(m["status"]),
                due=m["due"],
                achieved_on=None
                if m["achieved_at"] is None
                else today_in(timezone, m["achieved_at"]),
                predecessors=dependencies.get(str(m["milestone_id"]), {}),
            )
            for m in milestones
        }
    )


class _Predecessor(NamedTuple):
    """A predecessor as R17 (`domain.rules`) reads it."""

    id: UUID
    name: str
    status: MilestoneStatus


class _Linked(NamedTuple):
    """A linked deliverable as R3 (`domain.rules`) reads it."""

    id: UUID
    title: str
    state: DeliverableState


def _utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(UTC)


def projects_with_notices_to_check(conn: psycopg.Connection[Any], today: date) -> list[UUID]:
    """The projects with an open milestone that may be due soon or overdue on `today` (UTC's
    day; R20): due within the project's risk window of it, a day of slack for the project's
    time zone, and not yet noticed overdue for that due date. Only a shortlist: the notices
    themselves are decided on the event-sourced project (`domain.notices`)."""
    rows = conn.execute(
        "SELECT DISTINCT m.project_id FROM schedule_milestones m"
        " JOIN schedule_projects p USING (project_id)"
        " WHERE m.status = 'not_achieved'"
        " AND m.due <= %s::date + p.risk_window_days + 1"
        " AND NOT EXISTS (SELECT FROM public.milestone_notices n"
        "  WHERE n.milestone_id = m.milestone_id AND n.due = m.due"
        "  AND n.kind = 'MilestoneOverdue')",
        (today,),
    ).fetchall()
    return [row[0] for row in rows]
