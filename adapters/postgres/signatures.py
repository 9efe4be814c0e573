"""Signing passwords and printed names (issue 15, item 3): what makes a signing command a
signature, kept beside the principals (migration 0061).

A password is kept only as an argon2id hash (argon2-cffi: memory-hard, salted, its parameters in
the encoded hash). Verifying one costs tens of milliseconds of CPU and memory: it runs with no
connection held, between one short read (the hash, the printed name, the failures in a row) and
one short insert (the attempt). Five failures in a row lock the principal's signing until
`lock_seconds` after the last one; a success ends the run. A locked attempt is refused without
looking at the password and is not counted (it would lengthen the lock for ever).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from psycopg import Connection, errors
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from adapters.postgres.principals import PrincipalError, Principals, UnknownPrincipalError
from domain.validation import name_characters

# Failures in a row that lock a principal's signing.
LOCK_AFTER = 5
PASSWORD_MIN = 8
PASSWORD_MAX = 1024
DISPLAY_NAME_MAX = 200

_HASHER = PasswordHasher()  # argon2id, the library's (RFC 9106 low-memory) parameters


class SigningRefusedError(PrincipalError):
    """A signing password was wrong, missing, not set, or signing is locked."""

    def __init__(self, detail: str, *, locked_until: datetime | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.locked_until = locked_until


class InvalidSigningPasswordError(PrincipalError, ValueError):
    """A new signing password is too short or too long."""


@dataclass(frozen=True)
class Signer:
    """Who signed: the principal and its printed name (its name when it has none)."""

    name: str
    display_name: str


@dataclass(frozen=True)
class SigningStatus:
    """What an admin sees of a principal's signing: set or not, failures in a row, the lock."""

    principal: str
    password_set: bool
    failures_in_a_row: int
    locked_until: datetime | None


def hash_password(password: str) -> str:
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise InvalidSigningPasswordError(
            f"a signing password has {PASSWORD_MIN} to {PASSWORD_MAX} characters"
        )
    return _HASHER.hash(password)


def check_display_name(display_name: str) -> str:
    if not 1 <= len(display_name) <= DISPLAY_NAME_MAX or not display_name.strip():
        raise PrincipalError(f"a printed name has 1 to {DISPLAY_NAME_MAX} characters, not blank")
    name_characters("display_name", display_name)  # R15: one printable line
    return display_name


# name, printed name, password hash, failures in a row, the last failure, the database's now.
_State = tuple[str, str | None, str | None, int, datetime | None, datetime]

_STATE = """
    SELECT p.name, p.display_name, sp.password_hash,
        (SELECT count(*) FROM public.signing_attempts a
         WHERE a.principal = p.name AND NOT a.succeeded AND a.id > coalesce(
            (SELECT max(s.id) FROM public.signing_attempts s
             WHERE s.principal = p.name AND s.succeeded), 0)),
        (SELECT max(a.at) FROM public.signing_attempts a
         WHERE a.principal = p.name AND NOT a.succeeded),
        now()
    FROM public.principals p
    LEFT JOIN public.signing_passwords sp ON sp.principal = p.name
    WHERE p.name = %s
"""


class Signatures:
    """Signing passwords, printed names and signing attempts, through a connection pool."""

    def __init__(
        self,
        pool: ConnectionPool[Connection[TupleRow]],
        principals: Principals,
        lock_seconds: int = 900,
    ) -> None:
        self._pool = pool
        self._principals = principals
        self._lock = timedelta(seconds=lock_seconds)

    def set_password(self, name: str, password: str) -> None:
        """Set `name`'s signing password as the record's owner (`milestones principal
        set-password`)."""
        hashed = hash_password(password)
        with self._principals.as_owner() as conn:
            written = conn.execute(
                "INSERT INTO public.signing_passwords (principal, password_hash, set_at)"
                " SELECT name, %s, now() FROM public.principals WHERE name = %s"
                " ON CONFLICT (principal) DO UPDATE"
                " SET password_hash = EXCLUDED.password_hash, set_at = EXCLUDED.set_at",
                [hashed, name],
            ).rowcount
        if written != 1:
            raise UnknownPrincipalError(f"no principal is named {name!r}")

    def set_own_password(self, bearer: str, password: str) -> str:
        """Set the signing password of the principal whose live, writing token `bearer` is
        (checked by the database: migration 0061); return its name."""
        hashed = hash_password(password)
        try:
            with self._pool.connection() as conn:
                row = conn.execute(
                    "SELECT public.milestones_set_signing_password(%s, %s)", [bearer, hashed]
                ).fetchone()
        except errors.InsufficientPrivilege:
            raise SigningRefusedError("only a live, writing token may set a password") from None
        assert row is not None
        return str(row[0])

    def set_display_name(self, name: str, display_name: str | None) -> None:
        """Set (None: clear) `name`'s printed name, as the record's owner."""
        value = None if display_name is None else check_display_name(display_name)
        with self._principals.as_owner() as conn:
            updated = conn.execute(
                "UPDATE public.principals SET display_name = %s WHERE name = %s", [value, name]
            ).rowcount
        if updated != 1:
            raise UnknownPrincipalError(f"no principal is named {name!r}")

    def status(self, name: str) -> SigningStatus:
        row = self._state(name)
        _, _, hashed, failures, last_failure, now = row
        return SigningStatus(
            name, hashed is not None, int(failures), self._locked_until(failures, last_failure, now)
        )

    def signer(self, name: str) -> Signer:
        """`name` with its printed name (its name when it has none), no password asked: what
        a signing command records when the deployment does not require signatures."""
        principal, display_name, *_ = self._state(name)
        return Signer(principal, display_name or principal)

    def verify(self, name: str, password: str | None) -> Signer:
        """`name`'s signature with `password`, or `SigningRefusedError` (the attempt counted,
        unless signing was locked)."""
        principal, display_name, hashed, failures, last_failure, now = self._state(name)
        locked_until = self._locked_until(failures, last_failure, now)
        if locked_until is not None:
            when = locked_until.isoformat().replace("+00:00", "Z")
            raise SigningRefusedError(
                f"signing is locked after {LOCK_AFTER} failed attempts in a row, until {when}",
                locked_until=locked_until,
            )
        if hashed is None:
            raise SigningRefusedError(
                f"{principal} has no signing password; set one first"
                " (PUT /v1/principals/me/signing-password)"
            )
        good = password is not None and _matches(hashed, password)
        with self._pool.connection() as conn:
            conn.execute(
                "INSERT INTO public.signing_attempts (principal, succeeded) VALUES (%s, %s)",
                [principal, good],
            )
        if not good:
            left = LOCK_AFTER - int(failures) - 1
            raise SigningRefusedError(
                "the signing password is missing or wrong"
                + (f"; {left} more failures lock signing" if left > 0 else "; signing is locked")
            )
        return Signer(principal, display_name or principal)

    def _state(
        self, name: str
    ) -> tuple[str, str | None, str | None, int, datetime | None, datetime]:
        with self._pool.connection() as conn:
            row = conn.execute(_STATE, [name]).fetchone()
        if row is None:
            raise UnknownPrincipalError(f"no principal is named {name!r}")
        return row[0], row[1], row[2], int(row[3]), row[4], row[5]

    def _locked_until(
        self, failures: int, last_failure: datetime | None, now: datetime
    ) -> datetime | None:
        if failures < LOCK_AFTER or last_failure is None:
            return None
        until = (last_failure + self._lock).astimezone(UTC)
        return until if until > now else None


def _matches(hashed: str, password: str) -> bool:
    try:
        return _HASHER.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False
