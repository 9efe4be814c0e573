"""The database roles `milestones db upgrade` creates, who owns what, and what the service may do.

- `milestones_owner` (NOLOGIN) owns the record: the events, snapshots, the as-of index,
  idempotency records, checkpoints, principals and tokens, and the integrity functions.
- `milestones_app` (NOLOGIN) is what every session of the service acts as (`SET ROLE`, sent in
  libpq's startup options when the login is more privileged). On the record it may only read
  and append; on principals and tokens also update (a revocation); it owns the views' tables
  (and their tracking table), since a rebuild swaps freshly built tables in, which only an
  owner may do, and it may create schemas for those shadow tables.

Roles are cluster-wide; creating them is idempotent and tolerates a concurrent upgrade of
another database on the same server.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Any, LiteralString

import psycopg
from psycopg import errors
from psycopg.sql import SQL, Identifier

log = logging.getLogger(__name__)

OWNER_ROLE = "milestones_owner"
APP_ROLE = "milestones_app"

# What the application role may do on each kind of table it does not own.
APPEND_ONLY = ("SELECT", "INSERT")
ACCESS_CONTROL = ("SELECT", "INSERT", "UPDATE")
# A table of the owner's that `db upgrade` does not know (added by a later change without
# saying what it is): readable and writable, never truncatable.
UNCLASSIFIED = ("SELECT", "INSERT", "UPDATE", "DELETE")
_PRIVILEGE: dict[str, LiteralString] = {p: p for p in ("SELECT", "INSERT", "UPDATE", "DELETE")}


def ensure_roles(conn: psycopg.Connection[Any]) -> None:
    """Create both roles if missing (they may not log in; logins are granted them)."""
    for role in (OWNER_ROLE, APP_ROLE):
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
        if exists:
            continue
        try:
            with conn.transaction():
                conn.execute(SQL("CREATE ROLE {} NOLOGIN").format(Identifier(role)))
        except (errors.DuplicateObject, errors.UniqueViolation):
            pass  # another database's upgrade created it at the same moment


def prepare_schema(conn: psycopg.Connection[Any], schema: str) -> None:
    """Let the owner create the record's tables, and the app role the views' (and shadows)."""
    s = Identifier(schema)
    conn.execute(SQL("GRANT USAGE, CREATE ON SCHEMA {} TO {}").format(s, Identifier(OWNER_ROLE)))
    conn.execute(SQL("GRANT USAGE, CREATE ON SCHEMA {} TO {}").format(s, Identifier(APP_ROLE)))
    conn.execute(
        SQL("GRANT CREATE, CONNECT, TEMPORARY ON DATABASE {} TO {}").format(
            Identifier(conn.info.dbname), Identifier(APP_ROLE)
        )
    )


def _relations(conn: psycopg.Connection[Any], schema: str) -> list[tuple[str, str, str]]:
    """(name, kind, owner) of the schema's tables, sequences not owned by a column, and views."""
    rows = conn.execute(
        "SELECT c.relname, c.relkind, pg_get_userbyid(c.relowner) FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'S')"
        " AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid"
        "   AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i'))",
        (schema,),
    ).fetchall()
    return [(str(name), str(kind), str(owner)) for name, kind, owner in rows]


