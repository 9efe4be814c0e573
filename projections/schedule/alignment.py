"""R11 alignment: what the schedule view shows as activity without evidence, and the reverse."""

from __future__ import annotations

from typing import Any, LiteralString
from uuid import UUID

import psycopg
from psycopg.rows import dict_row

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
    return {"aligned": not any(found.values()), **found}
