"""The `View` base class: a view applies project events to its own tables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, LiteralString
from uuid import UUID

import psycopg

from domain.events import ProjectEvent


class View:
    """A view of the event log, kept in its own tables.

    A subclass names itself, lists its tables and their idempotent DDL, and writes a page of
    events in `process_page`. The runner calls it inside the transaction that also moves the
    view's tracking position, so the view applies each event exactly once. The views of this
    package write a page set-based, a few statements per page (see `projections.batch`). A
    small page (the live tail) runs in pipeline mode: a view may read (a fetch waits for its
    answer) but must not COPY itself (`batch.Table.copy` switches to INSERTs) nor rely on
    `rowcount`.
    """

    name: ClassVar[str]
    tables: ClassVar[tuple[LiteralString, ...]]
    ddl: ClassVar[tuple[LiteralString, ...]]

    def process_page(
        self, cur: psycopg.Cursor[Any], events: Sequence[tuple[ProjectEvent, int]]
    ) -> None:
        """Apply the events, in position order; an event the view does not show changes
        nothing."""
        raise NotImplementedError


def last_event_by_project(
    events: Sequence[tuple[ProjectEvent, int]],
) -> dict[UUID, tuple[ProjectEvent, int]]:
    """Each project's last event in the page, with its position."""
    return {event.originator_id: (event, position) for event, position in events}
