"""Principals and their bearer tokens: plain tables, since they are access control, not history.

Who a principal is and what its global role allows is the application's (`application.access`);
this is where they are kept. The service's role may only read them and revoke a token (one
append-only row in `token_revocations`); a principal or a token is created as the record's owner
(`SET LOCAL ROLE milestones_owner`), which only an administrator's login may take on
(`migrations/0008.access-control-read-only.sql`).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from psycopg import Connection, errors, sql
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from adapters.postgres.dbroles import OWNER_ROLE
from application.access import GlobalRole, Principal
from domain.errors import InvalidValueError
from domain.validation import name_characters

TOKEN_PREFIX = "ml_"
NAME_MAX_LENGTH = 200


class PrincipalError(Exception):
    """A principal or token command was refused."""


class InvalidPrincipalNameError(PrincipalError, ValueError):
    """A principal's name is empty, blank, padded with spaces, longer than 200 characters, or
    not one printable line (R15)."""


class PrincipalExistsError(PrincipalError):
    """A principal with that name already exists."""


class UnknownPrincipalError(PrincipalError):
    """No principal has that name."""


class NotAnAdministratorError(PrincipalError):
    """The login may not act as the record's owner, which creating principals and tokens needs."""


def hash_token(token: str) -> str:
    """The stored form of a token: a leaked table must not hand out working tokens."""
    return hashlib.sha256(token.encode()).hexdigest()


def check_name(name: str) -> str:
    """Return `name` if it can name a principal, else raise `InvalidPrincipalNameError`."""
    if not 1 <= len(name) <= NAME_MAX_LENGTH:
        raise InvalidPrincipalNameError(
            f"a principal's name has 1 to {NAME_MAX_LENGTH} characters, not {len(name)}"
        )
    try:
        # The name is every event's `actor` (R1): a CSV cell, an iCalendar text, an SVG label.
        name_characters("name", name)
    except InvalidValueError as error:
        raise InvalidPrincipalNameError(f"a principal's name {error.message}") from None
    if not name.strip():
        raise InvalidPrincipalNameError("a principal's name cannot be blank")
    if name != name.strip():
        # " alice" and "alice" would be two principals nobody can tell apart.
        raise InvalidPrincipalNameError("a principal's name cannot start or end with whitespace")
    return name


class Principals:
    """The principals and tokens tables, reached through a connection pool."""

    def __init__(self, pool: ConnectionPool[Connection[TupleRow]]) -> None:
        self._pool = pool

    @contextmanager
    def _as_owner(self) -> Iterator[Connection[TupleRow]]:
        """A transaction acting as the record's owner: the service's own role may not create
        principals or tokens. Needs a login that is a member of the owner role."""
        # An explicit transaction: SET LOCAL outside one would warn and do nothing (a pooled
        # connection may be in autocommit mode), and the INSERT would run as the service's role.
        with self._pool.connection() as conn, conn.transaction():
            try:
                conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(OWNER_ROLE)))
            except errors.InsufficientPrivilege:
                raise NotAnAdministratorError(
                    f"creating principals and tokens needs a login that may act as {OWNER_ROLE}"
                    " (set MILESTONES_OWNER_URL to one, as for `milestones db upgrade`)"
                ) from None
            yield conn

    def add(self, name: str, role: GlobalRole | str = GlobalRole.MEMBER) -> Principal:
        """Create a principal; raise `PrincipalExistsError` if the name is taken."""
        principal = Principal(check_name(name), GlobalRole(role))
        try:
            with self._as_owner() as conn:
                conn.execute(
                    "INSERT INTO public.principals (name, role) VALUES (%s, %s)",
                    [principal.name, principal.role.value],
                )
        except errors.UniqueViolation:
            raise PrincipalExistsError(f"principal {name!r} already exists") from None
        return principal

    def get(self, name: str) -> Principal | None:
        """The principal named `name`, if any."""
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT name, role FROM public.principals WHERE name = %s", [name]
            ).fetchone()
        return None if row is None else Principal(row[0], GlobalRole(row[1]))

    def list(self) -> list[Principal]:
        """Every principal, by name."""
        with self._pool.connection() as conn:
            rows = conn.execute("SELECT name, role FROM public.principals ORDER BY name").fetchall()
        return [Principal(name, GlobalRole(role)) for name, role in rows]

    def create_token(self, name: str) -> str:
        """Issue a new token for principal `name`; only its hash is stored, so show it once."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        try:
            with self._as_owner() as conn:
                conn.execute(
                    "INSERT INTO public.tokens (token_hash, principal) VALUES (%s, %s)",
                    [hash_token(token), name],
                )
        except errors.ForeignKeyViolation:
            raise UnknownPrincipalError(f"no principal is named {name!r}") from None
        return token

    def revoke_token(self, token: str) -> bool:
        """Revoke `token` (a row in `token_revocations`, which nobody may take back); return
        False if it was unknown or already revoked."""
        with self._pool.connection() as conn:
            cursor = conn.execute(
                "INSERT INTO public.token_revocations (token_hash)"
                " SELECT token_hash FROM public.tokens WHERE token_hash = %s AND revoked_at IS NULL"
                " ON CONFLICT (token_hash) DO NOTHING",
                [hash_token(token)],
            )
            return cursor.rowcount == 1

    def authenticate(self, token: str) -> Principal | None:
        """The principal a live (not revoked) `token` belongs to, if any."""
        with self._pool.connection() as conn:
            # One statement, so no transaction around it: one round trip, not three. Every
            # request asks, so a revoked token stops working at once in every process.
            conn.autocommit = True
            try:
                row = conn.execute(
                    "SELECT p.name, p.role FROM public.tokens t JOIN public.principals p"
                    " ON p.name = t.principal"
                    " WHERE t.token_hash = %s AND t.revoked_at IS NULL AND NOT EXISTS"
                    " (SELECT FROM public.token_revocations r WHERE r.token_hash = t.token_hash)",
                    [hash_token(token)],
                ).fetchone()
            finally:
                conn.autocommit = False
        return None if row is None else Principal(row[0], GlobalRole(row[1]))
