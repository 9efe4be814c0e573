"""Every write that rides in the event store's own transaction, in one place.

`LedgerRecorder` is the library's PostgreSQL application recorder (default mode: an EXCLUSIVE
table lock per save, so commit order equals position order) plus the extra tables that must
commit or roll back together with the events. `Ledger.save(..., **kwargs)` passes its keyword
arguments through to `_insert_events`, which is where each extra record is written.

Same-transaction records (each owned by one concern; keep them all in this module):
- the as-of index (history): project, version, occurred_at — finds the version for an instant.
- idempotency records (trust): principal, key, request hash and the response, written once the
  events' positions are known (`_fetch_ids_after_insert_events`), so a retried command replays.

The chain hash that seals each event is set by a trigger (`adapters.postgres.integrity`); the
application role may not take the ordering lock itself, so `_lock_table` calls the owner's
SECURITY DEFINER function that does. `LedgerFactory` makes every connection of the library's
pool act as a role (`SET ROLE` through libpq's startup options).

Reads of the past that need the events' positions (a project's history) are here too, since
only this module knows the events table's layout.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import re
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from eventsourcing.persistence import Notification, StoredEvent
from eventsourcing.persistence import OperationalError as StoreOperationalError
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore, PostgresFactory
from eventsourcing.utils import Environment, EnvType
from psycopg import Cursor, pq
from psycopg import errors as psycopg_errors
from psycopg.abc import Buffer
from psycopg.adapt import Loader
from psycopg.rows import DictRow, tuple_row
from psycopg.sql import SQL, Identifier
from psycopg_pool import ConnectionPool

from adapters.postgres.integrity import lock_function
from domain.chain import RawRow

# The topic the event store's factory resolves to build this recorder.
RECORDER_TOPIC = "adapters.postgres.recorder:LedgerRecorder"

# (project id, version, occurred_at) of each event being saved.
TimelineEntry = tuple[UUID, int, datetime]


# How often a call whose pipeline was aborted is tried (see `_without_retry`), as the library
# would, with a short pause that grows, so that the clash's winner has committed.
PIPELINE_ATTEMPTS = 10
PIPELINE_PAUSE = 0.01


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
                time.sleep(PIPELINE_PAUSE * attempt)
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
        self._init_trust()
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

        self._select_page = SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state "
            "FROM {schema}.{table} WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
        ).format(schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name))

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

    def read_page(self, after: int, limit: int) -> list[Notification]:
        """The notifications after position `after`, in order, at most `limit`: what
        `select_notifications` answers, read in binary with only the columns it needs (about
        half its cost per event, which a rebuild pays for the whole log)."""
        with (
            self.datastore.get_connection() as conn,
            conn.cursor(row_factory=tuple_row, binary=True) as curs,
        ):
            curs.execute(self._select_page, (after, limit))
            return [
                Notification(
                    id=row[0],
                    originator_id=row[1],
                    originator_version=row[2],
                    topic=row[3],
                    state=bytes(row[4]),
                )
                for row in curs.fetchall()
            ]

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

    # --- trust: the ordering lock, idempotency records, the raw rows for the chain check ----

    def _init_trust(self) -> None:
        schema = Identifier(self.datastore.schema)
        # The application role has only SELECT and INSERT on the events, which PostgreSQL does
        # not let take an EXCLUSIVE lock: the owner's SECURITY DEFINER function takes it for us
        # (the lock belongs to the transaction, whoever took it).
        self.lock_table_statements[-1] = SQL("SELECT {}.{}()").format(
            schema, Identifier(lock_function(self.events_table_name))
        )
        self.idempotency_table = f"{self.events_table_name}_idempotency"
        table = SQL("{}.{}").format(schema, Identifier(self.idempotency_table))
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {table} ("
                "principal text NOT NULL, "
                "key text NOT NULL, "
                "request_hash bytea NOT NULL, "
                "status smallint NOT NULL, "
                "headers jsonb NOT NULL, "
                "body bytea NOT NULL, "
                "position bigint, "
                "created_at timestamptz NOT NULL DEFAULT now(), "
                "PRIMARY KEY (principal, key))"
            ).format(table=table)
        )
        self._insert_idempotency = SQL(
            "INSERT INTO {table} (principal, key, request_hash, status, headers, body, position) "
            "VALUES (%s, %s, %s, %s, %s::jsonb, %s, %s)"
        ).format(table=table)
        self._select_idempotency = SQL(
            "SELECT request_hash, status, headers, body, position FROM {table} "
            "WHERE principal = %s AND key = %s"
        ).format(table=table)
        self._select_stored_rows = SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state, chain_hash "
            "FROM {schema}.{table} ORDER BY notification_id"
        ).format(schema=schema, table=Identifier(self.events_table_name))

    def _fetch_ids_after_insert_events(
        self,
        curs: Cursor[DictRow],
        stored_events: Sequence[StoredEvent],
        **kwargs: Any,
    ) -> Sequence[int] | None:
        ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        # The response names the position of the last event, known only now; the record commits
        # or rolls back with the events, so a retry finds it exactly when the events exist.
        seal: Callable[[int], IdempotencyRecord] | None = kwargs.get("idempotency")
        if seal is not None and ids:
            record = seal(ids[-1])
            with curs.connection.cursor() as extra:
                self._write_idempotency(extra, record)
        # A group commit (application.groupcommit): several commands' events, contiguous, in order;
        # each command's receipt (if any) names the position of its own last event.
        batch: Sequence[tuple[int, Callable[[int], IdempotencyRecord] | None]]
        batch = kwargs.get("idempotency_batch", ())
        if batch and ids:
            end = 0
            with curs.connection.cursor() as extra:
                for count, command_seal in batch:
                    end += count
                    if command_seal is not None:
                        self._write_idempotency(extra, command_seal(ids[end - 1]))
        return ids

    def _write_idempotency(self, curs: Cursor[DictRow], record: IdempotencyRecord) -> None:
        curs.execute(
            self._insert_idempotency,
            (
                record.principal,
                record.key,
                record.request_hash,
                record.status,
                json.dumps(record.headers),
                record.body,
                record.position,
            ),
            prepare=False,
        )

    def store_response(self, record: IdempotencyRecord) -> None:
        """Keep a response that wrote no event (a refusal, a no-op), in its own transaction."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            self._write_idempotency(curs, record)

    def find_response(self, principal: str, key: str) -> IdempotencyRecord | None:
        """The response kept for this principal's key, if any."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._select_idempotency, (principal, key))
            row = curs.fetchone()
        if row is None:
            return None
        return IdempotencyRecord(
            principal=principal,
            key=key,
            request_hash=bytes(row["request_hash"]),
            status=row["status"],
            headers=dict(row["headers"]),
            body=bytes(row["body"]),
            position=row["position"],
        )

    @contextmanager
    def idempotency_lock(self, principal: str, key: str) -> Iterator[None]:
        """Hold a session advisory lock on (principal, key) across processes."""
        digest = hashlib.sha256(f"idempotency\0{principal}\0{key}".encode()).digest()
        lock_id = int.from_bytes(digest[:8], "big", signed=True)
        with self.datastore.get_connection() as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (lock_id,))
            try:
                yield
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (lock_id,))

    def stored_rows(self, *, batch: int = 10_000) -> Iterator[RawRow]:
        """Every stored event as raw columns, in position order, through a server-side cursor
        (constant memory), binary so the stored bytes arrive undecoded; plain tuples in
        `StoredRow`'s field order (a named tuple per row cost ~10 % of a verification)."""
        with (
            self.datastore.get_connection() as conn,
            conn.transaction(),
            conn.cursor(name="stored_rows", row_factory=tuple_row, binary=True) as cursor,
        ):
            # The chain hashes bytes: the ids and topics stay bytes (no UUID or str per row).
            cursor.adapters.register_loader("uuid", _RawBinaryLoader)
            cursor.adapters.register_loader("text", _RawBinaryLoader)
            cursor.itersize = batch
            cursor.execute(self._select_stored_rows)
            yield from cast(Iterator[RawRow], cursor)


