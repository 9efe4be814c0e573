"""The `View` base class: a read model that applies project events to its own tables."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar, LiteralString

import psycopg
from psycopg import pq

from domain.events import ProjectEvent


class View:
    """A read model of the event log.

    A subclass names itself, lists its tables and their idempotent DDL, and defines its own
    `@singledispatchmethod apply` (one registry per view) with one handler per event class it
    cares about; every other event changes nothing. The
    runner calls `process_event` for each event in a page, inside the transaction that also
    moves the view's tracking position, so the view applies each event exactly once.
    Handlers only write (no reads whose results they wait for), so a page runs in one
    pipelined round trip.
    """

    name: ClassVar[str]
    tables: ClassVar[tuple[LiteralString, ...]]
    ddl: ClassVar[tuple[LiteralString, ...]]

    def process_event(self, cur: psycopg.Cursor[Any], event: ProjectEvent, position: int) -> None:
        self.apply(event, cur, position)

    # singledispatch picks the handler by the type of the first argument, so the event leads.
    @functools.singledispatchmethod
    def apply(self, event: ProjectEvent, cur: psycopg.Cursor[Any], position: int) -> None:
        """An event this view does not handle changes nothing."""


@contextmanager
def snapshot(conn: psycopg.Connection[Any]) -> Iterator[psycopg.Connection[Any]]:
    """Run a query function's statements on one snapshot of the views.

    The runner commits a page across several tables at once; a read made of several statements
    must not see half of a page. Inside a caller's open transaction it reuses that transaction.
    """
    if conn.info.transaction_status is not pq.TransactionStatus.IDLE:
        yield conn
        return
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield conn
