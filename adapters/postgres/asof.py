"""The as-of index: each event's project, version and time, written in the events' transaction.

`GET /v1/projects/{pid}?as_of=<instant>` asks it for the project's last version recorded at or
before the instant, then replays the project up to that version. Its table (`<events>_timeline`,
the name it was created with) is made by the migrations (`adapters/postgres/migrations`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import Connection, Cursor
from psycopg.sql import SQL, Identifier

from application.ports import AsOfEntry


class AsOfIndex:
    def __init__(self, schema: str, events_table: str) -> None:
        self.table = f"{events_table}_timeline"
        table = SQL("{}.{}").format(Identifier(schema), Identifier(self.table))
        self._insert = SQL(
            "INSERT INTO {table} (project_id, version, occurred_at) "
            "SELECT * FROM unnest(%s::uuid[], %s::bigint[], %s::timestamptz[])"
        ).format(table=table)
        self._select_version_at = SQL(
            "SELECT max(version) FROM {table} WHERE project_id = %s AND occurred_at <= %s"
        ).format(table=table)

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

    def version_at(self, conn: Connection[Any], project_id: UUID, instant: datetime) -> int | None:
        row = conn.execute(self._select_version_at, (project_id, instant)).fetchone()
        if row is None:
            return None
        version = row["max"] if isinstance(row, dict) else row[0]
        return None if version is None else int(version)
