"""The names entities had at each point of the trail, for the exports' title columns: every
name an entity was given (defined, retitled), read from the trail itself, so a later retitle
does not rewrite what an earlier row says."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Collection
from typing import Any
from uuid import UUID

import psycopg

# The events that name a phase, deliverable or milestone, and the field holding the name.
NAMING = {
    "PhaseAdded": "name",
    "DeliverableDefined": "title",
    "DeliverableRetitled": "title",
    "MilestoneDefined": "name",
}

# (project, entity id) → the positions at which it was named, ascending, and those names.
Names = dict[tuple[UUID, str], tuple[list[int], list[str]]]


def names_given(conn: psycopg.Connection[Any], refs: Collection[tuple[UUID, str]]) -> Names:
    """Every name each of `refs` was given, in the order of the trail."""
    if not refs:
        return {}
    ids = sorted({entity for _, entity in refs})
    rows = conn.execute(
        "SELECT project_id, entity_id, position, event_type, data FROM audit_trail"
        " WHERE entity_ids && %s::text[] AND entity_id = ANY(%s::text[])"
        " AND event_type = ANY(%s::text[]) AND project_id = ANY(%s::uuid[])"
        " ORDER BY position",
        (ids, ids, list(NAMING), sorted({project for project, _ in refs})),
    ).fetchall()
    found: Names = {}
    for project_id, entity_id, position, event_type, data in rows:
        positions, names = found.setdefault((project_id, entity_id), ([], []))
        positions.append(position)
        names.append(str(data[NAMING[event_type]]))
    return found


def name_at(names: Names, project_id: UUID, entity_id: str, position: int) -> str | None:
    """The entity's name just after the event at `position` (None: not named by then)."""
    given = names.get((project_id, entity_id))
    if given is None:
        return None
    at = bisect_right(given[0], position)
    return given[1][at - 1] if at else None
