"""Principals and bearer tokens against a real PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import Connection, sql
from psycopg.conninfo import make_conninfo
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from adapters.postgres.database import open_pool
from adapters.postgres.principals import (
    InvalidPrincipalNameError,
    PrincipalExistsError,
    Principals,
    UnknownPrincipalError,
    hash_token,
)
from api.settings import Settings
from application.access import GlobalRole, Principal

Pool = ConnectionPool[Connection[TupleRow]]


@pytest.fixture
def pool(database_url: str) -> Iterator[Pool]:
    """A pool whose tables live in a schema of their own, so each test starts empty and
    leaves the session's shared database (and other suites' tables) alone."""
    schema = f"test_principals_{uuid.uuid4().hex}"
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        url = make_conninfo(database_url, options=f"-c search_path={schema}")
        with open_pool(url, Settings(pool_size=2)) as pool:
            yield pool
    finally:
        with psycopg.connect(database_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture
def principals(pool: Pool) -> Principals:
    principals = Principals(pool)
    principals.create_tables()
    return principals


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


def test_only_the_token_hash_is_stored(principals: Principals, pool: Pool) -> None:
    principals.add("alice")
    token = principals.create_token("alice")

    with pool.connection() as conn:
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


def test_creating_the_tables_twice_keeps_the_data(principals: Principals) -> None:
    principals.add("alice")

    principals.create_tables()

    assert principals.get("alice") == Principal("alice", GlobalRole.MEMBER)
