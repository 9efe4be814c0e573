"""The event store's recorder on PostgreSQL, and every write that rides in its transaction.

`LedgerRecorder` is the library's PostgreSQL application recorder (default mode: an EXCLUSIVE
table lock per save, so commit order equals position order) plus the records that must commit
or roll back together with the events (see `application.ports`): the as-of index
(`adapters.postgres.asof`) and the answers kept under an Idempotency-Key by commands that wrote
events (`adapters.postgres.answers`: a cache that expires, outside the append-only record).
and the correlation ids of the request that caused each event (`adapters.postgres.correlation`).
`Ledger.save(..., **kwargs)` passes them through to `_insert_events`, which writes them after
the events.

The chain hash that seals each event is set by a trigger (`adapters.postgres.integrity`); the
application role may not take the ordering lock itself, so `_lock_table` calls the owner's
SECURITY DEFINER function that does.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from adapters.postgres.answers import AnswerTable
from adapters.postgres.asof import AsOfIndex, AsOfRecord
from adapters.postgres.correlation import CorrelationIndex
from adapters.postgres.deadline import WATCHDOG
from adapters.postgres.integrity import lock_function
from adapters.postgres.log import LogReads
from adapters.postgres.retry import without_retry
from application.ports import AsOfEntry, CorrelationEntry, PendingAnswer
from application.results import KeptAnswer
from domain.chain import RawRow

# The topic the event store's factory resolves to build this recorder.
RECORDER_TOPIC = "adapters.postgres.recorder:LedgerRecorder"


class LedgerRecorder(PostgresApplicationRecorder):
    # How long a save may take before its connection is cut (adapters.postgres.deadline);
    # 0: no limit. The factory sets it from SAVE_TIMEOUT.
    save_timeout: float = 0.0

    # One attempt each (see adapters.postgres.retry).
    select_events = without_retry(PostgresApplicationRecorder.select_events)
    select_notifications = without_retry(PostgresApplicationRecorder.select_notifications)
    max_notification_id = without_retry(PostgresApplicationRecorder.max_notification_id)

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        schema = self.datastore.schema
        # The application role has only SELECT and INSERT on the events, which PostgreSQL does
        # not let take an EXCLUSIVE lock: the owner's SECURITY DEFINER function takes it for us
        # (the lock belongs to the transaction, whoever took it).
        self.lock_table_statements[-1] = SQL("SELECT {}.{}()").format(
            Identifier(schema), Identifier(lock_function(events_table_name))
        )
        self.as_of = AsOfIndex(schema, events_table_name)
        self.answers = AnswerTable(schema)
        self.log = LogReads(schema, events_table_name)
        self.correlations = CorrelationIndex(schema, events_table_name)

    @without_retry
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """The library's save (default mode: its pipeline, one transaction, the ordering lock
        taken first), within the save's deadline."""
        exc: Exception | None = None
        notification_ids: Sequence[int] | None = None
        with (
            self.datastore.get_connection() as conn,
            WATCHDOG.guard(conn, self.save_timeout),
        ):
            with conn.pipeline() as pipeline, conn.transaction():
                with conn.cursor() as curs:
                    self._insert_events(curs, stored_events, **kwargs)
                if len(stored_events) > 0:
                    with conn.cursor() as curs:
                        try:
                            self._insert_stored_events(curs, stored_events, **kwargs)
                            # Sync now, so a version clash raises IntegrityError here.
                            pipeline.sync()
                            notification_ids = self._fetch_ids_after_insert_events(
                                curs, stored_events, **kwargs
                            )
                        except Exception as e:
                            # Raised after the pipeline's exit, as the library does, so that
                            # psycopg does not warn about an unfinished pipeline.
                            exc = e
            if exc:
                raise exc
        return notification_ids

    @property
    def timeline_table(self) -> str:
        return self.as_of.table

    @property
    def answers_table(self) -> str:
        return self.answers.table

    # --- same-transaction records ------------------------------------------------------------

    def _insert_stored_events(
        self,
        curs: Cursor[DictRow],
        stored_events: Sequence[StoredEvent],
        **kwargs: Any,
    ) -> None:
        # The events go first: a version clash must surface as the events' IntegrityError (which
        # the ledger retries), not as a failure of a later record in the same pipeline.
        super()._insert_stored_events(curs, stored_events, **kwargs)
        as_of: Sequence[AsOfEntry] = kwargs.get("as_of", ())
        correlations: Sequence[CorrelationEntry] = kwargs.get("correlations", ())
        if as_of or correlations:
            # Another cursor, so the library still reads the events' notification ids from `curs`.
            with curs.connection.cursor() as extra:
                self.as_of.insert(extra, as_of)
                self.correlations.insert(extra, correlations)

    def _fetch_ids_after_insert_events(
        self,
        curs: Cursor[DictRow],
        stored_events: Sequence[StoredEvent],
        **kwargs: Any,
    ) -> Sequence[int] | None:
        ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        # An answer names the position of its command's last event, known only now; it commits
        # or rolls back with the events, so a retry finds it exactly when the events exist.
        answers: Sequence[PendingAnswer] = kwargs.get("answers", ())
        if answers and ids:
            with curs.connection.cursor() as extra:
                self.answers.insert_with_events(extra, answers, ids)
        return ids

    # --- the ports of application.ports.LedgerStore -----------------------------------------

    def version_at(
        self, project_id: UUID, instant: datetime
    ) -> tuple[int | None, list[StoredEvent]]:
        with self.datastore.get_connection() as conn:
            return self.as_of.version_at(conn, project_id, instant)

    def select_project_events(
        self, project_id: UUID, *, after_version: int = 0, limit: int = 1000
    ) -> list[tuple[StoredEvent, int]]:
        with self.datastore.get_connection() as conn:
            return self.log.project_events(conn, project_id, after_version, limit)

    def select_project_history(
        self, project_id: UUID, *, after_version: int = 0, limit: int = 1000
    ) -> list[tuple[StoredEvent, int, str | None]]:
        with self.datastore.get_connection() as conn:
            return self.correlations.project_events(conn, project_id, after_version, limit)

    def read_page(self, after: int, limit: int) -> list[Notification]:
        with self.datastore.get_connection() as conn:
            return self.log.read_page(conn, after, limit)

    def read_share(
        self, after: int, until: int, limit: int, share: int, shares: int
    ) -> list[Notification]:
        with self.datastore.get_connection() as conn:
            return self.log.read_share(conn, after, until, limit, share, shares)

    def read_correlated(
        self,
        correlation_id: str,
        after: int,
        limit: int,
        projects: Collection[UUID] | None = None,
        until: int | None = None,
    ) -> list[Notification]:
        with self.datastore.get_connection() as conn:
            return self.correlations.events(conn, correlation_id, after, limit, projects, until)

    def correlation_ids(self, events: Sequence[tuple[UUID, int]]) -> dict[tuple[UUID, int], str]:
        with self.datastore.get_connection() as conn:
            return self.correlations.ids(conn, events)

    def read_page_of(
        self, projects: Collection[UUID], after: int, limit: int, until: int | None = None
    ) -> list[Notification]:
        with self.datastore.get_connection() as conn:
            return self.log.read_page_of(conn, projects, after, limit, until)

    def stored_rows(self) -> Iterator[RawRow]:
        with self.datastore.get_connection() as conn:
            yield from self.log.stored_rows(conn)

    def unconfirmed_as_of(self) -> Iterator[AsOfRecord]:
        """The as-of index rows the database did not confirm, beside their events."""
        with self.datastore.get_connection() as conn:
            yield from self.as_of.unconfirmed(conn)

    def find_answer(self, principal: str, key: str) -> KeptAnswer | None:
        with self.datastore.get_connection() as conn:
            return self.answers.find(conn, principal, key)

    def keep_answer(self, answer: KeptAnswer) -> None:
        with self.datastore.get_connection() as conn:
            self.answers.keep(conn, answer)

    def prune_answers(self) -> int:
        with self.datastore.get_connection() as conn:
            return self.answers.prune(conn)

    def answer_lock(self, principal: str, key: str) -> AbstractContextManager[None]:
        return self._answer_lock(principal, key)

    @contextmanager
    def _answer_lock(self, principal: str, key: str) -> Iterator[None]:
        with (
            self.datastore.get_connection() as conn,
            self.answers.lock(conn, principal, key),
        ):
            yield
