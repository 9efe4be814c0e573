"""The audit view's page: one trail row per event by COPY, and the names the page gives in one
upsert."""

from __future__ import annotations

import functools
import re
import struct
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import psycopg
from psycopg import pq
from psycopg.types.json import Jsonb

from domain import events as ev
from domain.history import entity_of, json_text
from projections import writes
from projections.audit.summaries import name_given, summary_template
from projections.audit.tables import NAMES, TABLES, TRAIL
from projections.base import View
from projections.tables import ddl_of, names_of

Cursor = psycopg.Cursor[Any]


class AuditView(View):
    name = "audit"
    tables = names_of(TABLES)
    ddl = ddl_of(TABLES)

    def process_page(self, cur: Cursor, events: Sequence[tuple[ev.ProjectEvent, int]]) -> None:
        """One row per event by COPY, and the names the page gives in one upsert.

        A summary takes the names its entities have when its event is applied: the page's own
        names so far, else the table's (read once for the page), else the entity's id.
        """
        if not events:
            return
        prepared = []
        named: set[tuple[UUID, str]] = set()
        unknown: set[tuple[UUID, str]] = set()
        for event, position in events:
            p = event.originator_id
            template, refs = summary_template(event)
            unknown.update((p, ref) for ref in refs if (p, ref) not in named)
            given = name_given(event)
            if given is not None:
                named.add((p, given[0]))
            prepared.append((event, position, template, refs, given))
        names: dict[tuple[UUID, str], str] = {}
        for values in writes.select(cur, NAMES, unknown):
            found = NAMES.row(*values)
            names[(found.project_id, found.entity_id)] = found.name
        changed: dict[tuple[UUID, str], str] = {}
        rows: list[tuple[Any, ...]] = []
        for event, position, template, refs, given in prepared:
            p = event.originator_id
            entity = entity_of(event)
            args = [names.get((p, ref), ref) for ref in refs]
            # In TRAIL's column order.
            rows.append(
                (
                    position,
                    p,
                    event.originator_version,
                    entity.kind,
                    entity.id,
                    entity.related,
                    event.type_name,
                    event.actor,
                    event.timestamp,
                    _format(cur, template, args),
                    event,
                )
            )
            if given is not None:
                names[(p, given[0])] = changed[(p, given[0])] = given[1]
        _copy_trail(cur, rows)
        writes.upsert(
            cur,
            NAMES,
            [
                NAMES.astuple(NAMES.row(project_id=p, entity_id=entity_id, name=name))
                for (p, entity_id), name in changed.items()
            ],
        )


# The trail's columns as the binary COPY declares them: `entity_ids` and `data` are sent as the
# bytes of their binary form (`_text_array`, `_jsonb`), which the server reads as the column's
# type (a binary COPY carries no types, only each field's bytes). psycopg's own dumpers for a
# list and a Jsonb are Python (a dumper looked up per element, the Jsonb wrapper); the other
# columns go through its C dumpers. The bytes are the same: `test_projection_pages` compares
# these rows with the pipelined INSERTs' below for every event class.
_TRAIL_TYPES = [
    "bytea" if column.name in ("entity_ids", "data") else column.type for column in TRAIL.columns
]
_ENTITY_IDS, _DATA = TRAIL.names.index("entity_ids"), len(TRAIL.names) - 1
assert TRAIL.names[_DATA] == "data", "a trail row ends with its data"
_TEXT_OID = 25
# dimensions, has nulls, element type, length, lower bound; then each element's length and bytes
_ARRAY_HEAD = ">iiIii"
_EMPTY_ARRAY = struct.pack(">iiI", 0, 0, _TEXT_OID)


@functools.cache
def _array_of(lengths: tuple[int, ...]) -> struct.Struct:
    return struct.Struct(_ARRAY_HEAD + "".join(f"i{length}s" for length in lengths))


def _text_array(values: Sequence[str]) -> bytes:
    """A text[] in PostgreSQL's binary format (what `array_recv` reads), without NULLs."""
    if not values:
        return _EMPTY_ARRAY
    encoded = [value.encode() for value in values]
    lengths = tuple(map(len, encoded))
    fields = [field for pair in zip(lengths, encoded, strict=True) for field in pair]
    return _array_of(lengths).pack(1, 0, _TEXT_OID, len(values), 1, *fields)


def _jsonb(event: ev.ProjectEvent) -> bytes:
    """The event's `data` as binary jsonb (version 1, then the JSON text): what psycopg's
    `Jsonb(event, dumps=json_text)` sends."""
    return b"\x01" + json_text(event).encode()


def _copy_trail(cur: Cursor, rows: list[tuple[Any, ...]]) -> None:
    """COPY the trail's rows (their `entity_ids` a tuple of ids, their `data` the event). In
    pipeline mode (the live tail, where COPY is refused) `writes.copy` INSERTs them, each
    value adapted by psycopg: the same rows."""
    if (
        cur.connection.pgconn.pipeline_status != pq.PipelineStatus.OFF
        or cur.connection.info.encoding != "utf-8"
    ):
        adapted = [
            (
                *row[:_ENTITY_IDS],
                list(row[_ENTITY_IDS]),
                *row[_ENTITY_IDS + 1 : _DATA],
                Jsonb(row[_DATA], dumps=json_text),
            )
            for row in rows
        ]
        writes.copy(cur, TRAIL, adapted)
        return
    with cur.copy(writes.copy_statement(TRAIL)) as writer:
        writer.set_types(_TRAIL_TYPES)
        for row in rows:
            writer.write_row(
                (
                    *row[:_ENTITY_IDS],
                    _text_array(row[_ENTITY_IDS]),
                    *row[_ENTITY_IDS + 1 : _DATA],
                    _jsonb(row[_DATA]),
                )
            )


# A summary template holds literal text with '%' doubled and a '%s' slot per name.
_SLOTS = re.compile(r"%[%s]")


def _format(cur: Cursor, template: str, args: list[str]) -> str:
    """PostgreSQL's `format(template, VARIADIC args)` for a template of '%s' and '%%' only (all
    `summary_template` makes); anything else is left to the server, which formats (or refuses)
    it as it did when it formatted every summary."""
    if "%" not in template and not args:
        return template
    tokens = _SLOTS.findall(template)
    if "%" not in _SLOTS.sub("", template) and tokens.count("%s") == len(args):
        return template % tuple(args)
    row = cur.execute("SELECT format(%s, VARIADIC %s::text[])", (template, args)).fetchone()
    assert row is not None
    return str(row[0])
