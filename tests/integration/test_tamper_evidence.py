"""The hash chain and signed checkpoints detect each kind of tampering, at the right position.

Each test tampers as a superuser with triggers disabled (the only way past them) in a database
of its own, then checks what an auditor would run: the service's verification.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg
import pytest

from api.bootstrap import Container, bootstrap, upgrade
from api.checkpoints import Checkpoints, read_file, write_file
from api.settings import Settings
from application.access import Principal
from cli.main import main
from domain.chain import GENESIS, encode_row, link
from domain.project import Project
from domain.roles import ProjectRole
from tests.commanding import run_as
from tests.integration.scratch import scratch_database


@dataclass
class Log:
    """A scratch database with a few real events, and a superuser connection to tamper with."""

    url: str
    container: Container
    checkpoints: Checkpoints
    positions: list[int]

    def tamper(self, *statements: tuple[str, tuple[Any, ...]]) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn, conn.transaction():
            # As a replica would apply changes: ordinary triggers do not fire.
            conn.execute("SET LOCAL session_replication_role = replica")
            for statement, params in statements:
                conn.execute(statement, params)

    def row(self, position: int) -> tuple[Any, ...]:
        with psycopg.connect(self.url) as conn:
            row = conn.execute(
                "SELECT notification_id, originator_id, originator_version, topic, state,"
                " chain_hash FROM ledger_events WHERE notification_id = %s",
                (position,),
            ).fetchone()
        assert row is not None
        return tuple(row)


def _add_phases(container: Container, project_id: Any, actor: str, count: int) -> int:
    def act(project: Project) -> None:
        for _ in range(count):
            project.add_phase(f"Phase {uuid4().hex[:8]}", actor=actor)

    result = run_as(container.ledger, project_id, act, actor=actor, needs=ProjectRole.MANAGER)
    assert result.position is not None
    return result.position


@pytest.fixture
def log(database_url: str, tmp_path: Path) -> Iterator[Log]:
    with scratch_database(database_url, "tamper") as url:
        settings = Settings(pool_size=2, pool_max_overflow=2, signing_key=tmp_path / "key")
        upgrade(url, settings)
        container = bootstrap(settings, url)
        try:
            created = container.ledger.create_project(Principal("alice"), name="Audited")
            _add_phases(container, created.project_id, "alice", 3)
            # A position no event took (as after a rolled-back save): room for a forged event.
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(
                    "SELECT nextval(pg_get_serial_sequence('ledger_events', 'notification_id'))"
                )
            _add_phases(container, created.project_id, "alice", 4)
            with psycopg.connect(url) as conn:
                positions = [
                    int(r[0])
                    for r in conn.execute(
                        "SELECT notification_id FROM ledger_events ORDER BY notification_id"
                    ).fetchall()
                ]
            checkpoints = Checkpoints(container.ledger, container.pool, settings.signing_key_path)
            yield Log(url, container, checkpoints, positions)
        finally:
            container.close()


def test_an_untouched_log_verifies(log: Log) -> None:
    result = log.checkpoints.verify()

    assert result.ok
    assert result.events_checked == len(log.positions) == 8
    assert result.first_broken_position is None
    assert result.head_position == log.positions[-1]
    assert result.head == log.row(log.positions[-1])[5]


def test_the_database_seals_each_event_with_the_documented_chain(log: Log) -> None:
    previous = GENESIS
    for position in log.positions:
        _, stream_id, version, topic, state, stored = log.row(position)
        previous = link(previous, position, stream_id, version, topic, bytes(state))
        assert bytes(stored) == previous


def test_the_verifier_reads_each_event_encoded_as_the_chain_defines_it(log: Log) -> None:
    # A topic and a state beyond ASCII, sealed by the trigger as any insert is.
    with psycopg.connect(log.url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO ledger_events (originator_id, originator_version, topic, state)"
            " VALUES (%s, 1, 'domain.events:Prüfung✓', %s)",
            (uuid4(), '{"name": "Größe 日本"}'.encode()),
        )
        last = conn.execute("SELECT max(notification_id) FROM ledger_events").fetchone()
    assert last is not None

    read = list(log.container.ledger.store.stored_rows())

    expected = []
    for position in [*log.positions, int(last[0])]:
        _, stream_id, version, topic, state, stored = log.row(position)
        expected.append((encode_row(position, stream_id, version, topic, bytes(state)), stored))
    assert read == expected
    assert log.checkpoints.verify().ok


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("originator_id", "gen_random_uuid()"),
        ("originator_version", "originator_version + 100"),
        ("topic", "topic || 'X'"),
        ("chain_hash", "sha256(chain_hash)"),
    ],
)
def test_each_stored_field_changed_is_found_at_its_position(
    log: Log, column: str, value: str
) -> None:
    target = log.positions[4]
    log.tamper(
        (f"UPDATE ledger_events SET {column} = {value} WHERE notification_id = %s", (target,))
    )

    result = log.checkpoints.verify()

    assert not result.ok
    assert result.first_broken_position == target


def test_the_last_event_changed_is_found_at_the_last_position(log: Log) -> None:
    last = log.positions[-1]
    log.tamper(
        ("UPDATE ledger_events SET state = state || ' ' WHERE notification_id = %s", (last,))
    )

    result = log.checkpoints.verify()

    assert not result.ok
    assert (result.first_broken_position, result.events_checked) == (last, 7)
    assert result.head == log.row(log.positions[-2])[5]


def test_one_flipped_byte_in_a_stored_event_is_found_at_its_position(log: Log) -> None:
    target = log.positions[3]
    log.tamper(
        (
            "UPDATE ledger_events SET state = overlay(state placing"
            " decode(lpad(to_hex(get_byte(state, 10) # 1), 2, '0'), 'hex') from 11 for 1)"
            " WHERE notification_id = %s",
            (target,),
        )
    )

    result = log.checkpoints.verify()

    assert not result.ok
    assert result.first_broken_position == target
    assert "does not match" in (result.problem or "")


def test_a_deleted_event_is_found_where_the_chain_no_longer_follows(log: Log) -> None:
    deleted = log.positions[2]
    log.tamper(("DELETE FROM ledger_events WHERE notification_id = %s", (deleted,)))

    result = log.checkpoints.verify()

    assert not result.ok
    # The event after the gap no longer chains onto the one before the gap.
    assert result.first_broken_position == log.positions[3]
    assert f"between {log.positions[1]} and it" in (result.problem or "")


def test_two_swapped_events_are_found_at_the_first_of_them(log: Log) -> None:
    first, second = log.positions[1], log.positions[5]
    log.tamper(
        ("UPDATE ledger_events SET notification_id = -1 WHERE notification_id = %s", (first,)),
        (
            "UPDATE ledger_events SET notification_id = %s WHERE notification_id = %s",
            (first, second),
        ),
        ("UPDATE ledger_events SET notification_id = %s WHERE notification_id = -1", (second,)),
    )

    result = log.checkpoints.verify()

    assert not result.ok
    assert result.first_broken_position == first


def _gap(log: Log) -> int:
    return next(p for p in range(1, log.positions[-1]) if p not in log.positions)


def test_an_inserted_forged_event_is_found_at_its_position(log: Log) -> None:
    forged = _gap(log)
    log.tamper(
        (
            "INSERT INTO ledger_events"
            " (notification_id, originator_id, originator_version, topic, state, chain_hash)"
            " VALUES (%s, %s, 1, 'domain.events:MilestoneAchieved', %s, %s)",
            (forged, uuid4(), b'{"actor": "mallory"}', bytes(32)),
        )
    )

    result = log.checkpoints.verify()

    assert not result.ok
    assert result.first_broken_position == forged


def test_a_forged_event_with_a_correctly_chained_hash_breaks_the_next_one(log: Log) -> None:
    forged = _gap(log)
    before = max(p for p in log.positions if p < forged)
    stream, state = uuid4(), b'{"actor": "mallory"}'
    topic = "domain.events:MilestoneAchieved"
    sealed = link(bytes(log.row(before)[5]), forged, stream, 1, topic, state)
    log.tamper(
        (
            "INSERT INTO ledger_events"
            " (notification_id, originator_id, originator_version, topic, state, chain_hash)"
            " VALUES (%s, %s, 1, %s, %s, %s)",
            (forged, stream, topic, state, sealed),
        )
    )

    result = log.checkpoints.verify()

    assert not result.ok
    assert result.first_broken_position == min(p for p in log.positions if p > forged)


def test_a_kept_checkpoint_finds_the_last_events_removed_and_the_chain_recomputed(
    log: Log, tmp_path: Path
) -> None:
    kept = log.checkpoints.create()
    assert kept is not None
    path = tmp_path / "checkpoint.json"
    write_file(path, kept)
    removed = log.positions[-3:]
    # Cut the tail, forget the stored checkpoint, and append re-chained events in its place:
    # the chain alone is intact again.
    log.tamper(
        ("DELETE FROM ledger_events WHERE notification_id >= %s", (removed[0],)),
        ("DELETE FROM checkpoints", ()),
    )
    with psycopg.connect(log.url, autocommit=True) as conn:
        for _ in removed:
            conn.execute(
                "INSERT INTO ledger_events (originator_id, originator_version, topic, state)"
                " VALUES (%s, 1, 'domain.events:ProjectCreated', %s)",
                (uuid4(), b"{}"),
            )
    assert log.checkpoints.verify().ok

    result = log.checkpoints.verify(read_file(path))

    assert not result.ok
    assert result.first_broken_position == removed[0]
    assert f"checkpoint at position {kept.position}" in (result.problem or "")


def test_a_stored_checkpoint_with_a_forged_signature_is_a_finding(log: Log) -> None:
    kept = log.checkpoints.create()
    assert kept is not None
    log.tamper(("UPDATE checkpoints SET signature = %s", (bytes(64),)))

    result = log.checkpoints.verify()

    assert not result.ok
    assert result.first_broken_position == kept.position
    assert "signature" in (result.problem or "")


def test_the_command_line_exits_0_only_while_the_log_holds_the_kept_checkpoint(
    log: Log, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", log.url)
    log.checkpoints.key  # the deployment's key exists before its processes start  # noqa: B018
    monkeypatch.setenv("MILESTONES_SIGNING_KEY", str(log.container.settings.signing_key_path))
    path = tmp_path / "kept.json"

    assert main(["checkpoint", "create", "--out", str(path)]) == 0
    assert main(["keys", "public"]) == 0
    public_key = capsys.readouterr().out.strip().splitlines()[-1]
    assert json.loads(path.read_text())["public_key"] == public_key
    assert main(["verify", "--checkpoint", str(path), "--public-key", public_key]) == 0
    assert "intact: 8 events" in capsys.readouterr().out

    log.tamper(("DELETE FROM ledger_events WHERE notification_id = %s", (log.positions[-1],)))

    assert main(["verify", "--checkpoint", str(path)]) == 1
    assert f"BROKEN at position {log.positions[-1]}" in capsys.readouterr().out


def test_a_column_of_a_type_the_tables_owner_made_is_a_finding(log: Log) -> None:
    # A type of the owner's could carry the owner's own casts into the server-side encoding
    # the verifier reads, so the verifier refuses such a table rather than trust what it reads.
    log.tamper(
        ("CREATE DOMAIN owned_text AS text", ()),
        ("ALTER TABLE ledger_events ALTER COLUMN topic TYPE owned_text", ()),
    )

    result = log.checkpoints.verify()

    assert not result.ok
    assert result.events_checked == 0
    assert "not the plain table of built-in column types" in (result.problem or "")
