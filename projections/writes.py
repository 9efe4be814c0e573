"""Set-based page writes: a view folds a page of events into rows in Python, then writes each
table with one statement (COPY for new rows, `UPDATE … FROM unnest` for changed ones, `DELETE …
USING unnest` for removed ones) instead of one statement per event.

COPY cannot run in a pipeline: on a connection in pipeline mode (the runner's small live pages)
new rows go as one pipelined INSERT per row instead, which costs no round trip.

A view first loads, in one query per table, the rows the page's events change but do not create
(`Rows.load`), then replays the events in position order on those rows (`Rows.get`, `insert`,
`delete`), with the same rules its per-event SQL had: an update of a row that does not exist
changes nothing, an insert of a row that exists fails. `Rows.write` sends the difference.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Iterator, Sequence
from typing import Any, LiteralString

import psycopg
from psycopg import pq, sql
from psycopg.types.json import Jsonb

from projections.tables import Column, Row, Table

Cursor = psycopg.Cursor[Any]
Key = tuple[Any, ...]


class DuplicateRowError(RuntimeError):
    """An event inserts a row that the page already holds (the per-event INSERT would fail)."""


def _jsonb(value: Any) -> Any:
    if value is None or isinstance(value, Jsonb):
        return value
    return Jsonb(value)


@functools.cache
def _jsonb_at(table: Table) -> tuple[int, ...]:
    return tuple(i for i, column in enumerate(table.columns) if column.type == "jsonb")


def _adapted(table: Table, rows: Iterable[Sequence[Any]]) -> Iterator[Sequence[Any]]:
    """The rows with the values of their jsonb columns wrapped as `Jsonb` (psycopg adapts a
    dict no other way)."""
    at = _jsonb_at(table)
    if not at:
        yield from rows
        return
    for row in rows:
        values = list(row)
        for i in at:
            values[i] = _jsonb(values[i])
        yield tuple(values)


def _arrays(columns: Sequence[Column], rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """One array per column, for `unnest`."""
    arrays = [list(values) for values in zip(*rows, strict=True)]
    for i, column in enumerate(columns):
        if column.type == "jsonb":
            arrays[i] = [_jsonb(value) for value in arrays[i]]
    return arrays


def _unnest(columns: Sequence[Column], alias: LiteralString) -> sql.Composed:
    """`unnest(%s::t1[], …) AS alias(c1, …)`."""
    return sql.SQL("unnest({}) AS {}({})").format(
        sql.SQL(", ").join(sql.SQL("%s::" + column.type + "[]") for column in columns),
        sql.Identifier(alias),
        sql.SQL(", ").join(sql.Identifier(column.name) for column in columns),
    )


def _match(columns: Sequence[Column], left: LiteralString) -> sql.Composed:
    return sql.SQL(" AND ").join(
        sql.SQL("{} = {}").format(
            sql.Identifier(left, column.name), sql.Identifier("u", column.name)
        )
        for column in columns
    )


def _columns(names: Iterable[str]) -> sql.Composed:
    return sql.SQL(", ").join(sql.Identifier(name) for name in names)


def select(
    cur: Cursor, table: Table, keys: Collection[Key], prefix: int = 0
) -> list[tuple[Any, ...]]:
    """The rows (every column, in order) whose first `prefix` key columns (all when 0) match."""
    if not keys:
        return []
    by = table.keys[:prefix] if prefix else table.keys
    query = sql.SQL("SELECT {} FROM {} JOIN {} ON {}").format(
        sql.SQL(", ").join(sql.Identifier("t", name) for name in table.names),
        _unnest(by, "u"),
        sql.SQL("{} AS t").format(sql.Identifier(table.name)),
        _match(by, "t"),
    )
    cur.execute(query, _arrays(by, list(keys)))
    return cur.fetchall()


def copy(cur: Cursor, table: Table, rows: Iterable[Sequence[Any]]) -> None:
    """Append rows (every column, in order) with binary COPY, or in pipeline mode (where COPY
    is refused) with pipelined INSERTs: the same rows, in the same order."""
    if cur.connection.pgconn.pipeline_status != pq.PipelineStatus.OFF:
        cur.executemany(_insert(table), list(_adapted(table, rows)))
        return
    with cur.copy(copy_statement(table)) as writer:
        writer.set_types([column.type for column in table.columns])
        for row in _adapted(table, rows):
            writer.write_row(row)


@functools.cache
def copy_statement(table: Table) -> sql.Composed:
    """`COPY table (every column) FROM STDIN` in binary (a writer declares the columns' types)."""
    return sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        sql.Identifier(table.name), _columns(table.names)
    )


@functools.cache
def _insert(table: Table) -> sql.Composed:
    return sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
        sql.Identifier(table.name),
        _columns(table.names),
        sql.SQL(", ").join(sql.SQL("%s::" + column.type) for column in table.columns),
    )


