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
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, LiteralString, Protocol, TypeVar
from uuid import UUID

import psycopg
from psycopg import pq, sql
from psycopg.types.json import Jsonb

from domain.events import ProjectEvent
from projections.base import last_event_by_project

Cursor = psycopg.Cursor[Any]
Key = tuple[Any, ...]
Column = tuple[LiteralString, LiteralString]  # (name, PostgreSQL type)

H = TypeVar("H")


class DuplicateRowError(RuntimeError):
    """An event inserts a row that the page already holds (the per-event INSERT would fail)."""


def _jsonb(value: Any) -> Any:
    if value is None or isinstance(value, Jsonb):
        return value
    return Jsonb(value)


@dataclass(frozen=True)
class Table:
    """A view table: its key columns and its other columns, with their types."""

    name: LiteralString
    keys: tuple[Column, ...]
    values: tuple[Column, ...]

    @property
    def columns(self) -> tuple[Column, ...]:
        return self.keys + self.values

    @functools.cached_property
    def _jsonb_at(self) -> tuple[int, ...]:
        return tuple(i for i, (_, kind) in enumerate(self.columns) if kind == "jsonb")

    def _adapt(self, row: Sequence[Any]) -> tuple[Any, ...]:
        if not self._jsonb_at:
            return tuple(row)
        values = list(row)
        for i in self._jsonb_at:
            values[i] = _jsonb(values[i])
        return tuple(values)

    def _unnest(self, columns: Sequence[Column], alias: LiteralString) -> sql.Composed:
        """`unnest(%s::t1[], …) AS alias(c1, …)`."""
        return sql.SQL("unnest({}) AS {}({})").format(
            sql.SQL(", ").join(sql.SQL("%s::" + kind + "[]") for _, kind in columns),
            sql.Identifier(alias),
            sql.SQL(", ").join(sql.Identifier(name) for name, _ in columns),
        )

    def _match(self, columns: Sequence[Column], left: LiteralString) -> sql.Composed:
        return sql.SQL(" AND ").join(
            sql.SQL("{} = {}").format(sql.Identifier(left, name), sql.Identifier("u", name))
            for name, _ in columns
        )

    def select(self, cur: Cursor, keys: Collection[Key], prefix: int = 0) -> list[tuple[Any, ...]]:
        """The rows (keys then values) whose first `prefix` key columns (all when 0) match."""
        if not keys:
            return []
        by = self.keys[:prefix] if prefix else self.keys
        query = sql.SQL("SELECT {} FROM {} JOIN {} ON {}").format(
            sql.SQL(", ").join(sql.Identifier("t", name) for name, _ in self.columns),
            self._unnest(by, "u"),
            sql.SQL("{} AS t").format(sql.Identifier(self.name)),
            self._match(by, "t"),
        )
        cur.execute(query, [list(column) for column in zip(*keys, strict=True)])
        return cur.fetchall()

    def copy(self, cur: Cursor, rows: Iterable[Sequence[Any]]) -> None:
        """Append rows (every column, in order) with binary COPY, or in pipeline mode (where
        COPY is refused) with pipelined INSERTs: the same rows, in the same order."""
        if cur.connection.pgconn.pipeline_status != pq.PipelineStatus.OFF:
            cur.executemany(self._insert, [self._adapt(row) for row in rows])
            return
        statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
            sql.Identifier(self.name),
            sql.SQL(", ").join(sql.Identifier(name) for name, _ in self.columns),
        )
        with cur.copy(statement) as copy:
            copy.set_types([kind for _, kind in self.columns])
            for row in rows:
                copy.write_row(self._adapt(row))

    @functools.cached_property
    def _insert(self) -> sql.Composed:
        return sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
            sql.Identifier(self.name),
            sql.SQL(", ").join(sql.Identifier(name) for name, _ in self.columns),
            sql.SQL(", ").join(sql.SQL("%s::" + kind) for _, kind in self.columns),
        )

    def update(self, cur: Cursor, rows: Sequence[Sequence[Any]]) -> None:
        """Set every value column of existing rows (keys then values) in one statement."""
        if not rows:
            return
        query = sql.SQL("UPDATE {} AS t SET {} FROM {} WHERE {}").format(
            sql.Identifier(self.name),
            sql.SQL(", ").join(
                sql.SQL("{} = {}").format(sql.Identifier(name), sql.Identifier("u", name))
                for name, _ in self.values
            ),
            self._unnest(self.columns, "u"),
            self._match(self.keys, "t"),
        )
        cur.execute(query, self._arrays(rows))

    def delete(self, cur: Cursor, keys: Sequence[Key]) -> None:
        if not keys:
            return
        query = sql.SQL("DELETE FROM {} AS t USING {} WHERE {}").format(
            sql.Identifier(self.name), self._unnest(self.keys, "u"), self._match(self.keys, "t")
        )
        cur.execute(query, [list(column) for column in zip(*keys, strict=True)])

    def _arrays(self, rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
        arrays = [list(column) for column in zip(*rows, strict=True)]
        for i in self._jsonb_at:
            arrays[i] = [_jsonb(value) for value in arrays[i]]
        return arrays


class Rows:
    """The rows of one table that a page touches: as they were before it, and as they are now.

    `now[key]` is the row's values as a mutable list, or None for a row that does not exist.
    A key neither loaded nor inserted is taken not to exist: load every key an event may change
    before replaying the page (except keys the page itself inserts).
    """

    def __init__(self, table: Table) -> None:
        self.table = table
        self.before: dict[Key, tuple[Any, ...]] = {}
        self.now: dict[Key, list[Any] | None] = {}

    def load(self, cur: Cursor, keys: Iterable[Key], prefix: int = 0) -> list[tuple[Any, ...]]:
        """Read the rows of `keys` (or of every key starting with one of them, with `prefix`)."""
        wanted = [key for key in set(keys) if prefix or key not in self.now]
        found = self.table.select(cur, wanted, prefix)
        width = len(self.table.keys)
        if not prefix:
            for key in wanted:
                self.now.setdefault(key, None)
        for row in found:
            key = tuple(row[:width])
            if key not in self.before and not self.now.get(key):
                self.before[key] = tuple(row[width:])
                self.now[key] = list(row[width:])
        return found

    def get(self, key: Key) -> list[Any] | None:
        return self.now.get(key)

    def insert(self, key: Key, values: list[Any]) -> None:
        if self.now.get(key) is not None:
            raise DuplicateRowError(f"{self.table.name}: a row with key {key} exists already")
        self.now[key] = values

    def delete(self, key: Key) -> None:
        if key in self.now:
            self.now[key] = None

    def write(self, cur: Cursor) -> None:
        """Send the page's changes: removed rows, changed rows, then new rows."""
        deleted: list[Key] = []
        changed: list[tuple[Any, ...]] = []
        added: list[tuple[Any, ...]] = []
        for key, values in self.now.items():
            old = self.before.get(key)
            if values is None:
                if old is not None:
                    deleted.append(key)
            elif old is None:
                added.append(key + tuple(values))
            elif tuple(values) != old:
                changed.append(key + tuple(values))
        self.table.delete(cur, deleted)
        self.table.update(cur, changed)
        if added:
            self.table.copy(cur, added)


def dispatcher(
    handlers: dict[type, H],
) -> Callable[[type], H | None]:
    """The handler of an event class as `functools.singledispatch` would pick it (its nearest
    registered class in the MRO), cached per class."""

    @functools.cache
    def find(cls: type) -> H | None:
        for base in cls.__mro__:
            if base in handlers:
                return handlers[base]
        return None

    return find


class Page(Protocol):
    """A view's working copy of the rows one page of events changes."""

    def load(self, cur: Cursor, events: Sequence[tuple[ProjectEvent, int]]) -> None:
        """Read every row the events may change, in as few statements as it can."""

    def write(self, cur: Cursor, last: dict[UUID, tuple[ProjectEvent, int]]) -> None:
        """Write what changed; `last` is each project's last event in the page."""


P = TypeVar("P", bound=Page)


def apply_page(
    cur: Cursor,
    events: Sequence[tuple[ProjectEvent, int]],
    page: P,
    handler: Callable[[type], Callable[[P, Any, int], None] | None],
) -> None:
    """Load the rows the events change, replay the events on them in position order with each
    event class's handler, then write the differences."""
    if not events:
        return
    page.load(cur, events)
    for event, position in events:
        handle = handler(type(event))
        if handle is not None:
            handle(page, event, position)
    page.write(cur, last_event_by_project(events))
