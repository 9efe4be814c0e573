"""`milestones db upgrade` applies the versioned migrations: once each, to a fresh database or to
one made by the code before them (adopted with its events, chain and views intact)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg import errors, sql

from adapters.postgres.database import open_pool, with_role
from adapters.postgres.dbroles import APP_ROLE, OWNER_ROLE
from adapters.postgres.migrate import MIGRATIONS, migrate
from adapters.postgres.principals import Principals, hash_token
from adapters.postgres.recorder import LedgerRecorder
from api.bootstrap import build_ledger, upgrade
from api.checkpoints import SignedCheckpoint
from api.settings import Settings
from application.access import GlobalRole, Principal
from application.ledger import Ledger
from domain.chain import LinkVersion, Verification, verify
from domain.events import DeliverableApproved
from projections import all_views
from projections.runner import ProjectionRunner
from projections.schedule import get_schedule
from tests.integration.dumps import YOYO_TABLES, load_dump, schema_dump
from tests.integration.scratch import scratch_database

FIXTURES = Path(__file__).resolve().parent / "fixtures"
# `milestones db upgrade` + `milestones demo` + `milestones checkpoint create` by commit
# 663ef07, main before versioned migrations and version 2 of an approval (fixtures/README.md).
BEFORE_MIGRATIONS = FIXTURES / "main-663ef07-demo.sql.gz"
SETTINGS = Settings(pool_size=2, pool_max_overflow=2)
# The last migration of everything that existed before versioned migrations.
BASELINE = "0005.grants"
# The day the schedule's health is read on, so that both reads agree whatever today is.
NOW = datetime(2030, 1, 15, 12, 0, tzinfo=UTC)
WRITES = ("INSERT", "UPDATE", "DELETE", "TRUNCATE")
# Tokens the code before migrations issued (and revoked, `tokens.revoked_at`) in the adopted
# database, whose plain text these tests know.
LIVE_TOKEN, REVOKED_TOKEN = "ml_issued-before-migrations", "ml_revoked-before-migrations"


def every_migration() -> list[str]:
    return sorted(path.stem for path in MIGRATIONS.glob("[0-9]*.sql"))


def applied_migrations(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT migration_id FROM _yoyo_migration ORDER BY applied_at_utc, migration_id"
        ).fetchall()
    return [str(row[0]) for row in rows]


def ensure_roles(url: str) -> None:
    """The roles a dump's ALTER ... OWNER TO names (a fresh cluster has none yet)."""
    with psycopg.connect(url, autocommit=True) as conn:
        for role in (OWNER_ROLE, APP_ROLE):
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                continue
            # Another session's upgrade may make it meanwhile: roles are cluster-wide.
            with suppress(errors.DuplicateObject, errors.UniqueViolation):
                conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))


# --- a fresh database ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fresh(database_url: str) -> Iterator[str]:
    with scratch_database(database_url, "ml_mig_fresh") as url:
        migrate(url)
        yield url


def test_a_fresh_database_upgraded_to_head_lists_every_migration_as_applied(fresh: str) -> None:
    assert applied_migrations(fresh) == every_migration()


def test_a_second_upgrade_applies_nothing(fresh: str) -> None:
    before = applied_migrations(fresh)

    again = migrate(fresh)

    assert again.applied == ()
    assert again.head == every_migration()[-1]
    assert applied_migrations(fresh) == before


def test_two_upgrades_at_once_apply_each_migration_once(database_url: str) -> None:
    with scratch_database(database_url, "ml_mig_twice") as url:
        with ThreadPoolExecutor(2) as pool:
            upgrades = list(pool.map(migrate, [url, url]))
        applied = applied_migrations(url)

    assert sorted(m for done in upgrades for m in done.applied) == every_migration()
    assert applied == every_migration()


@pytest.mark.parametrize("privilege", ["UPDATE", "DELETE", "TRUNCATE"])
def test_the_application_role_cannot_change_events(fresh: str, privilege: str) -> None:
    with psycopg.connect(fresh) as conn:
        row = conn.execute(
            "SELECT has_table_privilege(%s, 'public.ledger_events', %s)", (APP_ROLE, privilege)
        ).fetchone()

    assert row == (False,)


