"""Principals and their bearer tokens: plain tables, since they are access control, not history.

Who a principal is and what its global role allows is the application's (`application.access`);
this is where they are kept. The service's role may only read them and revoke a token (one
append-only row in `token_revocations`); a principal or a token is created as the record's owner
(`SET LOCAL ROLE milestones_owner`), which only an administrator's login may take on
(`migrations/0008.access-control-read-only.sql`).
"""

from __future__ import annotations

import builtins
import hashlib
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from psycopg import Connection, errors, sql
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from adapters.postgres.dbroles import OWNER_ROLE
from application.access import GlobalRole, Principal
from domain.errors import InvalidValueError
from domain.validation import name_characters

TOKEN_PREFIX = "ml_"
NAME_MAX_LENGTH = 200
# A token is named in lists by the start of its hash: enough to tell tokens apart, useless to
# log in with.
TOKEN_ID_LENGTH = 12


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


class InvalidTokenScopeError(PrincipalError, ValueError):
    """A token's scope cannot be issued (an expiry already past)."""


class TokenIssuerRefusedError(PrincipalError):
    """Only a live, unscoped, writing admin token may issue a token through the service."""


@dataclass(frozen=True)
class TokenScope:
    """What a token narrows its principal to: some projects, reading only, until a time."""

    projects: frozenset[UUID] | None = None
    read_only: bool = False
    expires_at: datetime | None = None


@dataclass(frozen=True)
class TokenRecord:
    """A token as `token list` shows it: never its secret, only the start of its hash."""

    id: str
    principal: str
    scope: TokenScope
    created_at: datetime
    revoked: bool

    def state(self, now: datetime) -> str:
        """live, expired or revoked (at `now`)."""
        if self.revoked:
            return "revoked"
        if self.scope.expires_at is not None and self.scope.expires_at <= now:
            return "expired"
        return "live"


@dataclass(frozen=True)
class TokenRefusal:
    """Why a token lets nobody in, said in its 401."""

    detail: str


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

    @property
    def pool(self) -> ConnectionPool[Connection[TupleRow]]:
        return self._pool

    @contextmanager
    def as_owner(self) -> Iterator[Connection[TupleRow]]:
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
            with self.as_owner() as conn:
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

    def create_token(self, name: str, scope: TokenScope | None = None) -> str:
        """Issue a new token for principal `name`, narrowed by `scope`; only its hash is
        stored, so show it once."""
        scope = _checked(scope or TokenScope())
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        try:
            with self.as_owner() as conn:
                conn.execute(
                    "INSERT INTO public.tokens"
                    " (token_hash, principal, projects, read_only, expires_at)"
                    " VALUES (%s, %s, %s, %s, %s)",
                    [hash_token(token), name, *_scope_columns(scope)],
                )
        except errors.ForeignKeyViolation:
            raise UnknownPrincipalError(f"no principal is named {name!r}") from None
        return token

    def issue_token(self, issuer: str, name: str, scope: TokenScope | None = None) -> str:
        """Issue a token on the service's own role, on the word of an admin's token `issuer`
        (checked by the database, which runs the insert as the owner: see migration 0030)."""
        scope = _checked(scope or TokenScope())
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        try:
            with self._pool.connection() as conn:
                conn.execute(
                    "SELECT public.milestones_issue_token(%s, %s, %s, %s, %s, %s)",
                    [issuer, hash_token(token), name, *_scope_columns(scope)],
                )
        except errors.ForeignKeyViolation:
            raise UnknownPrincipalError(f"no principal is named {name!r}") from None
        except errors.InsufficientPrivilege:
            raise TokenIssuerRefusedError(
                "only an admin's live token with no scope may issue a token"
            ) from None
        return token

    def list_tokens(self, name: str | None = None) -> builtins.list[TokenRecord]:
        """Every token (of principal `name` when given), newest first: scope, expiry and
        revocation, never the secret."""
        with self._pool.connection() as conn:
            rows = conn.execute(
                "SELECT t.token_hash, t.principal, t.projects, t.read_only, t.expires_at,"
                " t.created_at, (t.revoked_at IS NOT NULL OR EXISTS (SELECT FROM"
                " public.token_revocations r WHERE r.token_hash = t.token_hash))"
                " FROM public.tokens t WHERE %(name)s::text IS NULL OR t.principal = %(name)s"
                " ORDER BY t.created_at DESC, t.token_hash",
                {"name": name},
            ).fetchall()
        return [
            TokenRecord(
                id=row[0][:TOKEN_ID_LENGTH],
                principal=row[1],
                scope=TokenScope(
                    None if row[2] is None else frozenset(row[2]), row[3], _utc(row[4])
                ),
                created_at=row[5].astimezone(UTC),
                revoked=row[6],
            )
            for row in rows
        ]

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
        """The principal a live (known, not revoked, not expired) `token` lets in, if any."""
        verdict = self.identify(token)
        return verdict if isinstance(verdict, Principal) else None

    def identify(self, token: str) -> Principal | TokenRefusal:
        """The principal a live `token` lets in, narrowed by its scope; else why not."""
        with self._pool.connection() as conn:
            # One statement, so no transaction around it: one round trip, not three. Every
            # request asks, so a revoked token stops working at once in every process. Expiry
            # is the database's clock, the same for every process.
            conn.autocommit = True
            try:
                row = conn.execute(
                    "SELECT p.name, p.role, t.projects, t.read_only, t.expires_at,"
                    " t.expires_at <= now(), (t.revoked_at IS NOT NULL OR EXISTS"
                    " (SELECT FROM public.token_revocations r WHERE r.token_hash = t.token_hash))"
                    " FROM public.tokens t JOIN public.principals p ON p.name = t.principal"
                    " WHERE t.token_hash = %s",
                    [hash_token(token)],
                ).fetchone()
            finally:
                conn.autocommit = False
        if row is None:
            return TokenRefusal("unknown token")
        name, role, projects, read_only, expires_at, expired, revoked = row
        if revoked:
            return TokenRefusal("this token was revoked")
        if expired:
            when = expires_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
            return TokenRefusal(f"this token expired at {when}")
        scope = None if projects is None else frozenset(projects)
        return Principal(name, GlobalRole(role), projects=scope, read_only=read_only)


def _checked(scope: TokenScope) -> TokenScope:
    if scope.expires_at is not None:
        if scope.expires_at.tzinfo is None:
            raise InvalidTokenScopeError("a token's expiry needs a time zone")
        if scope.expires_at <= datetime.now(UTC):
            raise InvalidTokenScopeError("a token's expiry must be in the future")
    return scope


def _scope_columns(scope: TokenScope) -> tuple[list[UUID] | None, bool, datetime | None]:
    projects = None if scope.projects is None else sorted(scope.projects)
    return projects, scope.read_only, scope.expires_at


def _utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(UTC)
