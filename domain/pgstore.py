"""Every write that rides in the event store's own transaction, in one place.

`LedgerRecorder` is the library's PostgreSQL application recorder (default mode: an EXCLUSIVE
table lock per save, so commit order equals position order) plus the extra tables that must
commit or roll back together with the events. `Ledger.save(..., **kwargs)` passes its keyword
arguments through to `_insert_events`, which is where each extra record is written.

Same-transaction records (each owned by one concern; keep them all in this module):
- the as-of index (history): project, version, occurred_at — finds the version for an instant.

Reads of the past that need the events' positions (a project's history) are here too, since
only this module knows the events table's layout.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import OperationalError as StoreOperationalError
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg import Cursor
from psycopg import errors as psycopg_errors
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

# The topic the event store's factory resolves to build this recorder.
RECORDER_TOPIC = "domain.pgstore:LedgerRecorder"

# (project id, version, occurred_at) of each event being saved.
TimelineEntry = tuple[UUID, int, datetime]


# How often a call whose pipeline was aborted is tried again (see `_without_retry`).
PIPELINE_ATTEMPTS = 3


def _without_retry(method: Callable[..., Any]) -> Callable[..., Any]:
    """The library's method without its retry decorator, but for an aborted pipeline.

    A version clash can surface as `PipelineAborted` (an OperationalError) from a statement
    after the failed insert, rather than as the insert's IntegrityError; tried again, it
    surfaces as the IntegrityError the ledger retries on fresh state.
    """
    once = inspect.unwrap(method)

    @functools.wraps(once)
    def call(*args: Any, **kwargs: Any) -> Any:
        for attempt in range(1, PIPELINE_ATTEMPTS + 1):
            try:
                return once(*args, **kwargs)
            except StoreOperationalError as error:
                if attempt == PIPELINE_ATTEMPTS or not isinstance(
                    error.__cause__, psycopg_errors.PipelineAborted
                ):
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    return call


class LedgerRecorder(PostgresApplicationRecorder):
    # One attempt each, not the library's 10 attempts 0.2 s apart (each waiting up to the pool
    # timeout for a connection): with the database down a request must answer 503 within the
    # pool timeout, not hang for 20 s. Pre-ping already replaces a stale pooled connection,
    # the API's clients retry on 503 (Retry-After) and the runner retries with back-off.
    insert_events = _without_retry(PostgresApplicationRecorder.insert_events)
    select_events = _without_retry(PostgresApplicationRecorder.select_events)
    select_notifications = _without_retry(PostgresApplicationRecorder.select_notifications)
    max_notification_id = _without_retry(PostgresApplicationRecorder.max_notification_id)

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        self.timeline_table = f"{events_table_name}_timeline"
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {schema}.{table} ("
                "project_id uuid NOT NULL, "
                "version bigint NOT NULL, "
                "occurred_at timestamptz NOT NULL, "
                "PRIMARY KEY (project_id, version))"
            ).format(
                schema=Identifier(self.datastore.schema), table=Identifier(self.timeline_table)
            )
        )
        self.sql_create_statements.append(
            SQL(
                "CREATE INDEX IF NOT EXISTS {index} ON {schema}.{table} (project_id, occurred_at)"
            ).format(
                index=Identifier(f"{self.timeline_table}_at_idx"),
                schema=Identifier(self.datastore.schema),
                table=Identifier(self.timeline_table),
            )
        )
        self._insert_timeline = SQL(
            "INSERT INTO {schema}.{table} (project_id, version, occurred_at) "
            "SELECT * FROM unnest(%s::uuid[], %s::bigint[], %s::timestamptz[])"
        ).format(schema=Identifier(self.datastore.schema), table=Identifier(self.timeline_table))
        self._select_version_at = SQL(
            "SELECT max(version) AS version FROM {schema}.{table} "
            "WHERE project_id = %s AND occurred_at <= %s"
        ).format(schema=Identifier(self.datastore.schema), table=Identifier(self.timeline_table))

        # History (read side): the primary key (originator_id, originator_version) serves it.
        self._select_project_events = SQL(
            "SELECT originator_id, originator_version, topic, state, notification_id "
            "FROM {schema}.{table} WHERE originator_id = %s AND originator_version > %s "
            "ORDER BY originator_version LIMIT %s"
        ).format(schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name))

    def _insert_stored_events(
        self,
        curs: Cursor[DictRow],
        stored_events: Sequence[StoredEvent],
        **kwargs: Any,
    ) -> None:
        # The events go first: a version clash must surface as the events' IntegrityError (which
        # the ledger retries), not as a failure of a later record in the same pipeline.
        super()._insert_stored_events(curs, stored_events, **kwargs)
        # Another cursor, so the library still reads the events' notification ids from `curs`.
        with curs.connection.cursor() as extra:
            self._insert_same_transaction_records(extra, **kwargs)

    def _insert_same_transaction_records(self, curs: Cursor[DictRow], **kwargs: Any) -> None:
        timeline: Sequence[TimelineEntry] = kwargs.get("timeline", ())
        if timeline:
            # Never prepared: after a version clash the rest of the pipeline is aborted, and
            # psycopg would then believe in a prepared statement the server never made.
            curs.execute(
                self._insert_timeline,
                ([t[0] for t in timeline], [t[1] for t in timeline], [t[2] for t in timeline]),
                prepare=False,
            )

    def select_project_events(
        self, project_id: UUID, *, after_version: int = 0, limit: int = 1000
    ) -> list[tuple[StoredEvent, int]]:
        """The project's stored events after `after_version`, in version order, each with its
        global position (notification id): what a history shows, in one indexed read."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(
                self._select_project_events, (project_id, after_version, limit), prepare=False
            )
            return [
                (
                    StoredEvent(
                        originator_id=row["originator_id"],
                        originator_version=row["originator_version"],
                        topic=row["topic"],
                        state=bytes(row["state"]),
                    ),
                    row["notification_id"],
                )
                for row in curs.fetchall()
            ]

    def version_at(self, project_id: UUID, instant: datetime) -> int | None:
        """The project's last version recorded at or before `instant` (None: did not exist)."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._select_version_at, (project_id, instant))
            row = curs.fetchone()
            return None if row is None else row["version"]
