"""The reads an evidence pack needs (api/evidence_pack.py): one project's stored events, the
chain hash and count before its first event, and the chain segment from there to a checkpoint:
the project's own rows whole, every other row as its row digest only (link version 2,
`ledger_events_row_digest`, migration 0050), computed by the database so that no other
project's contents leave it.

Each read is one short query on a pooled connection, given back before the caller sends
anything to its client: nothing is held while a slow client reads a pack."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from psycopg import Connection
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

Pool = ConnectionPool[Connection[TupleRow]]

PAGE = 5_000  # segment rows per query


@dataclass(frozen=True)
class StoredEvent:
    position: int
    version: int
    topic: str
    state: bytes


@dataclass(frozen=True)
class SegmentRow:
    position: int
    digest: bytes
    own: bool
    version: int
    topic: str | None


class PackReads:
    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    def events(self, project_id: UUID, until: int) -> list[StoredEvent]:
        """The project's stored events at or below position `until`, in version order."""
        with self._pool.connection() as conn:
            rows = conn.execute(
                "SELECT notification_id, originator_version, topic, state FROM ledger_events"
                " WHERE originator_id = %s AND notification_id <= %s ORDER BY originator_version",
                (project_id, until),
            ).fetchall()
        return [StoredEvent(int(p), int(v), str(t), bytes(s)) for p, v, t, s in rows]

    def link_versions(self) -> list[tuple[int, int]]:
        with self._pool.connection() as conn:
            rows = conn.execute(
                "SELECT from_position, version FROM chain_versions ORDER BY from_position"
            ).fetchall()
        return [(int(p), int(v)) for p, v in rows]

    def before(self, position: int) -> tuple[bytes | None, int]:
        """The chain hash of the row just below `position` (None: there is none) and how many
        rows lie below it."""
        with self._pool.connection() as conn:
            last: Any = conn.execute(
                "SELECT chain_hash FROM ledger_events WHERE notification_id < %s"
                " ORDER BY notification_id DESC LIMIT 1",
                (position,),
            ).fetchone()
            count: Any = conn.execute(
                "SELECT count(*) FROM ledger_events WHERE notification_id < %s", (position,)
            ).fetchone()
        return (None if last is None else bytes(last[0])), int(count[0])

    def segment(self, project_id: UUID, first: int, last: int) -> Iterator[list[SegmentRow]]:
        """The rows from `first` to `last`, a page per query: for every row its position and
        row digest; for the project's own rows also their version and topic."""
        after = first - 1
        while after < last:
            with self._pool.connection() as conn:
                rows = conn.execute(
                    "SELECT notification_id, ledger_events_row_digest(notification_id,"
                    " originator_id, originator_version, topic, state), originator_id = %s,"
                    " originator_version, topic FROM ledger_events"
                    " WHERE notification_id > %s AND notification_id <= %s"
                    " ORDER BY notification_id LIMIT %s",
                    (project_id, after, last, PAGE),
                ).fetchall()
            if not rows:
                return
            page = [
                SegmentRow(
                    int(p), bytes(d), bool(own), int(v) if own else 0, str(t) if own else None
                )
                for p, d, own, v, t in rows
            ]
            after = page[-1].position
            yield page