@pytest.mark.parametrize("table", YOYO_TABLES)
def test_the_application_role_cannot_write_the_migration_history(fresh: str, table: str) -> None:
    with psycopg.connect(fresh) as conn:
        granted = {
            privilege: conn.execute(
                "SELECT has_table_privilege(%s, %s, %s)", (APP_ROLE, f"public.{table}", privilege)
            ).fetchone()
            for privilege in WRITES
        }
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(APP_ROLE)))
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(table)))

    assert granted == dict.fromkeys(WRITES, (False,))


def test_answers_kept_at_0006_move_to_the_prunable_table_with_their_results(
    database_url: str,
) -> None:
    result = {"project_id": "p", "version": 2, "position": 7, "ids": {}, "changed": True}
    with scratch_database(database_url, "ml_mig_answers") as url:
        migrate(url, until="0006.answers-hold-results")
        with psycopg.connect(url) as conn:
            conn.execute(
                "INSERT INTO ledger_events_idempotency (principal, key, request_hash, result)"
                " VALUES ('olga', 'k', '\\x00', %s)",
                (json.dumps(result),),
            )
        migrate(url)
        again = migrate(url)
        with psycopg.connect(url) as conn:
            moved = conn.execute("SELECT principal, key, result FROM kept_answers").fetchall()

    assert moved == [("olga", "k", result)]
    assert again.applied == ()


def test_the_first_migrations_make_the_schema_the_code_before_them_made(
    database_url: str,
) -> None:
    ensure_roles(database_url)
    with scratch_database(database_url, "ml_mig_old") as old:
        load_dump(old, BEFORE_MIGRATIONS)  # the schema (and rows) the code before them made
        before = schema_dump(old)
    with scratch_database(database_url, "ml_mig_base") as base:
        migrate(base, until=BASELINE)
        baseline = schema_dump(base)

    assert "CREATE TABLE public.ledger_events (" in before
    assert baseline == before


# --- a database made before migrations -------------------------------------------------------


@dataclass
class Adopted:
    """A database made by the code before migrations, with what it held before `db upgrade`."""

    url: str
    events: int
    verification: Verification
    schedules: dict[UUID, dict[str, Any] | None]
    answers: list[tuple[Any, ...]]


def count_events(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM ledger_events").fetchone()
    assert row is not None
    return int(row[0])


def project_ids(url: str) -> list[UUID]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT originator_id FROM ledger_events WHERE originator_version = 1"
            " ORDER BY notification_id"
        ).fetchall()
    return [UUID(str(row[0])) for row in rows]


def schedules(url: str, projects: list[UUID]) -> dict[UUID, dict[str, Any] | None]:
    with psycopg.connect(url) as conn:
        return {pid: get_schedule(conn, pid, NOW) for pid in projects}


def stored_checkpoints(url: str) -> list[SignedCheckpoint]:
    with psycopg.connect(url) as conn:
        # Checkpoints signed before migration 0010 keep their format 1 message; before it, the
        # table had no `format` column and every checkpoint was of format 1.
        has_format = conn.execute(
            "SELECT count(*) FROM information_schema.columns"
            " WHERE table_name = 'checkpoints' AND column_name = 'format'"
        ).fetchone()
        format_column = "format" if has_format and has_format[0] else "1"
        rows = conn.execute(
            "SELECT position, head, count, signed_at, public_key, signature, "
            + format_column
            + " FROM checkpoints"
        ).fetchall()
    return [
        SignedCheckpoint(int(p), bytes(h), int(c), s, bytes(k), bytes(sig), int(f))
        for p, h, c, s, k, sig, f in rows
    ]


def link_versions(url: str) -> list[LinkVersion]:
    """The recorded chain link versions; none before 0050 (every row is then version 1)."""
    with psycopg.connect(url) as conn:
        if conn.execute("SELECT to_regclass('public.chain_versions')").fetchone() == (None,):
            return []
        rows = conn.execute(
            "SELECT from_position, version FROM chain_versions ORDER BY from_position"
        ).fetchall()
    return [LinkVersion(int(p), int(v)) for p, v in rows]


def verification(url: str) -> Verification:
    """The whole log's hash chain recomputed, and the stored checkpoints checked against it."""
    ledger = build_ledger(url, SETTINGS)
    try:
        recorder = ledger.recorder
        assert isinstance(recorder, LedgerRecorder)
        checkpoints = stored_checkpoints(url)
        for checkpoint in checkpoints:
            checkpoint.verify_signature()
        versions = link_versions(url)
        return verify(
            recorder.stored_rows(), [c.checkpoint for c in checkpoints], versions=versions
        )
    finally:
        ledger.close()


