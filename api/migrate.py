"""`milestones db upgrade`: every table, role, trigger and grant, created or brought up to date.

Runs as the given login (a superuser, or a role with CREATEROLE that is a member of both roles
of `adapters.postgres.dbroles`). The record's tables are created as `milestones_owner`, the
views' as `milestones_app`; then the integrity triggers go on and the grants are set.
Idempotent, and safe on a live database: each step only adds what is missing.
"""

from __future__ import annotations

import logging

import psycopg
from eventsourcing.postgres import PostgresAggregateRecorder

from adapters.postgres import dbroles
from adapters.postgres.database import open_pool, with_role
from adapters.postgres.integrity import append_only_statements, chain_statements, lock_function
from adapters.postgres.principals import Principals
from adapters.postgres.recorder import LedgerRecorder
from api import checkpoints
from api.bootstrap import build_ledger
from api.settings import Settings
from projections import all_ddl, all_views, tracking

log = logging.getLogger(__name__)

# The event store's schema (POSTGRES_SCHEMA is never set); the views' SQL is unqualified.
SCHEMA = "public"
# Tables of the owner's on which the service may also UPDATE (a token's revocation).
ACCESS_CONTROL_TABLES = ("principals", "tokens")


def view_tables() -> set[str]:
    """The tables the views own (rebuilt and swapped by the service itself)."""
    return {tracking.TABLE, *(table for view in all_views() for table in view.tables)}


def migrate(database_url: str, settings: Settings) -> None:
    app_tables = view_tables()
    with psycopg.connect(database_url, autocommit=True) as conn:
        dbroles.ensure_roles(conn)
        dbroles.prepare_schema(conn, SCHEMA)
        dbroles.assign_owners(conn, SCHEMA, app_tables)

    owner_url = with_role(database_url, dbroles.OWNER_ROLE)
    # The event store creates its tables (events, snapshots, same-transaction records).
    ledger = build_ledger(owner_url, settings, create_table=True)
    try:
        recorder = ledger.recorder
        assert isinstance(recorder, LedgerRecorder)
        assert recorder.datastore.schema == SCHEMA
        events = recorder.events_table_name
        append_only = [events, recorder.timeline_table, recorder.idempotency_table]
        if ledger.snapshots is not None:
            snapshots = ledger.snapshots.recorder
            assert isinstance(snapshots, PostgresAggregateRecorder)
            append_only.append(snapshots.events_table_name)
        append_only.append(checkpoints.TABLE)
    finally:
        ledger.close()

    pool = open_pool(owner_url, settings)
    try:
        Principals(pool).create_tables()
        with pool.connection() as conn:
            conn.execute(checkpoints.DDL)
            # The chain first: its one-time back-fill must run before the triggers refuse it.
            for statement in chain_statements(SCHEMA, events):
                conn.execute(statement)
            for statement in append_only_statements(SCHEMA, append_only):
                conn.execute(statement)
    finally:
        pool.close()

    pool = open_pool(with_role(database_url, dbroles.APP_ROLE), settings)
    try:
        with pool.connection() as conn:
            for view_statement in all_ddl():
                conn.execute(view_statement)
    finally:
        pool.close()

    with psycopg.connect(database_url, autocommit=True) as conn:
        dbroles.grant(
            conn,
            SCHEMA,
            append_only=append_only,
            access_control=ACCESS_CONTROL_TABLES,
            app_tables=app_tables,
            app_functions=[lock_function(events)],
        )
    log.info("database upgraded")
