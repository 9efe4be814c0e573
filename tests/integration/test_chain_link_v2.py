"""The next chain link (version 2, migration 0050): every row sealed after the upgrade chains its
row digest; the rows sealed before keep their version 1 hashes and keep verifying; `milestones
verify` checks both across the switch and finds a changed byte on either side of it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg
import pytest

from adapters.postgres.migrate import migrate
from api.bootstrap import Container, bootstrap
from api.checkpoints import Checkpoints
from api.settings import Settings
from application.access import Principal
from cli.main import main
from domain.chain import GENESIS, LinkVersion, link, link_digest, row_digest
from tests.integration.scratch import scratch_database

BEFORE_0050 = "0049"  # every migration id below 0050 sorts before it


@dataclass
class Upgraded:
    url: str
    container: Container
    checkpoints: Checkpoints
    old: list[int]  # positions sealed before 0050
    new: list[int]  # positions sealed after it

    def rows(self) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url) as conn:
            return [
                (int(p), s, int(v), t, bytes(st), bytes(h))
                for p, s, v, t, st, h in conn.execute(
                    "SELECT notification_id, originator_id, originator_version, topic, state,"
                    " chain_hash FROM ledger_events ORDER BY notification_id"
                ).fetchall()
            ]

    def flip(self, position: int) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn, conn.transaction():
            conn.execute("SET LOCAL session_replication_role = replica")
            conn.execute(
                "UPDATE ledger_events SET state = set_byte(state, 0, get_byte(state, 0) # 1)"
                " WHERE notification_id = %s",
                (position,),
            )


def _positions(url: str) -> list[int]:
    with psycopg.connect(url) as conn:
        return [
            int(r[0])
            for r in conn.execute(
                "SELECT notification_id FROM ledger_events ORDER BY notification_id"
            ).fetchall()
        ]


@pytest.fixture
def upgraded(database_url: str, tmp_path: Path) -> Iterator[Upgraded]:
    with scratch_database(database_url, "ml_link2") as url:
        # A database as the code before 0050 left it, with events sealed by version 1.
        migrate(url, until=BEFORE_0050)
        with psycopg.connect(url, autocommit=True) as conn:
            for n in range(3):
                conn.execute(
                    "INSERT INTO ledger_events (originator_id, originator_version, topic, state)"
                    " VALUES (%s, 1, 'domain.events:ProjectCreated', %s)",
                    (uuid4(), f'{{"n": {n}}}'.encode()),
                )
        old = _positions(url)
        migrate(url)
        settings = Settings(pool_size=2, pool_max_overflow=2, signing_key=tmp_path / "key")
        container = bootstrap(settings, url)
        try:
            created = container.ledger.create_project(Principal("alice"), name="After 0050")
            assert created.project_id is not None
            new = [p for p in _positions(url) if p not in old]
            checkpoints = Checkpoints(container.ledger, container.pool, settings.signing_key_path)
            yield Upgraded(url, container, checkpoints, old, new)
        finally:
            container.close()


def test_the_upgrade_records_version_2_from_the_first_position_after_the_stored_events(
    upgraded: Upgraded,
) -> None:
    assert upgraded.checkpoints.link_versions() == [
        LinkVersion(1, 1),
        LinkVersion(upgraded.old[-1] + 1, 2),
    ]


def test_old_rows_keep_version_1_hashes_and_new_rows_chain_their_digest(
    upgraded: Upgraded,
) -> None:
    previous = GENESIS
    rows = upgraded.rows()
    assert [r[0] for r in rows] == upgraded.old + upgraded.new
    assert upgraded.new
    for position, stream, version, topic, state, stored in rows:
        if position in upgraded.old:
            expected = link(previous, position, stream, version, topic, state, link_version=1)
        else:
            expected = link_digest(previous, row_digest(position, stream, version, topic, state))
            assert expected == link(previous, position, stream, version, topic, state)
        assert stored == expected, position
        previous = expected


def test_the_database_computes_the_same_row_digest(upgraded: Upgraded) -> None:
    position, stream, version, topic, state, _ = upgraded.rows()[-1]
    with psycopg.connect(upgraded.url) as conn:
        row = conn.execute(
            "SELECT ledger_events_row_digest(notification_id, originator_id, originator_version,"
            " topic, state) FROM ledger_events WHERE notification_id = %s",
            (position,),
        ).fetchone()
    assert row is not None
    assert bytes(row[0]) == row_digest(position, stream, version, topic, state)


def test_a_checkpoint_across_the_switch_verifies(upgraded: Upgraded) -> None:
    signed = upgraded.checkpoints.create()
    assert signed is not None

    result = upgraded.checkpoints.verify()

    assert result.ok, result.problem
    assert result.events_checked == len(upgraded.old) + len(upgraded.new)
    assert result.checkpoints_checked == 1


@pytest.mark.parametrize("side", ["old", "new"])
def test_a_flipped_byte_is_found_at_its_position_on_either_side_of_the_switch(
    upgraded: Upgraded, side: str
) -> None:
    target = (upgraded.old if side == "old" else upgraded.new)[1 if side == "old" else 0]
    upgraded.flip(target)

    result = upgraded.checkpoints.verify()

    assert not result.ok
    assert result.first_broken_position == target


def test_the_switch_cannot_be_moved(upgraded: Upgraded) -> None:
    with (
        psycopg.connect(upgraded.url) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute("UPDATE chain_versions SET from_position = 1 WHERE version = 2")


def test_milestones_verify_reads_both_links(
    upgraded: Upgraded,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", upgraded.url)
    upgraded.checkpoints.key  # the deployment's key exists  # noqa: B018
    monkeypatch.setenv("MILESTONES_SIGNING_KEY", str(upgraded.container.settings.signing_key_path))
    assert main(["checkpoint", "create"]) == 0

    assert main(["verify"]) == 0
    total = len(upgraded.old) + len(upgraded.new)
    assert f"intact: {total} events" in capsys.readouterr().out
