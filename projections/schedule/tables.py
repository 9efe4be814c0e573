"""The schedule view's tables: projects, phases, milestones, deliverables, criteria, links and
dependencies."""

from __future__ import annotations

from projections.tables import Column, Index, Table


def _uuid(name: str) -> Column:
    return Column(name, "uuid")


PROJECTS = Table(
    "schedule_projects",
    keys=(_uuid("project_id"),),
    values=(
        Column("name", "text"),
        Column("timezone", "text"),
        Column("risk_window_days", "integer"),
        Column("version", "integer"),
        Column("last_position", "bigint"),
    ),
)

PHASES = Table(
    "schedule_phases",
    keys=(_uuid("project_id"), _uuid("phase_id")),
    values=(Column("name", "text"), Column("ordinal", "integer")),
)

MILESTONES = Table(
    "schedule_milestones",
    keys=(_uuid("project_id"), _uuid("milestone_id")),
    values=(
        _uuid("phase_id"),
        Column("name", "text"),
        Column("due", "date"),
        Column("baseline_due", "date"),
        Column("original_baseline_due", "date"),
        Column("status", "text"),
        Column("achieved_at", "timestamptz", null=True),
        Column("achieved_by", "text", null=True),
        Column("defined_at", "timestamptz"),
    ),
    indexes=(
        # The project list looks up each project's next open milestone.
        Index(
            "schedule_milestones_open_by_due",
            ("project_id", "due", "name"),
            where="status = 'not_achieved'",
        ),
    ),
)

DELIVERABLES = Table(
    "schedule_deliverables",
    keys=(_uuid("project_id"), _uuid("deliverable_id")),
    values=(
        _uuid("phase_id"),
        Column("title", "text"),
        Column("kind", "text"),
        Column("state", "text"),
        Column("owner", "text", null=True),
        Column("criteria_total", "integer", default="0"),
        Column("criteria_met", "integer", default="0"),
        # R21 (migration 0060): the quorum, and who approved in the current round (or signed
        # the approval that stands), in order.
        Column("required_approvals", "integer", default="1"),
        Column("approvals", "jsonb", default="'[]'::jsonb"),
    ),
)

# One row per criterion, so that evidence recorded again on a met criterion counts once.
CRITERIA = Table(
    "schedule_criteria",
    keys=(_uuid("project_id"), _uuid("criterion_id")),
    values=(_uuid("deliverable_id"), Column("met", "boolean", default="false")),
)

LINKS = Table(
    "schedule_links",
    keys=(_uuid("project_id"), _uuid("milestone_id"), _uuid("deliverable_id")),
    values=(Column("ordinal", "integer"),),
    indexes=(Index("schedule_links_by_deliverable", ("project_id", "deliverable_id")),),
)

# R16: one row per dependency of a milestone on a predecessor (migrations/0040).
DEPENDENCIES = Table(
    "schedule_dependencies",
    keys=(_uuid("project_id"), _uuid("milestone_id"), _uuid("predecessor_id")),
    values=(Column("lag_days", "integer"),),
)

# In the order of their DDL.
TABLES = (PROJECTS, PHASES, MILESTONES, DELIVERABLES, CRITERIA, LINKS, DEPENDENCIES)
