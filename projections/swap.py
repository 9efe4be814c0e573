"""The swap of a rebuilt view: its shadow tables move into the live schema in one transaction,
with the owner and grants of the tables they replace."""

from __future__ import annotations

import re
from typing import Any, LiteralString

import psycopg
from psycopg import sql

from projections.base import View

LIVE_SCHEMA = "public"


def shadow_schema(name: str) -> str:
    return "rebuild_" + re.sub(r"\W", "_", name)


def retired_schema(name: str) -> str:
    return "retired_" + re.sub(r"\W", "_", name)


def move_tables(cur: psycopg.Cursor[Any], view: View) -> None:
    """Move the view's live tables out (to be dropped) and its shadow tables into the live
    schema, in the caller's transaction; a live table keeps its owner and grants."""
    live = sql.Identifier(LIVE_SCHEMA)
    shadow = sql.Identifier(shadow_schema(view.name))
    retired = sql.Identifier(retired_schema(view.name))
    tables = list(view.tables)
    cur.execute(
        "SELECT t FROM unnest(%s::text[]) AS t"
        " WHERE to_regclass(quote_ident(%s) || '.' || quote_ident(t)) IS NOT NULL",
        (tables, LIVE_SCHEMA),
    )
    found = {str(row[0]) for row in cur.fetchall()}
    existing = [table for table in tables if table in found]
    if existing:
        # All at once and in one statement; a reader in the middle of a read makes this
        # wait (or give way after the lock timeout), never see half of a swap.
        cur.execute(
            sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(
                sql.SQL(", ").join(sql.Identifier(LIVE_SCHEMA, t) for t in existing)
            )
        )
    cur.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(retired))
    cur.execute(sql.SQL("CREATE SCHEMA {}").format(retired))
    for table in existing:
        cur.execute(
            sql.SQL("ALTER TABLE {}.{} SET SCHEMA {}").format(live, sql.Identifier(table), retired)
        )
    for table in tables:
        cur.execute(
            sql.SQL("ALTER TABLE {}.{} SET SCHEMA {}").format(shadow, sql.Identifier(table), live)
        )
        if table in existing:
            _copy_access(cur, retired_schema(view.name), table)
    cur.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(retired))
    cur.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(shadow))


# The privileges a table can carry, as SQL keywords (never interpolate a catalog string).
_PRIVILEGES: dict[str, LiteralString] = {
    p: p for p in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
}


def _copy_access(cur: psycopg.Cursor[Any], schema: str, table: str) -> None:
    """Give the new live table the old one's owner and grants.

    The owner matters when the rebuild ran as another login (a superuser, say): the service's
    role must keep owning, or at least reaching, the tables it writes (see
    `adapters.postgres.dbroles`).
    """
    cur.execute(
        "SELECT pg_get_userbyid(c.relowner), c.relowner <> (SELECT oid FROM pg_roles"
        " WHERE rolname = current_user)"
        " FROM pg_class c WHERE c.oid = (quote_ident(%s) || '.' || quote_ident(%s))::regclass",
        (schema, table),
    )
    row = cur.fetchone()
    if row is not None and row[1]:
        cur.execute(
            sql.SQL("ALTER TABLE {} OWNER TO {}").format(
                sql.Identifier(LIVE_SCHEMA, table), sql.Identifier(row[0])
            )
        )
    cur.execute(
        "SELECT a.grantee = 0, pg_get_userbyid(a.grantee), a.privilege_type, a.is_grantable"
        " FROM pg_class c, aclexplode(c.relacl) a"
        " WHERE c.oid = (quote_ident(%s) || '.' || quote_ident(%s))::regclass"
        " AND a.grantee <> c.relowner",
        (schema, table),
    )
    for public, grantee, privilege, grantable in cur.fetchall():
        if privilege not in _PRIVILEGES:
            continue
        cur.execute(
            sql.SQL("GRANT {} ON {} TO {}{}").format(
                sql.SQL(_PRIVILEGES[privilege]),
                sql.Identifier(LIVE_SCHEMA, table),
                sql.SQL("PUBLIC") if public else sql.Identifier(grantee),
                sql.SQL(" WITH GRANT OPTION" if grantable else ""),
            )
        )