# An answer the code before migrations kept (a rendered refusal), a day and a half ago.
OLD_ANSWER = (
    "alice",
    "retry-1",
    b"\x01" * 32,
    409,
    '{"content-type": "application/problem+json"}',
    b'{"status": 409}',
    datetime(2029, 12, 1, 9, 30, tzinfo=UTC),
)
ANSWER_COLUMNS = "principal, key, request_hash, status, headers, body"


def keep_old_answer(url: str) -> None:
    with psycopg.connect(url) as conn:
        conn.execute(
            f"INSERT INTO ledger_events_idempotency ({ANSWER_COLUMNS}, created_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            OLD_ANSWER,
        )


def kept_answers(url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            f"SELECT {ANSWER_COLUMNS}, kept_at FROM kept_answers ORDER BY principal, key"
        ).fetchall()
    return [(p, k, bytes(h), s, json.dumps(hd), bytes(b), at) for p, k, h, s, hd, b, at in rows]


def issue_tokens_as_before(url: str) -> None:
    """A live and a revoked token for the dump's first principal, as the old code kept them."""
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT name FROM principals ORDER BY name LIMIT 1").fetchone()
        assert row is not None
        conn.execute(
            "INSERT INTO tokens (token_hash, principal, revoked_at) VALUES (%s, %s, NULL),"
            " (%s, %s, now())",
            (hash_token(LIVE_TOKEN), row[0], hash_token(REVOKED_TOKEN), row[0]),
        )


@pytest.fixture(scope="module")
def adopted(database_url: str) -> Iterator[Adopted]:
    ensure_roles(database_url)
    with scratch_database(database_url, "ml_mig_adopt") as url:
        load_dump(url, BEFORE_MIGRATIONS)
        keep_old_answer(url)
        issue_tokens_as_before(url)
        events, verified = count_events(url), verification(url)
        upgrade(url, SETTINGS)
        # The views' rows as the dump left them, read once the migrations have added the
        # tables today's query reads too (0040's `schedule_dependencies`, empty for events
        # stored before dependencies existed): no view has applied anything since the dump.
        before = Adopted(
            url=url,
            events=events,
            verification=verified,
            schedules=schedules(url, project_ids(url)),
            answers=[OLD_ANSWER],
        )
        yield before


@pytest.fixture(scope="module")
def app_ledger(adopted: Adopted) -> Iterator[Ledger]:
    """The ledger as the service runs it on the adopted database: as the application role."""
    ledger = build_ledger(with_role(adopted.url, APP_ROLE), SETTINGS)
    try:
        yield ledger
    finally:
        ledger.close()


def test_an_adopted_database_lists_every_migration_as_applied(adopted: Adopted) -> None:
    assert applied_migrations(adopted.url) == every_migration()


def test_an_adopted_database_has_the_schema_of_a_fresh_one(adopted: Adopted, fresh: str) -> None:
    assert schema_dump(adopted.url) == schema_dump(fresh)


def test_an_adopted_database_keeps_every_event(adopted: Adopted) -> None:
    assert adopted.events > 0
    assert count_events(adopted.url) == adopted.events


def test_an_adopted_database_keeps_its_hash_chain_and_checkpoints(adopted: Adopted) -> None:
    after = verification(adopted.url)

    assert adopted.verification.ok, adopted.verification.problem
    assert after.ok, after.problem
    assert after.events_checked == adopted.events
    assert after.head == adopted.verification.head
    assert after.checkpoints_checked == adopted.verification.checkpoints_checked == 1


def test_every_project_of_an_adopted_database_replays(adopted: Adopted, app_ledger: Ledger) -> None:
    projects = project_ids(adopted.url)
    loaded = [app_ledger.load(pid) for pid in projects]

    assert projects
    assert sum(project.version for project in loaded) == adopted.events


def test_an_approval_stored_as_version_1_reads_as_an_approval_with_its_meaning(
    adopted: Adopted, app_ledger: Ledger
) -> None:
    auditor = Principal("auditor", GlobalRole.AUDITOR)
    stored = [
        (stored, app_ledger.mapper.to_domain_event(stored))
        for pid in project_ids(adopted.url)
        for stored, _ in app_ledger.store.select_project_events(pid)
        if stored.topic.endswith(":DeliverableApproved")
    ]
    events = [
        event
        for pid in project_ids(adopted.url)
        for event, _ in app_ledger.project_events(app_ledger.admit(pid, auditor))
        if isinstance(event, DeliverableApproved)
    ]

    assert stored
    # As the code before version 2 stored them: no class version, no meaning.
    assert all(b'"class_version"' not in row.state for row, _ in stored)
    assert all(b'"meaning"' not in row.state for row, _ in stored)
    assert {event.meaning for _, event in stored} == {"approval"}  # type: ignore[attr-defined]
    assert len(events) == len(stored)


