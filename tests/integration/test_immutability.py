"""Events cannot be updated, deleted or truncated: not by the service's role, not by the owner,
not by a superuser (short of disabling triggers); the service runs as the application role."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from psycopg import errors, sql

from adapters.postgres.dbroles import APP_ROLE, OWNER_ROLE
from adapters.postgres.recorder import LedgerRecorder
from api.bootstrap import Container
from api.checkpoints import Checkpoints
from application.access import Principal
from domain.project import Project
from domain.roles import ProjectRole
from tests.commanding import run_as

APPEND_ONLY = ("ledger_events", "ledger_snapshots", "checkpoints")
CHANGES = ("UPDATE", "DELETE", "TRUNCATE")
PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")


@pytest.fixture(scope="module")
def some_events(container: Container) -> int:
    """A project with enough events for a snapshot (every 100 events)."""
    created = container.ledger.create_project(Principal("alice"), name="Immutable")

    def act(project: Project) -> None:
        for n in range(101):
            project.add_phase(f"Phase {n}", actor="alice")

    result = run_as(
        container.ledger, created.project_id, act, actor="alice", needs=ProjectRole.MANAGER
    )
    assert result.position is not None
    # A row in each append-only table (row triggers fire only on rows that exist).
    Checkpoints.of(container).create()
    return result.position


@pytest.fixture
def as_owner(database_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(OWNER_ROLE)))
        yield conn


@pytest.fixture
def as_superuser(database_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn


# A column of each table that an UPDATE can set to itself.
_COLUMN = {
    "ledger_events": "originator_version",
    "ledger_snapshots": "originator_version",
    "checkpoints": "count",
}


def _change(conn: psycopg.Connection[tuple[object, ...]], statement: str, table: str) -> None:
    column = sql.Identifier(_COLUMN[table])
    query = {
        "UPDATE": sql.SQL("UPDATE {} SET {} = {}").format(sql.Identifier(table), column, column),
        "DELETE": sql.SQL("DELETE FROM {}").format(sql.Identifier(table)),
        "TRUNCATE": sql.SQL("TRUNCATE {}").format(sql.Identifier(table)),
    }[statement]
    conn.execute(query)


def _count(container: Container) -> int:
    with container.pool.connection() as conn:
        row = conn.execute("SELECT count(*) FROM ledger_events").fetchone()
    assert row is not None
    return int(row[0])


def test_the_service_sessions_act_as_the_application_role(container: Container) -> None:
    with container.pool.connection() as conn:
        ours = conn.execute("SELECT current_user").fetchone()
    recorder = container.ledger.recorder
    assert isinstance(recorder, LedgerRecorder)
    with recorder.datastore.get_connection() as conn:
        store = conn.execute("SELECT current_user AS role").fetchone()

    assert ours == (APP_ROLE,)
    assert store is not None
    assert store["role"] == APP_ROLE
    # The runner's LISTEN connection is opened from the same conninfo.
    assert f"role={APP_ROLE}" in str(container.pool.conninfo)


def test_the_application_role_may_only_read_and_append_events(
    as_superuser: psycopg.Connection[tuple[object, ...]],
) -> None:
    granted = {
        privilege: as_superuser.execute(
            "SELECT has_table_privilege(%s, 'ledger_events', %s)", (APP_ROLE, privilege)
        ).fetchone()
        for privilege in (
            "SELECT",
            "INSERT",
            "UPDATE",
            "DELETE",
            "TRUNCATE",
            "REFERENCES",
            "TRIGGER",
        )
    }

    assert granted == {
        "SELECT": (True,),
        "INSERT": (True,),
        "UPDATE": (False,),
        "DELETE": (False,),
        "TRUNCATE": (False,),
        "REFERENCES": (False,),
        "TRIGGER": (False,),
    }


@pytest.mark.parametrize("statement", CHANGES)
def test_the_application_role_cannot_change_events(
    container: Container, some_events: int, statement: str
) -> None:
    before = _count(container)
    with container.pool.connection() as conn, pytest.raises(errors.InsufficientPrivilege):
        _change(conn, statement, "ledger_events")

    assert _count(container) == before


@pytest.mark.parametrize("table", APPEND_ONLY)
@pytest.mark.parametrize("statement", CHANGES)
def test_the_owner_cannot_change_append_only_tables(
    as_owner: psycopg.Connection[tuple[object, ...]],
    container: Container,
    some_events: int,
    statement: str,
    table: str,
) -> None:
    before = _count(container)
    with pytest.raises(errors.InsufficientPrivilege, match="append-only"):
        _change(as_owner, statement, table)

    assert _count(container) == before


@pytest.mark.parametrize("statement", CHANGES)
def test_a_superuser_cannot_change_events_either(
    as_superuser: psycopg.Connection[tuple[object, ...]],
    container: Container,
    some_events: int,
    statement: str,
) -> None:
    with pytest.raises(errors.InsufficientPrivilege, match="append-only"):
        _change(as_superuser, statement, "ledger_events")


def test_the_application_role_cannot_disable_the_triggers(container: Container) -> None:
    with container.pool.connection() as conn, pytest.raises(errors.InsufficientPrivilege):
        conn.execute("ALTER TABLE ledger_events DISABLE TRIGGER ledger_events_append_only")


def test_the_application_role_may_read_keep_and_prune_answers_but_not_rewrite_them(
    as_superuser: psycopg.Connection[tuple[object, ...]],
) -> None:
    # Kept answers are a cache that expires (migration 0009), not the append-only record.
    granted = {
        privilege: as_superuser.execute(
            "SELECT has_table_privilege(%s, 'kept_answers', %s)", (APP_ROLE, privilege)
        ).fetchone()
        for privilege in PRIVILEGES
    }

    assert granted == {
        "SELECT": (True,),
        "INSERT": (True,),
        "UPDATE": (False,),
        "DELETE": (True,),
        "TRUNCATE": (False,),
        "REFERENCES": (False,),
        "TRIGGER": (False,),
    }
