"""Correlation ids: which request caused each event, written in the events' transaction, and
the reads that find them (`migrations/0032.correlation-ids.sql`)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification, StoredEvent
from psycopg import Connection, Cursor
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from adapters.postgres.log import notifications_of, stored_event
from application.ports import CorrelationEntry

_LAST_POSITION = 2**63 - 1  # no upper bound


class CorrelationIndex:
    def __init__(self, schema: str, events_table: str) -> None:
        self.table = f"{events_table}_correlation"
        table = SQL("{}.{}").format(Identifier(schema), Identifier(self.table))
        events = SQL("{}.{}").format(Identifier(schema), Identifier(events_table))
        self._insert = SQL(
            "INSERT INTO {table} (project_id, version, correlation_id) "
            "SELECT * FROM unnest(%s::uuid[], %s::bigint[], %s::text[])"
        ).format(table=table)
        self._select_ids = SQL(
            "SELECT c.project_id, c.version, c.correlation_id FROM {table} c "
            "JOIN unnest(%s::uuid[], %s::bigint[]) AS k(project_id, version) "
            "ON c.project_id = k.project_id AND c.version = k.version"
        ).format(table=table)
        # A project's history with each event's correlation id, in one read: the page of events
        # by the events' primary key, then each row's id by the side table's (a probe a row,
        # whatever the planner knows of the tables' sizes).
        self._select_project_events = SQL(
            "SELECT e.originator_id, e.originator_version, e.topic, e.state, e.notification_id, "
            "(SELECT c.correlation_id FROM {table} c "
            "WHERE c.project_id = e.originator_id AND c.version = e.originator_version) "
            "FROM (SELECT originator_id, originator_version, topic, state, notification_id "
            "FROM {events} WHERE originator_id = %s AND originator_version > %s "
            "ORDER BY originator_version LIMIT %s) e ORDER BY e.originator_version"
        ).format(table=table, events=events)
        # A request's events: few rows by the correlation id's index, then their events.
        self._select_events = SQL(
            "SELECT e.notification_id, e.originator_id, e.originator_version, e.topic, e.state "
            "FROM {table} c JOIN {events} e "
            "ON e.originator_id = c.project_id AND e.originator_version = c.version "
            "WHERE c.correlation_id = %(correlation_id)s AND e.notification_id > %(after)s "
            "AND e.notification_id <= %(until)s "
            "AND (%(projects)s::uuid[] IS NULL OR c.project_id = ANY(%(projects)s::uuid[])) "
            "ORDER BY e.notification_id LIMIT %(limit)s"
        ).format(table=table, events=events)

    def insert(self, curs: Cursor[Any], entries: Sequence[CorrelationEntry]) -> None:
        if not entries:
            return
        # Never prepared (see AsOfIndex.insert).
        curs.execute(
            self._insert,
            (
                [e.project_id for e in entries],
                [e.version for e in entries],
                [e.correlation_id for e in entries],
            ),
            prepare=False,
        )

    def ids(
        self, conn: Connection[Any], events: Sequence[tuple[UUID, int]]
    ) -> dict[tuple[UUID, int], str]:
        if not events:
            return {}
        with conn.cursor(row_factory=tuple_row) as curs:
            curs.execute(self._select_ids, ([p for p, _ in events], [v for _, v in events]))
            return {(row[0], row[1]): row[2] for row in curs.fetchall()}

    def project_events(
        self, conn: Connection[Any], project_id: UUID, after_version: int, limit: int
    ) -> list[tuple[StoredEvent, int, str | None]]:
        """`LogReads.project_events`, each event with its correlation id (None: none kept)."""
        with conn.cursor(row_factory=tuple_row) as curs:
            curs.execute(
                self._select_project_events, (project_id, after_version, limit), prepare=False
            )
            return [(stored_event(row), row[4], row[5]) for row in curs.fetchall()]

    def events(
        self,
        conn: Connection[Any],
        correlation_id: str,
        after: int,
        limit: int,
        projects: Collection[UUID] | None,
        until: int | None,
    ) -> list[Notification]:
        params = {
            "correlation_id": correlation_id,
            "after": after,
            "until": _LAST_POSITION if until is None else until,
            "projects": None if projects is None else sorted(projects),
            "limit": limit,
        }
        with conn.cursor(row_factory=tuple_row, binary=True) as curs:
            curs.execute(self._select_events, params)
            return notifications_of(curs.fetchall())
