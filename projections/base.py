"""The `View` base class, and the fold of a page of events that the set-based views share."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, LiteralString, Protocol
from uuid import UUID

import psycopg

from domain.events import ProjectEvent

Cursor = psycopg.Cursor[Any]


class View:
    """A view of the event log, kept in its own tables.

    A subclass names itself, lists its tables and their idempotent DDL (a view of this package
    generates both from its table descriptions, `projections.tables`), and writes a page of
    events in `process_page`. The runner calls it inside the transaction that also moves the
    view's tracking position, so the view applies each event exactly once. The views of this
    package write a page set-based, a few statements per page (see `projections.writes`). A
    small page (the live tail) runs in pipeline mode: a view may read (a fetch waits for its
    answer) but must not COPY itself (`writes.copy` switches to INSERTs) nor rely on
    `rowcount`.
    """

    name: ClassVar[str]
    tables: ClassVar[tuple[LiteralString, ...]]
    ddl: ClassVar[tuple[LiteralString, ...]]

    def process_page(self, cur: Cursor, events: Sequence[tuple[ProjectEvent, int]]) -> None:
        """Apply the events, in position order; an event the view does not show changes
        nothing."""
        raise NotImplementedError


class Page(Protocol):
    """A view's working copy of the rows one page of events changes.

    `touch` and `apply` are `functools.singledispatchmethod`s: one registration per event class
    the view shows (a class registered covers its subclasses); an event of no registered class
    touches and changes nothing.
    """

    def touch(self, event: ProjectEvent) -> None:
        """Note the rows the event may change (or creates)."""

    def read(self, cur: Cursor) -> None:
        """Read every row noted and not created by the page, in as few statements as it can."""

    def apply(self, event: ProjectEvent, position: int) -> None:
        """Change the rows as the event says."""

    def write(self, cur: Cursor, last: dict[UUID, tuple[ProjectEvent, int]]) -> None:
        """Write what changed; `last` is each project's last event in the page."""


def fold_page(cur: Cursor, events: Sequence[tuple[ProjectEvent, int]], page: Page) -> None:
    """Load the rows the events change, replay the events on them in position order, then
    write the differences."""
    if not events:
        return
    touch, apply = registered(page, "touch"), registered(page, "apply")
    for event, _ in events:
        touch(event.__class__)(page, event)
    page.read(cur)
    for event, position in events:
        apply(event.__class__)(page, event, position)
    page.write(cur, last_event_by_project(events))


def registered(page: object, name: str) -> Callable[[type], Callable[..., None]]:
    """The function registered on `page.<name>`, a `functools.singledispatchmethod`, for an
    event class: `registered(page, "apply")(type(event))(page, event, position)`.

    The same dispatch as calling `page.apply(event, position)`, without the wrapper Python 3.11
    builds for the method on every call (2.5 µs, more than most handlers take); the dispatch
    itself is cached per class.
    """
    method = inspect.getattr_static(page, name)
    if not isinstance(method, functools.singledispatchmethod):
        raise TypeError(f"{type(page).__name__}.{name} is not a singledispatchmethod")
    dispatch: Callable[[type], Callable[..., None]] = method.dispatcher.dispatch
    return dispatch


def last_event_by_project(
    events: Sequence[tuple[ProjectEvent, int]],
) -> dict[UUID, tuple[ProjectEvent, int]]:
    """Each project's last event in the page, with its position."""
    return {event.originator_id: (event, position) for event, position in events}
