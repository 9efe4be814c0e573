"""Group commit: the events of concurrent commands saved in one transaction, each with its own fate.

Every save takes the event table's EXCLUSIVE ordering lock until its commit, so saves run one at
a time, and each pays a lock, a few round trips and a durable commit. Here a save that arrives
while another is in flight waits in a queue; the thread that finishes a transaction hands the
lead to the oldest waiting save, which then writes every queued command's events (one per
project) in one transaction: one lock, one commit, for all of them. Alone, a command goes
straight through, so nothing waits when the service is idle.

Each command still gets its own answer: its own positions, or its own error. If the shared
transaction fails on a version clash (another process wrote one of the projects), every command
of the batch is saved again alone, so only the clashing one fails and is retried by the ledger.
The ordering guarantee is untouched: a batch is one transaction under the same lock, so commit
order is still position order.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.persistence import IntegrityError, Recording

# The most commands one transaction carries; a bound on how long the lock is held.
MAX_BATCH = 64


@dataclass(eq=False)
class Pending:
    """One command's save: its project's id, its collected events and its recorder kwargs."""

    project_id: object
    aggregate: Any
    events: Sequence[Any]
    kwargs: dict[str, Any]
    done: threading.Event = field(default_factory=threading.Event)
    recordings: list[Recording[Any]] | None = None
    error: BaseException | None = None
    lead: bool = False  # woken to lead the next batch rather than with a result
    alone: bool = False  # the shared transaction failed: save again on its own


# Writes the events of the given saves in one transaction and returns their recordings, in order.
RecordBatch = Callable[[Sequence[Pending]], list[Recording[Any]]]


class GroupCommit:
    """Batches saves that arrive while another is being written (see the module's docstring)."""

    def __init__(self, record: RecordBatch, *, max_batch: int = MAX_BATCH) -> None:
        self._record = record
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: list[Pending] = []
        self._leading = False

    @property
    def queued(self) -> int:
        """How many saves wait for a transaction right now."""
        with self._lock:
            return len(self._queue)

    def save(self, pending: Pending) -> list[Recording[Any]]:
        """Save one command's events, together with whatever else is queued; its recordings."""
        with self._lock:
            self._queue.append(pending)
            follow = self._leading
            self._leading = True
        if follow:
            pending.done.wait()
            if pending.lead:
                pending.done.clear()
                self._lead()
        else:
            self._lead()
        if pending.alone:
            return self._record([pending])
        if pending.error is not None:
            raise pending.error
        assert pending.recordings is not None
        return pending.recordings

    def _lead(self) -> None:
        """Write one batch (which holds this thread's own save), then pass the lead on."""
        try:
            with self._lock:
                batch = self._take()
            self._write(batch)
        finally:
            with self._lock:
                if self._queue:
                    successor = self._queue[0]
                    successor.lead = True
                    successor.done.set()
                else:
                    self._leading = False

    def _take(self) -> list[Pending]:
        """The oldest queued saves, at most one per project (two would clash for sure)."""
        batch: list[Pending] = []
        seen: set[object] = set()
        for pending in self._queue:
            if len(batch) == self._max_batch:
                break
            if pending.project_id not in seen:
                seen.add(pending.project_id)
                batch.append(pending)
        taken = set(map(id, batch))
        self._queue = [p for p in self._queue if id(p) not in taken]
        return batch

    def _write(self, batch: list[Pending]) -> None:
        try:
            recordings = self._record(batch)
        except IntegrityError as error:
            for pending in batch:
                if len(batch) == 1:
                    pending.error = error
                else:
                    pending.alone = True
        except Exception as error:
            for pending in batch:
                pending.error = error
        else:
            start = 0
            for pending in batch:
                end = start + len(pending.events)
                pending.recordings = recordings[start:end]
                start = end
        finally:
            for pending in batch:
                if pending.recordings is None and pending.error is None and not pending.alone:
                    pending.error = RuntimeError("the group commit was interrupted")
                pending.lead = False
                pending.done.set()