def assign_owners(conn: psycopg.Connection[Any], schema: str, app_tables: Collection[str]) -> None:
    """Give each existing table to its owner: the views' to the app role, the rest to the owner.

    Only changes what is not already right, so it is cheap on a migrated database; it exists for
    databases created before the roles did (everything then belonged to the login).
    """
    keyword = {"r": "TABLE", "p": "TABLE", "v": "VIEW", "m": "MATERIALIZED VIEW", "S": "SEQUENCE"}
    for name, kind, owner in _relations(conn, schema):
        wanted = APP_ROLE if name in app_tables else OWNER_ROLE
        if owner == wanted:
            continue
        conn.execute(
            SQL("ALTER {} {}.{} OWNER TO {}").format(
                SQL(keyword[kind]), Identifier(schema), Identifier(name), Identifier(wanted)
            )
        )
    # Composite types and functions the event store made before the roles existed.
    for oid_kind, query in (
        (
            "TYPE",
            "SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace"
            " JOIN pg_class c ON c.oid = t.typrelid"
            " WHERE n.nspname = %s AND c.relkind = 'c'"
            " AND pg_get_userbyid(t.typowner) <> %s",
        ),
        (
            "FUNCTION",
            "SELECT p.oid::regprocedure::text FROM pg_proc p"
            " JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = %s AND pg_get_userbyid(p.proowner) NOT IN (%s, %s)",
        ),
    ):
        params = (schema, OWNER_ROLE) if oid_kind == "TYPE" else (schema, OWNER_ROLE, APP_ROLE)
        for (name,) in conn.execute(query, params).fetchall():
            target = (
                SQL("{}.{}").format(Identifier(schema), Identifier(name))
                if oid_kind == "TYPE"
                else SQL(name)  # regprocedure text: already qualified and quoted by PostgreSQL
            )
            conn.execute(
                SQL("ALTER {} {} OWNER TO {}").format(SQL(oid_kind), target, Identifier(OWNER_ROLE))
            )


def grant(
    conn: psycopg.Connection[Any],
    schema: str,
    *,
    append_only: Collection[str],
    access_control: Collection[str],
    app_tables: Collection[str],
    app_functions: Collection[str],
) -> None:
    """Grant the app role exactly what it needs on every table of the owner's."""
    app = Identifier(APP_ROLE)
    for name, kind, _ in _relations(conn, schema):
        if name in app_tables:
            continue
        table = SQL("{}.{}").format(Identifier(schema), Identifier(name))
        if kind == "S":
            conn.execute(SQL("GRANT USAGE, SELECT ON SEQUENCE {} TO {}").format(table, app))
            continue
        privileges: tuple[str, ...]
        if name in append_only:
            privileges = APPEND_ONLY
        elif name in access_control:
            privileges = ACCESS_CONTROL
        else:
            privileges = UNCLASSIFIED
            log.info("table %s is not classified; the app role may read and write it", name)
        conn.execute(SQL("REVOKE ALL ON {} FROM PUBLIC, {}").format(table, app))
        keywords = SQL(", ").join(SQL(_PRIVILEGE[p]) for p in privileges)
        conn.execute(SQL("GRANT {} ON {} TO {}").format(keywords, table, app))
    # Sequences owned by a table's column (the events' notification_id): INSERT needs them.
    conn.execute(
        SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {} TO {}").format(
            Identifier(schema), app
        )
    )
    for function in app_functions:
        qualified = SQL("{}.{}()").format(Identifier(schema), Identifier(function))
        conn.execute(SQL("REVOKE ALL ON FUNCTION {} FROM PUBLIC").format(qualified))
        conn.execute(SQL("GRANT EXECUTE ON FUNCTION {} TO {}").format(qualified, app))


def session_role(conn: psycopg.Connection[Any]) -> str | None:
    """The role the service's sessions must take on: None when the login is the app role.

    Raises `RoleError` when the roles do not exist yet or the login cannot act as the app role.
    """
    row = conn.execute(
        "SELECT current_user, r.oid IS NOT NULL,"
        " r.oid IS NOT NULL AND pg_has_role(current_user, r.oid, 'MEMBER')"
        " FROM (SELECT 1) AS one LEFT JOIN pg_roles r ON r.rolname = %s",
        (APP_ROLE,),
    ).fetchone()
    assert row is not None
    login, exists, member = str(row[0]), bool(row[1]), bool(row[2])
    if not exists:
        raise RoleError(f"the role {APP_ROLE} does not exist: run `milestones db upgrade` first")
    if login == APP_ROLE:
        return None
    if not member:
        raise RoleError(
            f"the login {login} cannot act as {APP_ROLE}: GRANT {APP_ROLE} TO {login}, "
            "or log in as a member of it"
        )
    return APP_ROLE


class RoleError(RuntimeError):
    """The service's login cannot take on the application role."""
