"""The projects view's tables: each project with its counts, its members, and the state of its
deliverables and milestones."""

from __future__ import annotations

from projections.tables import Column, Index, Table

PROJECTS = Table(
    "projects",
    keys=(Column("project_id", "uuid"),),
    values=(
        Column("name", "text"),
        Column("description", "text"),
        Column("timezone", "text"),
        Column("risk_window_days", "integer"),
        Column("version", "integer"),
        Column("created_at", "timestamptz"),
        Column("updated_at", "timestamptz"),
        Column("last_position", "bigint"),
        # {state: how many}, every state of the lifecycle present.
        Column("deliverable_counts", "jsonb"),
        Column("milestone_counts", "jsonb"),
    ),
    # The list's pages, in its order (migration 0070).
    indexes=(Index("projects_by_name", ("name", "project_id")),),
)

MEMBERS = Table(
    "project_members",
    keys=(Column("project_id", "uuid"), Column("principal", "text")),
    values=(Column("role", "text"),),
    indexes=(Index("project_members_by_principal", ("principal",)),),
)

# The state of every deliverable and milestone, so that a transition whose event does not say
# where it came from (a reopen, a cancel) moves the right count.
ITEMS = Table(
    "project_items",
    keys=(Column("project_id", "uuid"), Column("item_id", "uuid")),
    values=(Column("state", "text"),),
)

# In the order of their DDL.
TABLES = (PROJECTS, MEMBERS, ITEMS)