def test_the_views_of_an_adopted_database_answer_the_same_schedule_caught_up_and_rebuilt(
    adopted: Adopted, app_ledger: Ledger
) -> None:
    pool = open_pool(with_role(adopted.url, APP_ROLE), SETTINGS)
    runner = ProjectionRunner(app_ledger, pool, all_views())
    try:
        runner.catch_up()
        caught_up = schedules(adopted.url, list(adopted.schedules))
        runner.rebuild_all()
        rebuilt = schedules(adopted.url, list(adopted.schedules))
    finally:
        runner.stop()
        pool.close()

    assert all(schedule is not None for schedule in adopted.schedules.values())
    assert caught_up == adopted.schedules
    assert rebuilt == adopted.schedules
    # 0060 filled in the signer of every approval stored before quorums (quorum 1).
    approved = [
        d
        for schedule in adopted.schedules.values()
        if schedule is not None
        for phase in schedule["phases"]
        for milestone in phase["milestones"]
        for d in milestone["deliverables"]
        if d["state"] == "approved"
    ]
    assert approved
    assert all(d["required_approvals"] == 1 and len(d["approvals"]) == 1 for d in approved)


def test_the_answers_of_an_adopted_database_move_to_the_prunable_table_with_their_age(
    adopted: Adopted,
) -> None:
    with psycopg.connect(adopted.url) as conn:
        old_table = conn.execute(
            "SELECT to_regclass('public.ledger_events_idempotency')"
        ).fetchone()

    assert kept_answers(adopted.url) == adopted.answers
    assert old_table == (None,)


def test_the_events_of_an_adopted_database_stay_append_only(adopted: Adopted) -> None:
    with (
        psycopg.connect(adopted.url, autocommit=True) as conn,
        pytest.raises(errors.InsufficientPrivilege, match="append-only"),
    ):
        conn.execute("UPDATE ledger_events SET originator_version = originator_version")

    assert count_events(adopted.url) == adopted.events


def test_every_as_of_row_of_an_adopted_database_is_confirmed_by_its_event(
    adopted: Adopted,
) -> None:
    with psycopg.connect(adopted.url) as conn:
        row = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE confirmed) FROM ledger_events_timeline"
        ).fetchone()

    assert row == (adopted.events, adopted.events)


def test_an_adopted_database_answers_every_past_version_from_its_as_of_index(
    adopted: Adopted, app_ledger: Ledger
) -> None:
    with psycopg.connect(adopted.url) as conn:
        rows = conn.execute(
            "SELECT project_id, version, occurred_at FROM ledger_events_timeline"
        ).fetchall()

    assert [app_ledger.version_at(UUID(str(pid)), at) for pid, _, at in rows] == [
        version for _, version, _ in rows
    ]


@pytest.mark.parametrize(
    ("table", "allowed"),
    [
        ("principals", {"SELECT"}),
        ("tokens", {"SELECT"}),
        ("token_revocations", {"SELECT", "INSERT"}),
        ("ledger_snapshots", {"SELECT", "INSERT"}),
        ("ledger_events_timeline", {"SELECT", "INSERT"}),
    ],
)
def test_an_adopted_database_grants_the_application_role_no_more_on_the_record(
    adopted: Adopted, table: str, allowed: set[str]
) -> None:
    with psycopg.connect(adopted.url) as conn:
        granted = {
            privilege
            for privilege in (*WRITES, "SELECT")
            if conn.execute(
                "SELECT has_table_privilege(%s, %s, %s)", (APP_ROLE, f"public.{table}", privilege)
            ).fetchone()
            == (True,)
        }

    assert granted == allowed


def test_tokens_of_an_adopted_database_keep_working_and_stay_revoked(adopted: Adopted) -> None:
    with open_pool(with_role(adopted.url, APP_ROLE), SETTINGS) as pool:
        principals = Principals(pool)
        live, revoked = principals.authenticate(LIVE_TOKEN), principals.authenticate(REVOKED_TOKEN)
        again = principals.revoke_token(REVOKED_TOKEN)

    assert live is not None
    assert revoked is None
    assert again is False