class _RawBinaryLoader(Loader):
    """A column's binary wire bytes as they are (a uuid's 16 bytes, a text's UTF-8)."""

    format = pq.Format.BINARY

    def load(self, data: Buffer) -> bytes:
        return bytes(data)


@dataclass(frozen=True)
class IdempotencyRecord:
    """A command's response kept under the caller's Idempotency-Key, with the request's hash."""

    principal: str
    key: str
    request_hash: bytes
    status: int
    headers: dict[str, str]
    body: bytes
    position: int | None = None


_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

# The topic of the factory below, for the event store's PERSISTENCE_MODULE.
FACTORY_TOPIC = "adapters.postgres.recorder:LedgerFactory"


def role_option(role: str) -> str:
    """libpq `options` that make a session act as `role` from its first statement (SET ROLE)."""
    if not _ROLE_NAME.match(role):
        raise ValueError(f"not a plain role name: {role!r}")
    return f"-c role={role}"


class RecentCheck:
    """A pool `check` that pings a connection only when it has not been handed out lately.

    A ping on every checkout is a round trip per checkout (two per command). A connection
    handed out within the last `idle` seconds was in use then, so a server restart since then
    is what the ping would catch; that window is short, and a connection that fails anyway is
    discarded by the pool and the request answers 503 (clients retry on Retry-After).
    """

    def __init__(self, idle: float = 1.0) -> None:
        self._idle = idle
        self._handed_out: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()

    def __call__(self, conn: Any) -> None:
        now = time.monotonic()
        last = self._handed_out.get(conn)
        if last is None or now - last > self._idle:
            ConnectionPool.check_connection(conn)
        self._handed_out[conn] = now


class LedgerFactory(PostgresFactory):
    """The library's PostgreSQL factory; with POSTGRES_ROLE every pooled connection acts as
    that role, set in the startup packet so no statement ever runs with the login's rights."""

    POSTGRES_ROLE = "POSTGRES_ROLE"

    def __init__(self, env: Environment | EnvType | None):
        super().__init__(env)
        if self.datastore.pool._check is not None:
            self.datastore.pool._check = RecentCheck()
        role = self.env.get(self.POSTGRES_ROLE)
        kwargs = self.datastore.pool.kwargs
        if role and isinstance(kwargs, dict):
            # The pool has not connected yet (it opens on first use).
            kwargs["options"] = role_option(role)
