"""The transactions of the views: a read of one snapshot, and a pipelined page write."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, LiteralString

import psycopg
from psycopg import pq


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