def update(
    cur: Cursor, table: Table, rows: Sequence[Sequence[Any]], columns: Sequence[str] = ()
) -> None:
    """Set the value columns of existing rows in one statement: every one, or only `columns`
    (a row is then its keys followed by those columns' values)."""
    if not rows:
        return
    values = [c for c in table.values if c.name in columns] if columns else list(table.values)
    if columns and [c.name for c in values] != list(columns):
        raise ValueError(f"{table.name}: not its value columns, in order: {columns}")
    query = sql.SQL("UPDATE {} AS t SET {} FROM {} WHERE {}").format(
        sql.Identifier(table.name),
        sql.SQL(", ").join(
            sql.SQL("{} = {}").format(sql.Identifier(c.name), sql.Identifier("u", c.name))
            for c in values
        ),
        _unnest([*table.keys, *values], "u"),
        _match(table.keys, "t"),
    )
    cur.execute(query, _arrays([*table.keys, *values], rows))


def upsert(cur: Cursor, table: Table, rows: Sequence[Sequence[Any]]) -> None:
    """Insert rows (every column, in order), or set the value columns of those that exist; at
    most one row per key."""
    if not rows:
        return
    query = sql.SQL(
        "INSERT INTO {} ({}) SELECT * FROM {} ON CONFLICT ({}) DO UPDATE SET {}"
    ).format(
        sql.Identifier(table.name),
        _columns(table.names),
        _unnest(table.columns, "u"),
        _columns(table.key_names),
        sql.SQL(", ").join(
            sql.SQL("{} = EXCLUDED.{}").format(sql.Identifier(c.name), sql.Identifier(c.name))
            for c in table.values
        ),
    )
    cur.execute(query, _arrays(table.columns, rows))


def delete(cur: Cursor, table: Table, keys: Sequence[Key]) -> None:
    if not keys:
        return
    query = sql.SQL("DELETE FROM {} AS t USING {} WHERE {}").format(
        sql.Identifier(table.name), _unnest(table.keys, "u"), _match(table.keys, "t")
    )
    cur.execute(query, _arrays(table.keys, keys))


class Rows:
    """The rows of one table that a page touches: as they were before it, and as they are now.

    `now[key]` is the row (a `table.row`), or None for a row that does not exist. A key neither
    loaded nor inserted is taken not to exist: load every key an event may change before
    replaying the page (except keys the page itself inserts).
    """

    def __init__(self, table: Table) -> None:
        self.table = table
        self.before: dict[Key, tuple[Any, ...]] = {}  # every column, as read
        self.now: dict[Key, Row | None] = {}
        self._noted: set[Key] = set()
        self._new: set[Key] = set()

    def note(self, key: Key) -> None:
        """An event of the page may change the row of `key`: `read` loads it."""
        self._noted.add(key)

    def note_new(self, key: Key) -> None:
        """An event of the page creates the row of `key`: `read` need not look for it."""
        self._new.add(key)

    def read(self, cur: Cursor) -> None:
        """Load the rows noted, except those the page creates."""
        self.load(cur, self._noted - self._new)

    def load(self, cur: Cursor, keys: Iterable[Key], prefix: int = 0) -> None:
        """Read the rows of `keys` (or of every key starting with one of them, with `prefix`)."""
        wanted = [key for key in set(keys) if prefix or key not in self.now]
        found = select(cur, self.table, wanted, prefix)
        width = len(self.table.keys)
        if not prefix:
            for key in wanted:
                self.now.setdefault(key, None)
        make = self.table.row
        for values in found:
            key = values[:width]
            if key not in self.before and self.now.get(key) is None:
                self.before[key] = values
                self.now[key] = make(*values)

    def get(self, key: Key) -> Row | None:
        return self.now.get(key)

    def insert(self, row: Row) -> None:
        key = self.table.key_of(row)
        if self.now.get(key) is not None:
            raise DuplicateRowError(f"{self.table.name}: a row with key {key} exists already")
        self.now[key] = row

    def delete(self, key: Key) -> None:
        if key in self.now:
            self.now[key] = None

    def write(self, cur: Cursor) -> None:
        """Send the page's changes: removed rows, changed rows, then new rows."""
        deleted: list[Key] = []
        changed: list[tuple[Any, ...]] = []
        added: list[tuple[Any, ...]] = []
        astuple = self.table.astuple
        for key, row in self.now.items():
            old = self.before.get(key)
            if row is None:
                if old is not None:
                    deleted.append(key)
                continue
            values = astuple(row)
            if old is None:
                added.append(values)
            elif values != old:
                changed.append(values)
        delete(cur, self.table, deleted)
        update(cur, self.table, changed)
        if added:
            copy(cur, self.table, added)
