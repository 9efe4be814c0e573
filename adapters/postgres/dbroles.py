"""The database roles the migrations create, who owns what, and what the service may do.

- `milestones_owner` (NOLOGIN) owns the record: the events, snapshots, the as-of index,
  idempotency records, checkpoints, principals and tokens, and the integrity functions.
- `milestones_app` (NOLOGIN) is what every session of the service acts as (`SET ROLE`, sent in
  libpq's startup options when the login is more privileged). On the record it may only read
  and append; on principals and tokens also update (a revocation); it owns the views' tables
  (and their tracking table), since a rebuild swaps freshly built tables in, which only an
  owner may do, and it may create schemas for those shadow tables.

`migrations/0001.roles.sql` creates both (roles are cluster-wide: it tolerates an upgrade of
another database creating them at the same moment), the other migrations give each object its
owner and `0005.grants.sql` grants the application role exactly the above.
"""

from __future__ import annotations

from typing import Any

import psycopg

OWNER_ROLE = "milestones_owner"
APP_ROLE = "milestones_app"


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
