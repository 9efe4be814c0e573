"""Titles beside ids in the audit and history exports (issue 19): each row names the
deliverable, milestone and phase its event is about, with the title or name each had just
after that event (a later retitle does not change an earlier row). Appended columns; the JSON
pages are unchanged."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import psycopg

from api import exports
from api.presenters_history import history_row_event
from application.history_rows import HistoryRow
from domain.events import ProjectEvent
from projections.audit.summaries import name_given
from projections.audit.titles import name_at, names_given

# (the id's field in the event, the column of its name)
REFERENCES = (
    ("deliverable_id", "deliverable_title"),
    ("milestone_id", "milestone_name"),
    ("phase_id", "phase_name"),
)
TITLE_COLUMNS = tuple(column for pair in REFERENCES for column in pair)

# The event types that give names (`name_given`): a history's rows of these come decoded.
NAMING: tuple[type[ProjectEvent], ...] = tuple(
    cls for cls in name_given.registry if cls is not object and issubclass(cls, ProjectEvent)
)

Connect = Callable[[], AbstractContextManager[psycopg.Connection[Any]]]


def titled_audit(connect: Connect, rows: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The audit export's rows with the title columns, a page of rows at a time (the names
    read from the trail on a connection of its own, held only for that read)."""
    while chunk := list(itertools.islice(rows, exports.PAGE)):
        refs = {
            (row["project_id"], str(row["data"][field]))
            for row in chunk
            for field, _ in REFERENCES
            if row["data"].get(field) is not None
        }
        with connect() as conn:
            names = names_given(conn, refs)
        for row in chunk:
            for field, column in REFERENCES:
                value = row["data"].get(field)
                row[field] = None if value is None else str(value)
                row[column] = (
                    None
                    if value is None
                    else name_at(names, row["project_id"], str(value), row["position"])
                )
            yield row


def titled_history(
    earlier: Iterable[ProjectEvent], read: Iterable[HistoryRow]
) -> Iterator[dict[str, Any]]:
    """The history export's rows (each event with its position and correlation id) with the
    title columns: the names folded from the project's events in order, the `earlier` ones
    (before the export's first) only to learn names. The rows of the events that give names
    (`NAMING`) come with their events."""
    names: dict[str, str] = {}
    for event in earlier:
        _learn(names, event)
    for found in read:
        if found.event is not None:
            _learn(names, found.event)
        row = history_row_event(found)
        for field, column in REFERENCES:
            value = found.data.get(field)
            row[field] = None if value is None else str(value)
            row[column] = None if value is None else names.get(str(value))
        yield row


def _learn(names: dict[str, str], event: ProjectEvent) -> None:
    given = name_given(event)
    if given is not None:
        names[given[0]] = given[1]
