"""What the application needs from storage beyond the event store library's recorder: the ports.

`adapters.postgres` implements them on PostgreSQL, `adapters.memory` in memory (for application
tests that run in milliseconds); the composition root (`api.bootstrap`) picks one.

Records that must commit or roll back with a command's events travel as keyword arguments of
`Application.save` to the recorder's `insert_events`, which writes them in the same transaction:
- `as_of`: one `AsOfEntry` per event, the as-of index that finds a project's version at an
  instant (`GET /v1/projects/{pid}?as_of=`);
- `answers`: one `PendingAnswer` per command saved with an `Idempotency-Key`; the store completes
  its result with the position of the command's last event, known only once they are inserted.
  Kept answers are a cache, not the record: they expire (`ANSWERS_KEPT_FOR`) and are pruned.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable
from uuid import UUID

from eventsourcing.persistence import Notification, StoredEvent

from application.access import Principal
from application.results import AnswerKey, CommandResult, KeptAnswer
from domain.chain import RawRow
from domain.entities import ArtifactRef


@dataclass(frozen=True)
class CorrelationEntry:
    """One event and the correlation id of the request that caused it."""

    project_id: UUID
    version: int
    correlation_id: str


@dataclass(frozen=True)
class AsOfEntry:
    """One event in the as-of index: its project, version and when it was recorded."""

    project_id: UUID
    version: int
    occurred_at: datetime


@dataclass(frozen=True)
class PendingAnswer:
    """A command's result to keep under its key; `events` is how many of the saved events are
    its own (a group commit saves several commands' events, in order)."""

    key: AnswerKey
    result: CommandResult
    events: int
    before: int = 0  # how many events of the transaction precede this command's


def share_of(project_id: UUID, shares: int) -> int:
    """Which of `shares` shares of the projects a project falls in: its id's last byte modulo
    `shares` (random in a uuid4; PostgreSQL computes the same, see `LedgerStore.read_share`)."""
    return project_id.bytes[15] % shares


@runtime_checkable
class LedgerStore(Protocol):
    """The ledger's event store: the library's application recorder plus these reads and the
    same-transaction records described above."""

    def version_at(
        self, project_id: UUID, instant: datetime
    ) -> tuple[int | None, list[StoredEvent]]:
        """The as-of index's answer: the project's last version recorded at or before `instant`
        (None: none yet), with the stored events that can bear it out, in one read: those at that
        version and the next (for None, the project's first)."""

    def select_project_events(
        self, project_id: UUID, *, after_version: int = 0, limit: int = 1000
    ) -> list[tuple[StoredEvent, int]]:
        """The project's events after `after_version` in version order, with their positions."""

    def select_project_history(
        self, project_id: UUID, *, after_version: int = 0, limit: int = 1000
    ) -> list[tuple[StoredEvent, int, str | None]]:
        """`select_project_events`, each with its correlation id (None: none kept), in one
        read."""

    def read_page(self, after: int, limit: int) -> Sequence[Notification]:
        """At most `limit` notifications after position `after`, in position order."""

    def read_page_of(
        self, projects: Collection[UUID], after: int, limit: int, until: int | None = None
    ) -> Sequence[Notification]:
        """`read_page` of the events of `projects` only (at or below `until` when given)."""

    def read_share(
        self, after: int, until: int, limit: int, share: int, shares: int
    ) -> Sequence[Notification]:
        """`read_page` of one share of the projects, at or below `until`: those whose id's
        last byte modulo `shares` is `share` (`share_of`), so that processes
        rebuilding a view together never write the same project's rows."""

    def read_correlated(
        self,
        correlation_id: str,
        after: int,
        limit: int,
        projects: Collection[UUID] | None = None,
        until: int | None = None,
    ) -> Sequence[Notification]:
        """`read_page` of the events one request caused (of `projects`, at or below `until`,
        when given)."""

    def correlation_ids(self, events: Sequence[tuple[UUID, int]]) -> dict[tuple[UUID, int], str]:
        """The correlation ids of these events (project, version) that have one."""

    def stored_rows(self) -> Iterator[RawRow]:
        """Every stored event encoded as the hash chain hashes it (`domain.chain.encode_row`),
        with its stored chain hash, in position order (for the chain's check)."""

    def find_answer(self, principal: str, key: str) -> KeptAnswer | None:
        """The answer kept under this principal's key within `ANSWERS_KEPT_FOR`, if any; one
        kept longer ago is forgotten here and then (the key is free again)."""

    def keep_answer(self, answer: KeptAnswer) -> None:
        """Keep an answer that wrote no event (a refusal, a no-op), in its own transaction."""

    def prune_answers(self) -> int:
        """Forget every answer kept longer ago than `ANSWERS_KEPT_FOR`; how many were."""

    def answer_lock(self, principal: str, key: str) -> AbstractContextManager[None]:
        """Hold (principal, key) so that a retry waits for the first request, in every process."""


class ArtifactCatalog(Protocol):
    """The files a project keeps by content (artifacts): evidence may name one by its digest."""

    def describe(self, project_id: UUID, sha256: str) -> ArtifactRef | None: ...


class PrincipalDirectory(Protocol):
    """The principals a command may name (a new member must exist)."""

    def get(self, name: str) -> Principal | None: ...
