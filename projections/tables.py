"""A view's table, described once: columns with their PostgreSQL types, NOT NULL and defaults,
the primary key and the indexes. The description writes the table's DDL, names its rows (a
slotted class per table) and gives the set-based writes (`projections.writes`) their columns and
types.

The key columns come first, in key order, as in every view table: a row's key is its first
columns.
"""

from __future__ import annotations

import dataclasses
import functools
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, LiteralString

_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*\Z")


def _checked(name: LiteralString) -> LiteralString:
    # The DDL is written as text (it is also what a versioned migration freezes): only plain
    # lower-case identifiers, which need no quoting.
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a plain identifier: {name!r}")
    return name


@dataclass(frozen=True)
class Column:
    """A column: its type as PostgreSQL spells it, whether it may be NULL, and its default (an
    SQL expression)."""

    name: LiteralString
    type: LiteralString
    null: bool = False
    default: LiteralString | None = None

    def __post_init__(self) -> None:
        _checked(self.name)

    def ddl(self) -> LiteralString:
        text = f"{self.name} {self.type}"
        if not self.null:
            text += " NOT NULL"
        if self.default is not None:
            text += f" DEFAULT {self.default}"
        return text


@dataclass(frozen=True)
class Index:
    """A secondary index: its columns, its access method (btree unless said), its storage
    parameters (`WITH (...)`, if any) and, for a partial index, its predicate."""

    name: LiteralString
    columns: tuple[LiteralString, ...]
    using: LiteralString | None = None
    where: LiteralString | None = None
    storage: LiteralString | None = None

    def __post_init__(self) -> None:
        _checked(self.name)
        for column in self.columns:
            _checked(column)

    def ddl(self, table: LiteralString) -> LiteralString:
        using = f" USING {self.using}" if self.using else ""
        text = (
            f"CREATE INDEX IF NOT EXISTS {self.name} ON {table}{using} ({', '.join(self.columns)})"
        )
        if self.storage is not None:
            text += f" WITH ({self.storage})"
        if self.where is not None:
            text += f" WHERE {self.where}"
        return text


class Row:
    """A row of a view table, one attribute per column (the class of each table is made by
    `Table.row`, with `__slots__`: no dict per row, and a misspelt column fails)."""

    __slots__ = ()

    if TYPE_CHECKING:
        # The columns are the table description's, known when it is built: typed as Any.
        def __init__(self, *values: Any, **columns: Any) -> None: ...
        def __getattr__(self, name: str) -> Any: ...
        def __setattr__(self, name: str, value: Any) -> None: ...


def _getter(names: tuple[str, ...]) -> Callable[[Row], tuple[Any, ...]]:
    """A function that gives a row's values of `names` as a tuple (even of one name)."""
    if len(names) == 1:
        one = operator.attrgetter(names[0])
        return lambda row: (one(row),)
    return operator.attrgetter(*names)


@dataclass(frozen=True, eq=False)
class Table:
    """A view table: its key columns (the primary key, in order), its other columns, and its
    secondary indexes. Each table is described once: it is equal only to itself (and hashed
    as cheaply)."""

    name: LiteralString
    keys: tuple[Column, ...]
    values: tuple[Column, ...]
    indexes: tuple[Index, ...] = ()

    def __post_init__(self) -> None:
        _checked(self.name)
        names = [column.name for column in self.columns]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: a column is described twice")
        for index in self.indexes:
            if unknown := set(index.columns) - set(names):
                raise ValueError(f"{index.name}: no column {', '.join(sorted(unknown))}")

    @functools.cached_property
    def columns(self) -> tuple[Column, ...]:
        return self.keys + self.values

    @functools.cached_property
    def names(self) -> tuple[LiteralString, ...]:
        return tuple(column.name for column in self.columns)

    @functools.cached_property
    def key_names(self) -> tuple[LiteralString, ...]:
        return tuple(column.name for column in self.keys)

    def ddl(self) -> tuple[LiteralString, ...]:
        """`CREATE TABLE IF NOT EXISTS …` then one `CREATE INDEX IF NOT EXISTS …` per index."""
        lines = [column.ddl() for column in self.columns]
        lines.append(f"PRIMARY KEY ({', '.join(self.key_names)})")
        body = ",\n    ".join(lines)
        create = f"CREATE TABLE IF NOT EXISTS {self.name} (\n    {body}\n)"
        return (create, *(index.ddl(self.name) for index in self.indexes))

    @functools.cached_property
    def row(self) -> type[Row]:
        """The class of this table's rows: `table.row(project_id=…, name=…, …)`, every column
        by name (or all in column order)."""
        title = "".join(part.title() for part in self.name.split("_")) + "Row"
        made = dataclasses.make_dataclass(
            title, self.names, bases=(Row,), slots=True, eq=False, repr=True
        )
        made.__module__ = __name__
        row_class: type[Row] = made
        return row_class

    @functools.cached_property
    def astuple(self) -> Callable[[Row], tuple[Any, ...]]:
        """A row's values in column order (what the writes send)."""
        return _getter(self.names)

    @functools.cached_property
    def key_of(self) -> Callable[[Row], tuple[Any, ...]]:
        """A row's key: the values of its key columns, as a tuple."""
        return _getter(self.key_names)


def ddl_of(tables: tuple[Table, ...]) -> tuple[LiteralString, ...]:
    """The DDL of several tables, each table followed by its indexes."""
    return tuple(statement for table in tables for statement in table.ddl())


def names_of(tables: tuple[Table, ...]) -> tuple[LiteralString, ...]:
    return tuple(table.name for table in tables)
