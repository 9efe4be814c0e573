"""The audit view's page: one trail row per event by COPY, and the names the page gives in one
upsert."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

from domain import events as ev
from domain.history import entity_of, json_text
from projections import writes
from projections.audit.summaries import name_given, summary_template
from projections.audit.tables import NAMES, TABLES, TRAIL
from projections.base import View
from projections.tables import Row, ddl_of, names_of

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
        rows: list[Row] = []
        for event, position, template, refs, given in prepared:
            p = event.originator_id
            entity = entity_of(event)
            args = [names.get((p, ref), ref) for ref in refs]
            rows.append(
                TRAIL.row(
                    position=position,
                    project_id=p,
                    version=event.originator_version,
                    entity_kind=entity.kind,
                    entity_id=entity.id,
                    entity_ids=list(entity.related),
                    event_type=event.type_name,
                    actor=event.actor,
                    occurred_at=event.timestamp,
                    summary=_format(cur, template, args),
                    data=Jsonb(event, dumps=json_text),
                )
            )
            if given is not None:
                names[(p, given[0])] = changed[(p, given[0])] = given[1]
        writes.copy(cur, TRAIL, map(TRAIL.astuple, rows))
        writes.upsert(
            cur,
            NAMES,
            [
                NAMES.astuple(NAMES.row(project_id=p, entity_id=entity_id, name=name))
                for (p, entity_id), name in changed.items()
            ],
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
