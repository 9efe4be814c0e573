"""Reads of the event log that the library's recorder does not offer: narrow binary pages (what
the views and the feed read), one project's events with their positions (its history), and
every stored row encoded as the hash chain hashes it (the chain's check)."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any, cast
from uuid import UUID

from eventsourcing.persistence import Notification, StoredEvent
from psycopg import Connection
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from domain.chain import RawRow, UnreadableLogError

_LAST_POSITION = 2**63 - 1  # no upper bound
# The encoding read by `stored_rows` resolves every function and operator in pg_catalog alone.
_PINNED = SQL("SET LOCAL search_path = pg_catalog")

# The events table as the chain was sealed over it: a plain table whose columns have these
# built-in types (by OID, so no name can stand in). A column of a type its owner made could
# carry the owner's own casts into the server-side encoding (review of the binary COPY).
_SEALED_COLUMNS = {
    "notification_id": 20,  # int8
    "originator_id": 2950,  # uuid
    "originator_version": 20,  # int8
    "topic": 25,  # text
    "state": 17,  # bytea
    "chain_hash": 17,  # bytea
}
_TABLE_SHAPE = SQL(
    "SELECT c.relkind::text, a.attname::text, a.atttypid::int8"
    " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
    " WHERE n.nspname = %s AND c.relname = %s"
)


class LogReads:
    def __init__(self, schema: str, events_table: str) -> None:
        table = SQL("{}.{}").format(Identifier(schema), Identifier(events_table))
        self._table_name = (schema, events_table)
        self._select_page = SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state "
            "FROM {table} WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
        ).format(table=table)
        # One share of the projects (`application.ports.share_of`), up to a position.
        self._select_share = SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state "
            "FROM {table} WHERE notification_id > %s AND notification_id <= %s "
            "AND mod(get_byte(uuid_send(originator_id), 15), %s) = %s "
            "ORDER BY notification_id LIMIT %s"
        ).format(table=table)
        # A member's feed: each project's next rows by (originator_id, notification_id) (0031),
        # at most a page each, merged by position.
        self._select_page_of = SQL(
            "SELECT e.notification_id, e.originator_id, e.originator_version, e.topic, e.state "
            "FROM unnest(%(projects)s::uuid[]) AS p(id) CROSS JOIN LATERAL ("
            "SELECT notification_id, originator_id, originator_version, topic, state "
            "FROM {table} WHERE originator_id = p.id AND notification_id > %(after)s "
            "AND notification_id <= %(until)s ORDER BY notification_id LIMIT %(limit)s) e "
            "ORDER BY e.notification_id LIMIT %(limit)s"
        ).format(table=table)
        # A history: the primary key (originator_id, originator_version) serves it.
        self._select_project_events = SQL(
            "SELECT originator_id, originator_version, topic, state, notification_id "
            "FROM {table} WHERE originator_id = %s AND originator_version > %s "
            "ORDER BY originator_version LIMIT %s"
        ).format(table=table)
        # Each row encoded by the server as both links hash it (domain.chain.encode_row; the
        # expression is 0050's `row_digest` without its SHA-256), so the verifier hashes one
        # bytes value per row: no UUID, text or struct packing in Python. Only built-in
        # functions and operators, read under `search_path = pg_catalog` (`_PINNED`), so that
        # nothing the tables' owner can create stands in for them.
        self._copy_encoded_rows = SQL(
            "COPY (SELECT int8send(notification_id) || uuid_send(originator_id)"
            " || int8send(originator_version)"
            " || CASE WHEN topic IS NULL THEN int4send(-1) ELSE"
            " int4send(octet_length(convert_to(topic, 'UTF8'))) || convert_to(topic, 'UTF8') END"
            " || CASE WHEN state IS NULL THEN int4send(-1) ELSE"
            " int4send(octet_length(state)) || state END,"
            " chain_hash FROM {table} ORDER BY notification_id) TO STDOUT (FORMAT BINARY)"
        ).format(table=table)

    def read_page(self, conn: Connection[Any], after: int, limit: int) -> list[Notification]:
        """The notifications after position `after`, in order, at most `limit`: what the
        library's `select_notifications` answers, read in binary with only the columns it needs
        (about half its cost per event, which a rebuild pays for the whole log)."""
        with conn.cursor(row_factory=tuple_row, binary=True) as curs:
            curs.execute(self._select_page, (after, limit))
            return notifications_of(curs.fetchall())

    def read_share(
        self, conn: Connection[Any], after: int, until: int, limit: int, share: int, shares: int
    ) -> list[Notification]:
        """`read_page` of the projects of one share (`application.ports.share_of`), at or
        below `until`."""
        with conn.cursor(row_factory=tuple_row, binary=True) as curs:
            curs.execute(self._select_share, (after, until, shares, share, limit))
            return notifications_of(curs.fetchall())

    def read_page_of(
        self,
        conn: Connection[Any],
        projects: Collection[UUID],
        after: int,
        limit: int,
        until: int | None,
    ) -> list[Notification]:
        """`read_page` of the events of `projects` only, at or below `until` when given."""
        if not projects:
            return []
        params = {
            "projects": sorted(projects),
            "after": after,
            "until": _LAST_POSITION if until is None else until,
            "limit": limit,
        }
        with conn.cursor(row_factory=tuple_row, binary=True) as curs:
            curs.execute(self._select_page_of, params)
            return notifications_of(curs.fetchall())

    def project_events(
        self, conn: Connection[Any], project_id: UUID, after_version: int, limit: int
    ) -> list[tuple[StoredEvent, int]]:
        """The project's stored events after `after_version`, in version order, each with its
        global position (notification id), in one indexed read."""
        with conn.cursor(row_factory=tuple_row) as curs:
            curs.execute(
                self._select_project_events, (project_id, after_version, limit), prepare=False
            )
            return [(stored_event(row), row[4]) for row in curs.fetchall()]

    def stored_rows(self, conn: Connection[Any]) -> Iterator[RawRow]:
        """Every stored event encoded as the chain hashes it, with its chain hash, in position
        order. A binary COPY streams the rows: the server encodes the next rows while the
        verifier hashes these (a server-side cursor's FETCH left one side idle in turn), and
        psycopg buffers only what has arrived, so memory stays flat however long the log."""
        with conn.transaction(), conn.cursor(row_factory=tuple_row) as cursor:
            cursor.execute(_PINNED)
            shape = cursor.execute(_TABLE_SHAPE, self._table_name).fetchall()
            kinds = {kind for kind, _, _ in shape}
            types = {name: type_oid for _, name, type_oid in shape}
            if kinds != {"r"} or any(types.get(c) != t for c, t in _SEALED_COLUMNS.items()):
                raise UnreadableLogError(
                    f"{'.'.join(self._table_name)} is not the plain table of built-in column "
                    "types the chain was sealed over"
                )
            with cursor.copy(self._copy_encoded_rows) as copy:
                copy.set_types(["bytea", "bytea"])
                yield from cast(Iterator[RawRow], copy.rows())


def stored_event(row: tuple[Any, ...]) -> StoredEvent:
    """A stored event from a row that starts (originator_id, originator_version, topic, state)."""
    return StoredEvent(
        originator_id=row[0], originator_version=row[1], topic=row[2], state=bytes(row[3])
    )


def notifications_of(rows: list[tuple[Any, ...]]) -> list[Notification]:
    """Rows of (position, stream id, version, topic, state) as the library's notifications."""
    return [
        Notification(
            id=row[0],
            originator_id=row[1],
            originator_version=row[2],
            topic=row[3],
            state=bytes(row[4]),
        )
        for row in rows
    ]
