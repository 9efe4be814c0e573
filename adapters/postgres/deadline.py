"""A deadline on every save: a save that stalls gives up within seconds and lets go of the lock.

A save holds the events table's EXCLUSIVE ordering lock from its first statement to its commit,
so every other writer waits behind it. The server cannot end a save that stalls in the middle:
`lock_timeout` bounds only the wait for the lock, `idle_in_transaction_session_timeout` only a
session idle between transactions' statements after a Sync, and `statement_timeout` is not armed
while the server waits for the rest of a pipeline (or blocks writing to a client that no longer
reads). Seen once: a save stuck for 12 minutes inside psycopg's pipeline sync (the defect that
`adapters.postgres.pipelines` mends), every command of every project queued behind it.

So the client bounds it. `Watchdog.guard(conn, seconds)` registers the save's connection with
one daemon thread per process; when a save outlives its deadline, the thread shuts the
connection's socket down (`shutdown(SHUT_RDWR)` on a duplicate of its descriptor: the socket is
shared, the descriptor stays psycopg's to close). The stalled call wakes with an
`OperationalError`, the pool discards the connection, and the server, reading end of file,
rolls the transaction back, which releases the lock. The caller gets `SaveTimeoutError` (the API
answers 503 with Retry-After, like any other loss of the database).

As with any connection lost while a COMMIT is on its way, a save cut at the very end may have
committed: the caller cannot tell, and retries with its Idempotency-Key find the kept answer.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.persistence import OperationalError

log = logging.getLogger(__name__)


class SaveTimeoutError(OperationalError):
    """A save outlived its deadline and its connection was cut; the server rolled it back."""


@dataclass(order=True)
class _Guard:
    deadline: float
    serial: int
    fd: int = field(compare=False)
    done: bool = field(default=False, compare=False)
    fired: bool = field(default=False, compare=False)


class Watchdog:
    """One thread that cuts the connections of saves past their deadline."""

    def __init__(self) -> None:
        self._wake = threading.Condition()
        self._guards: list[_Guard] = []
        self._serials = itertools.count()
        self._thread: threading.Thread | None = None

    @contextmanager
    def guard(self, conn: Any, seconds: float) -> Iterator[None]:
        """Run the block with `conn` cut if it has not finished within `seconds` (0: no limit).
        Raises `SaveTimeoutError` from the block's error when the deadline cut it."""
        if seconds <= 0:
            yield
            return
        guard = _Guard(time.monotonic() + seconds, next(self._serials), conn.pgconn.socket)
        with self._wake:
            heapq.heappush(self._guards, guard)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="save-deadline", daemon=True)
                self._thread.start()
            elif self._guards[0] is guard:
                self._wake.notify()
        try:
            yield
        except Exception as error:
            if guard.fired:
                raise SaveTimeoutError(
                    f"the save did not finish within {seconds:g} s and was abandoned; "
                    "the database rolled it back"
                ) from error
            raise
        finally:
            # However the block ends (KeyboardInterrupt, SystemExit included), before the
            # connection goes back to the pool: a later cut must never reach another request.
            with self._wake:
                guard.done = True

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._guards and self._guards[0].done:
                    heapq.heappop(self._guards)
                if not self._guards:
                    self._wake.wait()
                    continue
                earliest = self._guards[0]
                remaining = earliest.deadline - time.monotonic()
                if remaining > 0:
                    self._wake.wait(remaining)
                    continue
                heapq.heappop(self._guards)
                # Cut under the lock: a save that is done has given its connection back to the
                # pool, and another request may hold it now.
                earliest.fired = True
                _shut_down(earliest.fd)
            log.warning("a save outlived its deadline; its connection was cut")


def _shut_down(fd: int) -> None:
    try:
        duplicate = socket.socket(fileno=os.dup(fd))
    except OSError:  # closed meanwhile: nothing left to cut
        return
    try:
        duplicate.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        duplicate.close()


# The process's one watchdog.
WATCHDOG = Watchdog()
