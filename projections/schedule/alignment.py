"""R11 alignment: what the schedule view shows as activity without evidence, and the reverse;
and R18: the open milestones whose forecast is later than their due date, each with the chain of
predecessors that makes it so."""

from __future__ import annotations

from typing import Any, LiteralString
from uuid import UUID

import psycopg
from psycopg.rows import dict_row

from domain.rules import forecast_chain
from domain.states import MilestoneStatus
from projections.schedule.queries import milestone_forecasts, read_dependencies
from projections.transactions import snapshot

# Reads only the schedule view's tables (`projections.schedule.tables`). Cancelled milestones
# and deliverables are left out on both sides of a link, so a milestone linked only to
# cancelled deliverables has none, and a deliverable linked only by cancelled milestones is
# unlinked.

_MILESTONES_WITHOUT_DELIVERABLES: LiteralString = """
    SELECT m.milestone_id AS id, m.name, m.phase_id
    FROM schedule_milestones m
    LEFT JOIN schedule_phases p USING (project_id, phase_id)
    WHERE m.project_id = %(p)s AND m.status <> 'cancelled'
      AND NOT EXISTS (
        SELECT 1 FROM schedule_links l
        JOIN schedule_deliverables d USING (project_id, deliverable_id)
        WHERE l.project_id = m.project_id AND l.milestone_id = m.milestone_id
          AND d.state <> 'cancelled')
    ORDER BY p.ordinal, m.due, m.name, m.milestone_id
"""

_DELIVERABLES_WITHOUT_MILESTONES: LiteralString = """
    SELECT d.deliverable_id AS id, d.title, d.phase_id
    FROM schedule_deliverables d
    LEFT JOIN schedule_phases p USING (project_id, phase_id)
    WHERE d.project_id = %(p)s AND d.state <> 'cancelled'
      AND NOT EXISTS (
        SELECT 1 FROM schedule_links l
        JOIN schedule_milestones m USING (project_id, milestone_id)
        WHERE l.project_id = d.project_id AND l.deliverable_id = d.deliverable_id
          AND m.status <> 'cancelled')
    ORDER BY p.ordinal, d.title, d.deliverable_id
"""

_DELIVERABLES_WITHOUT_CRITERIA: LiteralString = """
    SELECT d.deliverable_id AS id, d.title, d.phase_id
    FROM schedule_deliverables d
    LEFT JOIN schedule_phases p USING (project_id, phase_id)
    WHERE d.project_id = %(p)s AND d.state <> 'cancelled' AND d.criteria_total = 0
    ORDER BY p.ordinal, d.title, d.deliverable_id
"""


def get_alignment(conn: psycopg.Connection[Any], project_id: UUID) -> dict[str, Any] | None:
    """The three R11 lists and whether all are empty; None for a project the view lacks."""
    params = {"p": project_id}
    with snapshot(conn), conn.cursor(row_factory=dict_row) as cur:
        known = cur.execute(
            "SELECT 1 FROM schedule_projects WHERE project_id = %(p)s", params
        ).fetchone()
        if known is None:
            return None
        lists: dict[str, LiteralString] = {
            "milestones_without_deliverables": _MILESTONES_WITHOUT_DELIVERABLES,
            "deliverables_without_milestones": _DELIVERABLES_WITHOUT_MILESTONES,
            "deliverables_without_criteria": _DELIVERABLES_WITHOUT_CRITERIA,
        }
        found = {key: cur.execute(query, params).fetchall() for key, query in lists.items()}
        timezone = cur.execute(
            "SELECT timezone FROM schedule_projects WHERE project_id = %(p)s", params
        ).fetchone()
        milestones = cur.execute(
            "SELECT milestone_id, name, due, status, achieved_at FROM schedule_milestones"
            " WHERE project_id = %(p)s ORDER BY due, name, milestone_id",
            params,
        ).fetchall()
        dependencies = read_dependencies(cur, project_id)
    assert timezone is not None
    late = _late_by_forecast(milestones, dependencies, timezone["timezone"])
    # `aligned` stays R11's verdict: a late forecast is a risk to the schedule (R18), not
    # activity without evidence.
    return {"aligned": not any(found.values()), **found, "milestones_late_by_forecast": late}


def _late_by_forecast(
    milestones: list[dict[str, Any]], dependencies: dict[str, dict[str, int]], timezone: str
) -> list[dict[str, Any]]:
    """R18: each open milestone forecast after its due, with its chain: itself, the predecessor
    that drives its forecast, that one's, … (`rules.forecast_chain`)."""
    found = milestone_forecasts(milestones, dependencies, timezone)
    by_id = {str(m["milestone_id"]): m for m in milestones}

    def link(key: str, successor: str | None) -> dict[str, Any]:
        m = by_id[key]
        return {
            "id": m["milestone_id"],
            "name": m["name"],
            "status": m["status"],
            "due": m["due"],
            "forecast_due": found[key].due,
            "lag_days": None if successor is None else dependencies[successor][key],
        }

    late = []
    for key, m in by_id.items():
        if MilestoneStatus(m["status"]) is not MilestoneStatus.NOT_ACHIEVED:
            continue
        if found[key].due <= m["due"]:
            continue
        chain = forecast_chain(found, key)
        late.append(
            {
                "id": m["milestone_id"],
                "name": m["name"],
                "due": m["due"],
                "forecast_due": found[key].due,
                "late_by_days": (found[key].due - m["due"]).days,
                "chain": [link(k, None if i == 0 else chain[i - 1]) for i, k in enumerate(chain)],
            }
        )
    return late
