"""The ledger's store in memory: the library's plain-Python recorder with the same ports as the
PostgreSQL one (`application.ports.LedgerStore`), so the application's tests run in
milliseconds without a database and the same tests run again on PostgreSQL.

Its "transaction" is the recorder's lock: the as-of index and the answers kept under an
Idempotency-Key are written under it together with the events, or not at all; answers expire
as PostgreSQL's do (`ANSWERS_KEPT_FOR`, by its own clock). There is no hash chain (that is
PostgreSQL's trigger) and no NOTIFY.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    ApplicationRecorder,
    IntegrityError,
    Notification,
    StoredEvent,
)
from eventsourcing.popo import POPOApplicationRecorder, POPOFactory

from application.ports import AsOfEntry, CorrelationEntry, PendingAnswer, share_of
from application.results import ANSWERS_KEPT_FOR, KeptAnswer
from domain.chain import RawRow

# For the event store's PERSISTENCE_MODULE.
FACTORY_TOPIC = "adapters.memory:MemoryFactory"


def _utc_now() -> datetime:
    return datetime.now(UTC)


class MemoryLedgerRecorder(POPOApplicationRecorder):
    def __init__(self, clock: Callable[[], datetime] = _utc_now) -> None:
        super().__init__()
        self.clock = clock  # when an answer is kept, and when it expires
        self._as_of: dict[UUID, list[tuple[datetime, int]]] = {}
        self._correlations: dict[tuple[UUID, int], str] = {}
        self._answers: dict[tuple[str, str], tuple[KeptAnswer, datetime]] = {}
        self._key_locks: dict[tuple[str, str], threading.Lock] = {}
        self._key_locks_lock = threading.Lock()

    def _update_table(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int]:
        # Called under the recorder's lock once the events are known to be unique.
        answers: Sequence[PendingAnswer] = kwargs.get("answers", ())
        for pending in answers:
            if (pending.key.principal, pending.key.key) in self._answers:
                # As PostgreSQL's primary key would: nothing of the transaction is written.
                raise IntegrityError(f"an answer is kept under {pending.key.key!r} already")
        positions = list(super()._update_table(stored_events, **kwargs) or ())
        entries: Sequence[AsOfEntry] = kwargs.get("as_of", ())
        for entry in entries:
            self._as_of.setdefault(entry.project_id, []).append((entry.occurred_at, entry.version))
        correlations: Sequence[CorrelationEntry] = kwargs.get("correlations", ())
        for correlated in correlations:
            key = (correlated.project_id, correlated.version)
            self._correlations[key] = correlated.correlation_id
        for pending in answers:
            end = pending.before + pending.events
            result = replace(pending.result, position=positions[end - 1])
            self._keep(KeptAnswer(pending.key, result=result))
        return positions

    def version_at(
        self, project_id: UUID, instant: datetime
    ) -> tuple[int | None, list[StoredEvent]]:
        with self._database_lock:
            versions = [v for at, v in self._as_of.get(project_id, []) if at <= instant]
        version = max(versions, default=None)
        around = (1,) if version is None else (version, version + 1)
        events = self.select_project_events(project_id, after_version=around[0] - 1, limit=2)
        return version, [stored for stored, _ in events if stored.originator_version in around]

    def select_project_events(
        self, project_id: UUID, *, after_version: int = 0, limit: int = 1000
    ) -> list[tuple[StoredEvent, int]]:
        with self._database_lock:
            index = self._stored_events_index[str(project_id)]
            versions = sorted(v for v in index if v > after_version)[:limit]
            # A notification's position is its place in the log, counted from 1.
            return [(self._stored_events[index[v]], index[v] + 1) for v in versions]

    def select_project_history(
        self, project_id: UUID, *, after_version: int = 0, limit: int = 1000
    ) -> list[tuple[StoredEvent, int, str | None]]:
        rows = self.select_project_events(project_id, after_version=after_version, limit=limit)
        with self._database_lock:
            return [
                (stored, position, self._correlations.get((project_id, stored.originator_version)))
                for stored, position in rows
            ]

    def read_page(self, after: int, limit: int) -> Sequence[Notification]:
        return self.select_notifications(start=after + 1, limit=limit)

    def read_page_of(
        self, projects: Collection[UUID], after: int, limit: int, until: int | None = None
    ) -> Sequence[Notification]:
        wanted = set(projects)
        found: list[Notification] = []
        while len(found) < limit:
            page = self.select_notifications(start=after + 1, limit=1000, stop=until)
            found += [n for n in page if n.originator_id in wanted]
            if len(page) < 1000:
                break
            after = page[-1].id
        return found[:limit]

    def read_share(
        self, after: int, until: int, limit: int, share: int, shares: int
    ) -> Sequence[Notification]:
        found: list[Notification] = []
        while len(found) < limit:
            page = self.select_notifications(start=after + 1, limit=1000, stop=until)
            found += [n for n in page if share_of(UUID(str(n.originator_id)), shares) == share]
            if len(page) < 1000:
                break
            after = page[-1].id
        return found[:limit]

    def read_correlated(
        self,
        correlation_id: str,
        after: int,
        limit: int,
        projects: Collection[UUID] | None = None,
        until: int | None = None,
    ) -> Sequence[Notification]:
        with self._database_lock:
            keys = {k for k, c in self._correlations.items() if c == correlation_id}
        found = [
            n
            for n in self.select_notifications(start=after + 1, limit=2**31, stop=until)
            if (n.originator_id, n.originator_version) in keys
            and (projects is None or n.originator_id in projects)
        ]
        return found[:limit]

    def correlation_ids(self, events: Sequence[tuple[UUID, int]]) -> dict[tuple[UUID, int], str]:
        with self._database_lock:
            return {k: self._correlations[k] for k in events if k in self._correlations}

    def stored_rows(self) -> Iterator[RawRow]:
        """The memory store keeps no hash chain: there is nothing to verify."""
        raise NotImplementedError("the hash chain is kept by PostgreSQL only")

    def find_answer(self, principal: str, key: str) -> KeptAnswer | None:
        with self._database_lock:
            kept = self._answers.get((principal, key))
            if kept is None:
                return None
            answer, kept_at = kept
            if kept_at <= self.clock() - ANSWERS_KEPT_FOR:
                del self._answers[(principal, key)]
                return None
            return answer

    def keep_answer(self, answer: KeptAnswer) -> None:
        with self._database_lock:
            self._keep(answer)

    def prune_answers(self) -> int:
        with self._database_lock:
            expired = self.clock() - ANSWERS_KEPT_FOR
            names = [name for name, (_, at) in self._answers.items() if at <= expired]
            for name in names:
                del self._answers[name]
            return len(names)

    def _keep(self, answer: KeptAnswer) -> None:
        name = (answer.key.principal, answer.key.key)
        if name in self._answers:
            raise KeyError(f"an answer is kept under {name} already")
        self._answers[name] = (answer, self.clock())

    @contextmanager
    def answer_lock(self, principal: str, key: str) -> Iterator[None]:
        with self._key_locks_lock:
            lock = self._key_locks.setdefault((principal, key), threading.Lock())
        with lock:
            yield


class MemoryFactory(POPOFactory):
    """The library's plain-Python factory, with the ledger's recorder."""

    def application_recorder(self) -> ApplicationRecorder:
        return MemoryLedgerRecorder()
