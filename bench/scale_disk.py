"""Bytes on disk per event, by what holds them: the events (heap, TOAST and each index), the
snapshots, the as-of index, the audit trail (its rows and each of its indexes) and the other
views, as PostgreSQL itself counts them (`pg_relation_size`, `pg_total_relation_size`)."""

from __future__ import annotations

import time
from typing import Any

import psycopg

from bench.context import Context

# Which group a table belongs to (anything else is "other views and records").
GROUPS = {
    "ledger_events": "events",
    "ledger_snapshots": "snapshots",
    "ledger_events_timeline": "as-of index",
    "audit_trail": "audit trail",
    "audit_names": "audit trail",
}

_TABLES = """
SELECT c.relname, pg_table_size(c.oid), pg_indexes_size(c.oid)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg_toast%'
"""

_INDEXES = """
SELECT i.relname, t.relname, pg_relation_size(i.oid)
FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
WHERE t.relname IN ('ledger_events', 'audit_trail', 'ledger_events_timeline')
"""


def measure(ctx: Context) -> dict[str, Any]:
    events = max(ctx.events(), 1)
    groups: dict[str, dict[str, int]] = {}
    with _connect(ctx.database_url) as conn:
        for name, table, indexes in conn.execute(_TABLES).fetchall():
            group = groups.setdefault(GROUPS.get(name, "other views and records"), {})
            group["table"] = group.get("table", 0) + table
            group["indexes"] = group.get("indexes", 0) + indexes
        index_rows = conn.execute(_INDEXES).fetchall()
        database = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    per_event = {
        name: {
            "table_bytes_per_event": round(sizes["table"] / events, 1),
            "index_bytes_per_event": round(sizes["indexes"] / events, 1),
            "total_mb": round((sizes["table"] + sizes["indexes"]) / 2**20, 1),
        }
        for name, sizes in sorted(groups.items())
    }
    return {
        "events": events,
        "database_mb": round((database[0] if database else 0) / 2**20, 1),
        "database_bytes_per_event": round((database[0] if database else 0) / events, 1),
        "by_group": per_event,
        "indexes": {
            f"{table}.{index}": round(size / events, 1) for index, table, size in index_rows
        },
    }


def _connect(url: str, attempts: int = 30) -> psycopg.Connection[Any]:
    """A connection, waiting for one on a shared server that is out of them for a while."""
    for _ in range(attempts - 1):
        try:
            return psycopg.connect(url)
        except psycopg.OperationalError:
            time.sleep(2)
    return psycopg.connect(url)
