"""The `View` base class: a read model that applies project events to its own tables."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar, LiteralString
from uuid import UUID

import psycopg
from psycopg import pq

from domain.events import ProjectEvent


class View:
    """A read model of the event log.

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


@contextmanager
def snapshot(conn: psycopg.Connection[Any]) -> Iterator[psycopg.Connection[Any]]:
    """Run a query function's statements on one snapshot of the views.

    The runner commits a page across several tables at once; a read made of several statements
    must not see half of a page. Inside a caller's open transaction it reuses that transaction.

    The transaction is pipelined (see `pipelined_transaction`): a read of n statements costs
    n + 1 round trips instead of n + 3. The query function must not COPY.
    """
    if conn.info.transaction_status is not pq.TransactionStatus.IDLE:
        yield conn
        return
    with pipelined_transaction(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"):
        yield conn


@contextmanager
def pipelined_transaction(
    conn: psycopg.Connection[Any], begin: LiteralString = "BEGIN"
) -> Iterator[psycopg.Connection[Any]]:
    """A transaction in pipeline mode whose BEGIN travels with its first statement and whose
    COMMIT travels with its last ones: only the statements whose answer is fetched wait for
    one. (psycopg syncs alone on an implicit BEGIN in a pipeline, and its `transaction()` also
    syncs before and on COMMIT; hence BEGIN and COMMIT sent here as statements, on a connection
    switched to autocommit for the while, so that psycopg adds none of its own.)

    On an error nothing is committed: the server skips the statements after a failed one, and
    the transaction is rolled back. Needs an idle connection; COPY is refused in a pipeline.
    """
    if conn.info.transaction_status is not pq.TransactionStatus.IDLE:
        raise psycopg.ProgrammingError("pipelined_transaction needs an idle connection")
    autocommit = conn.autocommit
    conn.autocommit = True  # only recorded: no round trip
    try:
        with conn.pipeline():
            conn.execute(begin)
            yield conn
            conn.execute("COMMIT")
    except BaseException:
        if not conn.closed and conn.info.transaction_status is not pq.TransactionStatus.IDLE:
            conn.execute("ROLLBACK")
        raise
    finally:
        # A broken connection stays as it is: the pool discards it.
        if not conn.closed and conn.info.transaction_status is pq.TransactionStatus.IDLE:
            conn.autocommit = autocommit
