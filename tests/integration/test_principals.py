"""Principals and bearer tokens against a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from psycopg import Connection
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from adapters.postgres.database import open_pool
from adapters.postgres.migrate import migrate
from adapters.postgres.principals import (
    InvalidPrincipalNameError,
    PrincipalExistsError,
    Principals,
    UnknownPrincipalError,
    hash_token,
)
from adapters.postgres.signatures import Signatures, SigningRefusedError
from api.settings import Settings
from application.access import GlobalRole, Principal
from tests.integration.scratch import scratch_database

Pool = ConnectionPool[Connection[TupleRow]]


@pytest.fixture(scope="module")
def migrated(database_url: str) -> Iterator[str]:
    """A database of the module's own, upgraded: the principals and tokens tables as
    `milestones db upgrade` makes them, away from the session's shared database."""
    with scratch_database(database_url, "ml_principals") as url:
        migrate(url)
        yield url


@pytest.fixture
def principals(migrated: str) -> Iterator[Principals]:
    """An empty store for each test."""
    with psycopg.connect(migrated, autocommit=True) as admin:
        admin.execute("TRUNCATE tokens, principals")
    with open_pool(migrated, Settings(pool_size=2)) as pool:
        yield Principals(pool)


def test_added_principal_can_be_read_back_with_its_role(principals: Principals) -> None:
    added = principals.add("alice", GlobalRole.AUDITOR)

    assert added == Principal("alice", GlobalRole.AUDITOR)
    assert principals.get("alice") == added


def test_unknown_principal_reads_as_none(principals: Principals) -> None:
    assert principals.get("nobody") is None


def test_a_principal_is_a_member_unless_told_otherwise(principals: Principals) -> None:
    assert principals.add("bob").role is GlobalRole.MEMBER


def test_a_second_principal_with_the_same_name_is_refused(principals: Principals) -> None:
    principals.add("alice", GlobalRole.ADMIN)

    with pytest.raises(PrincipalExistsError):
        principals.add("alice", GlobalRole.MEMBER)
    assert principals.get("alice") == Principal("alice", GlobalRole.ADMIN)


@pytest.mark.parametrize("name", ["", "   ", " alice", "x" * 201])
def test_a_blank_padded_or_overlong_name_is_refused(principals: Principals, name: str) -> None:
    with pytest.raises(InvalidPrincipalNameError):
        principals.add(name)
    assert principals.list() == []


@pytest.mark.parametrize(
    "name", ["a\nb", "a\rb", "=1+2\r\n", "bell\x07", "nel\x85", "tab\tb", "rlo\u202e"]
)
def test_a_name_that_is_not_one_printable_line_is_refused_r15(
    principals: Principals, name: str
) -> None:
    with pytest.raises(InvalidPrincipalNameError, match="R15"):
        principals.add(name)
    assert principals.list() == []


def test_an_unknown_role_is_refused(principals: Principals) -> None:
    with pytest.raises(ValueError, match="superuser"):
        principals.add("mallory", "superuser")


def test_principals_are_listed_by_name(principals: Principals) -> None:
    principals.add("carol")
    principals.add("alice", GlobalRole.ADMIN)

    assert [p.name for p in principals.list()] == ["alice", "carol"]


def test_a_new_token_authenticates_its_principal(principals: Principals) -> None:
    principals.add("alice", GlobalRole.ADMIN)

    token = principals.create_token("alice")

    assert token.startswith("ml_")
    assert principals.authenticate(token) == Principal("alice", GlobalRole.ADMIN)


def test_an_unknown_token_authenticates_nobody(principals: Principals) -> None:
    principals.add("alice")
    principals.create_token("alice")

    assert principals.authenticate("ml_not-a-token") is None


def test_each_token_is_different(principals: Principals) -> None:
    principals.add("alice")

    assert principals.create_token("alice") != principals.create_token("alice")


def test_only_the_token_hash_is_stored(principals: Principals, migrated: str) -> None:
    principals.add("alice")
    token = principals.create_token("alice")

    with psycopg.connect(migrated) as conn:
        rows = conn.execute("SELECT t::text FROM tokens t").fetchall()
    stored = " ".join(row[0] for row in rows)
    assert token not in stored
    assert token.removeprefix("ml_") not in stored
    assert hash_token(token) in stored


def test_a_token_for_an_unknown_principal_is_refused(principals: Principals) -> None:
    with pytest.raises(UnknownPrincipalError):
        principals.create_token("nobody")


def test_a_revoked_token_no_longer_authenticates(principals: Principals) -> None:
    principals.add("alice")
    token = principals.create_token("alice")

    assert principals.revoke_token(token) is True

    assert principals.authenticate(token) is None


def test_revoking_a_token_leaves_the_principals_other_tokens_working(
    principals: Principals,
) -> None:
    principals.add("alice")
    revoked = principals.create_token("alice")
    kept = principals.create_token("alice")

    principals.revoke_token(revoked)

    assert principals.authenticate(kept) == Principal("alice", GlobalRole.MEMBER)


def test_revoking_an_unknown_or_revoked_token_reports_false(principals: Principals) -> None:
    principals.add("alice")
    token = principals.create_token("alice")
    principals.revoke_token(token)

    assert principals.revoke_token(token) is False
    assert principals.revoke_token("ml_never-issued") is False


def test_a_signing_password_is_set_as_the_owner_and_kept_only_as_an_argon2id_hash(
    principals: Principals, migrated: str
) -> None:
    principals.add("signer")
    signatures = Signatures(principals.pool, principals)

    signatures.set_display_name("signer", "Dr. Sam Signer")
    signatures.set_password("signer", "a long passphrase")

    with psycopg.connect(migrated) as conn:
        row = conn.execute(
            "SELECT password_hash FROM signing_passwords WHERE principal = 'signer'"
        ).fetchone()
    assert row is not None
    assert row[0].startswith("$argon2id$")
    assert "a long passphrase" not in row[0]
    signer = signatures.verify("signer", "a long passphrase")
    assert (signer.name, signer.display_name) == ("signer", "Dr. Sam Signer")
    with pytest.raises(SigningRefusedError):
        signatures.verify("signer", "not the passphrase")
    with pytest.raises(UnknownPrincipalError):
        signatures.set_password("nobody", "a long passphrase")
