"""The as-of index: each event's project, version and time, written in the events' transaction.

`GET /v1/projects/{pid}?as_of=<instant>` asks it for the project's last version recorded at or
before the instant, then replays the project up to that version. Its table (`<events>_timeline`,
the name it was created with) is made by the migrations (`adapters/postgres/migrations`).

The application role may append to it, so the database checks each row as it is written: it
must name an event of its project and the time that event records, or it is refused; a row the
database bore out is `confirmed` (`migrations/0007.derived-records-proven.sql`). Only confirmed
rows answer, and the application checks the answer against the events again
(`application.reads.index_agrees`). `unconfirmed` lists the others for `milestones verify`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from psycopg import Connection, Cursor
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from application.ports import AsOfEntry


@dataclass(frozen=True)
class AsOfRecord:
    """A row of the as-of index the database did not confirm, beside its event (if any)."""

    project_id: UUID
    version: int
    occurred_at: datetime
    position: int | None  # the event's position (None: no event has that version)
    event: StoredEvent | None


class AsOfIndex:
    def __init__(self, schema: str, events_table: str) -> None:
        self.table = f"{events_table}_timeline"
        table = SQL("{}.{}").format(Identifier(schema), Identifier(self.table))
        events = SQL("{}.{}").format(Identifier(schema), Identifier(events_table))
        self._insert = SQL(
            "INSERT INTO {table} (project_id, version, occurred_at) "
            "SELECT * FROM unnest(%s::uuid[], %s::bigint[], %s::timestamptz[])"
        ).format(table=table)
        # The answer and the events around it, in one round trip (an as-of read's first step);
        # least(): a planted row at the largest bigint must not make `version + 1` overflow.
        self._select_version_at = SQL(
            # least() ignores a NULL: with no row at or before the instant, the answer is NULL.
            "WITH hint AS (SELECT CASE WHEN max(version) IS NOT NULL"
            " THEN least(max(version), 9223372036854775806) END AS version FROM {table}"
            " WHERE project_id = %(project)s AND occurred_at <= %(instant)s AND confirmed)"
            " SELECT hint.version, e.originator_version, e.topic, e.state FROM hint"
            " LEFT JOIN {events} e ON e.originator_id = %(project)s AND e.originator_version"
            " BETWEEN coalesce(hint.version, 1) AND coalesce(hint.version + 1, 1)"
            " ORDER BY e.originator_version"
        ).format(table=table, events=events)
        self._select_unconfirmed = SQL(
            "SELECT t.project_id, t.version, t.occurred_at, e.notification_id, e.topic, e.state"
            " FROM {table} t LEFT JOIN {events} e"
            " ON e.originator_id = t.project_id AND e.originator_version = t.version"
            " WHERE NOT t.confirmed ORDER BY t.project_id, t.version"
        ).format(table=table, events=events)

    def insert(self, curs: Cursor[Any], entries: Sequence[AsOfEntry]) -> None:
        if not entries:
            return
        # Never prepared: after a version clash the rest of the pipeline is aborted, and
        # psycopg would then believe in a prepared statement the server never made.
        curs.execute(
            self._insert,
            (
                [e.project_id for e in entries],
                [e.version for e in entries],
                [e.occurred_at for e in entries],
            ),
            prepare=False,
        )

    def version_at(
        self, conn: Connection[Any], project_id: UUID, instant: datetime
    ) -> tuple[int | None, list[StoredEvent]]:
        """The index's answer (only confirmed rows answer), and the events at and after it."""
        with conn.cursor(row_factory=tuple_row) as curs:
            curs.execute(
                self._select_version_at, {"project": project_id, "instant": instant}, prepare=True
            )
            rows = curs.fetchall()
        version = rows[0][0] if rows else None
        events = [
            StoredEvent(
                originator_id=project_id, originator_version=int(v), topic=topic, state=bytes(state)
            )
            for _, v, topic, state in rows
            if v is not None
        ]
        return (None if version is None else int(version)), events

    def unconfirmed(self, conn: Connection[Any], batch: int = 1000) -> Iterator[AsOfRecord]:
        """The rows the database did not confirm (written before it checked them, and not borne
        out then), each beside its event, through a server-side cursor."""
        with (
            conn.transaction(),
            conn.cursor(name="as_of_unconfirmed", row_factory=tuple_row) as cursor,
        ):
            cursor.itersize = batch
            cursor.execute(self._select_unconfirmed)
            for project_id, version, occurred_at, position, topic, state in cursor:
                event = None
                if position is not None:
                    event = StoredEvent(
                        originator_id=project_id,
                        originator_version=int(version),
                        topic=topic,
                        state=bytes(state),
                    )
                yield AsOfRecord(
                    UUID(str(project_id)),
                    int(version),
                    occurred_at,
                    None if position is None else int(position),
                    event,
                )
