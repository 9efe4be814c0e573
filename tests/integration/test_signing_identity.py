"""One signing identity per deployment, with rotation (issue 14, item 1).

Processes sign checkpoints of one database with the same key or with different keys; `milestones
verify` answers apart whether the chain is intact and who signed each checkpoint. Only a broken
chain or a bad signature is BROKEN; a checkpoint by a key outside the keyring is UNTRUSTED.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID, uuid4

import psycopg
import pytest

from adapters.signing import KeySource, SigningKeyError, key_id, load_or_create_key
from api.bootstrap import Container, bootstrap, upgrade
from api.checkpoints import Checkpoints, CheckpointTimer, public_key_text
from api.settings import Settings
from application.access import Principal
from cli.main import main
from domain.project import Project
from domain.roles import ProjectRole
from tests.commanding import run_as
from tests.integration.processes import MILESTONES, REPO, service_env, wait_until
from tests.integration.scratch import scratch_database

EXIT_BROKEN, EXIT_UNREADABLE, EXIT_UNTRUSTED = 1, 2, 4


@dataclass
class Deployment:
    url: str
    container: Container
    project_id: UUID
    keys: Path

    def add_events(self, count: int = 2) -> None:
        def act(project: Project) -> None:
            for _ in range(count):
                project.add_phase(f"Phase {uuid4().hex[:8]}", actor="alice")

        run_as(
            self.container.ledger, self.project_id, act, actor="alice", needs=ProjectRole.MANAGER
        )

    def key(self, name: str) -> Path:
        path = self.keys / name
        load_or_create_key(path)
        return path

    def public(self, name: str) -> str:
        return public_key_text(load_or_create_key(self.key(name)).public_key())

    def key_id(self, name: str) -> str:
        return key_id(load_or_create_key(self.key(name)).public_key())

    def milestones(self, key: str, *args: str) -> subprocess.CompletedProcess[str]:
        """`milestones ARGS` in a process of its own, signing with the key `key`."""
        env = service_env(self.url, MILESTONES_SIGNING_KEY=str(self.key(key)))
        return subprocess.run(
            [*MILESTONES, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
        )

    def checkpoint_rows(self) -> list[tuple[int, str, bool]]:
        with psycopg.connect(self.url) as conn:
            rows = conn.execute(
                "SELECT position, key_id, previous_public_key IS NOT NULL FROM checkpoints"
                " ORDER BY position, signed_at"
            ).fetchall()
        return [(int(p), str(k), bool(h)) for p, k, h in rows]


@pytest.fixture
def deployment(database_url: str, tmp_path: Path) -> Iterator[Deployment]:
    with scratch_database(database_url, "signing") as url:
        settings = Settings(pool_size=2, pool_max_overflow=2, signing_key=tmp_path / "a")
        upgrade(url, settings)
        container = bootstrap(settings, url)
        try:
            created = container.ledger.create_project(Principal("alice"), name="Signed")
            deployment = Deployment(url, container, created.project_id, tmp_path)
            deployment.add_events()
            yield deployment
        finally:
            container.close()


def test_two_processes_with_one_key_sign_checkpoints_that_verify_intact_and_trusted(
    deployment: Deployment,
) -> None:
    first = deployment.milestones("a", "checkpoint", "create")
    deployment.add_events()
    second = deployment.milestones("a", "checkpoint", "create")

    verified = deployment.milestones("a", "verify")

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "intact: " in verified.stdout
    assert f"signed by trusted key {deployment.key_id('a')}: 2 checkpoint(s)" in verified.stdout
    assert "BROKEN" not in verified.stdout


def test_two_processes_with_different_keys_leave_an_intact_chain_with_an_untrusted_signer(
    deployment: Deployment,
) -> None:
    """The issue's reproduction: the second process's checkpoint used to fail, and `verify`
    said BROKEN for an intact chain."""
    first = deployment.milestones("a", "checkpoint", "create")
    deployment.add_events()
    second = deployment.milestones("b", "checkpoint", "create")

    as_a = deployment.milestones("a", "verify")
    both = deployment.milestones(
        "a",
        "verify",
        "--public-key",
        deployment.public("a"),
        "--public-key",
        deployment.public("b"),
    )

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert [k for _, k, _ in deployment.checkpoint_rows()] == [
        deployment.key_id("a"),
        deployment.key_id("b"),
    ]
    assert as_a.returncode == EXIT_UNTRUSTED, as_a.stdout + as_a.stderr
    assert "intact: " in as_a.stdout
    assert "BROKEN" not in as_a.stdout
    assert f"UNTRUSTED: 1 checkpoint(s) signed by key {deployment.key_id('b')}" in as_a.stdout
    assert f"signed by trusted key {deployment.key_id('a')}" in as_a.stdout
    assert both.returncode == 0, both.stdout + both.stderr


def test_a_process_of_a_deployment_without_a_key_refuses_to_start_and_makes_none(
    deployment: Deployment,
) -> None:
    missing = deployment.keys / "never-made"
    env = service_env(deployment.url, MILESTONES_SIGNING_KEY=str(missing))

    done = subprocess.run(
        [*MILESTONES, "worker"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 2
    assert "MILESTONES_SIGNING_KEY" in done.stderr
    assert not missing.exists()


def test_rotation_hands_over_with_both_signatures_and_either_key_trusts_the_other(
    deployment: Deployment,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", deployment.url)
    monkeypatch.setenv("MILESTONES_SIGNING_KEY", str(deployment.key("a")))
    assert main(["checkpoint", "create"]) == 0
    deployment.add_events()
    new = deployment.keys / "new"

    assert main(["keys", "rotate", "--out", str(new)]) == 0
    new_public = capsys.readouterr().out.strip().splitlines()[-1]
    new_id = key_id(load_or_create_key(new).public_key())
    monkeypatch.setenv("MILESTONES_SIGNING_KEY", str(new))
    deployment.add_events()
    assert main(["checkpoint", "create"]) == 0
    capsys.readouterr()

    assert deployment.checkpoint_rows()[1:] == [
        (deployment.checkpoint_rows()[1][0], new_id, True),
        (deployment.checkpoint_rows()[2][0], new_id, False),
    ]
    assert main(["verify", "--public-key", new_public]) == 0
    out = capsys.readouterr().out
    assert f"signed by rotated key {deployment.key_id('a')}: 2 checkpoint(s)" in out
    assert f"signed by trusted key {new_id}: 2 checkpoint(s)" in out
    assert main(["verify", "--public-key", deployment.public("a")]) == 0
    assert f"signed by rotated key {new_id}" in capsys.readouterr().out
    assert main(["verify", "--public-key", deployment.public("stranger")]) == EXIT_UNTRUSTED
    out = capsys.readouterr().out
    assert "intact: " in out
    assert f"UNTRUSTED: 2 checkpoint(s) signed by key {new_id}" in out


def test_snapshots_signed_before_a_rotation_still_hold_under_the_new_key(
    deployment: Deployment,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Review finding F4: after a rotation, `verify` called the old key's snapshots forged."""
    deployment.add_events(120)  # a snapshot at version 100, signed by the first key
    with psycopg.connect(deployment.url) as conn:
        row = conn.execute("SELECT count(*) FROM ledger_snapshots").fetchone()
    assert row is not None
    assert row[0] >= 1
    monkeypatch.setenv("DATABASE_URL", deployment.url)
    monkeypatch.setenv("MILESTONES_SIGNING_KEY", str(deployment.key("a")))
    new = deployment.keys / "new"
    assert main(["keys", "rotate", "--out", str(new)]) == 0
    monkeypatch.setenv("MILESTONES_SIGNING_KEY", str(new))
    capsys.readouterr()

    assert main(["verify"]) == 0
    out = capsys.readouterr().out
    assert "DO NOT HOLD" not in out
    assert f"signed by rotated key {deployment.key_id('a')}" in out


def test_a_hand_over_whose_old_signature_was_forged_is_broken(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", deployment.url)
    monkeypatch.setenv("MILESTONES_SIGNING_KEY", str(deployment.key("a")))
    assert main(["keys", "rotate", "--out", str(deployment.keys / "new")]) == 0
    with psycopg.connect(deployment.url, autocommit=True) as conn, conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")
        conn.execute("UPDATE checkpoints SET previous_signature = %s", (bytes(64),))
    capsys.readouterr()

    assert main(["verify"]) == EXIT_BROKEN
    out = capsys.readouterr().out
    assert "BROKEN at position" in out
    assert "the previous key's signature" in out


def test_a_keyring_file_that_cannot_be_read_checks_nothing(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", deployment.url)

    assert main(["verify", "--keyring", str(deployment.keys / "absent")]) == EXIT_UNREADABLE


def test_exactly_one_process_signs_periodic_checkpoints_and_another_takes_over(
    deployment: Deployment,
) -> None:
    checkpoints = Checkpoints.of(deployment.container)
    conninfo = lambda: deployment.url  # noqa: E731 - the container's pool would do as well
    first = CheckpointTimer(checkpoints, 3600, conninfo, holder="first")
    second = CheckpointTimer(checkpoints, 3600, conninfo, holder="second")
    try:
        assert first.leads()
        second.take()
        assert not second.leads()
        assert deployment.checkpoint_rows() == []
        first.take()
        assert len(deployment.checkpoint_rows()) == 1

        first.stop()  # its session ends, as when its process dies

        # The server frees the lock once that backend has exited: a moment later.
        assert wait_until(lambda: second.leads() or None, 10, "the second to lead")
    finally:
        first.stop()
        second.stop()


def test_only_the_embedded_server_makes_a_missing_key_and_a_key_may_be_given_as_text(
    tmp_path: Path,
) -> None:
    deployment = Settings(database_url="postgresql://h/db", data_dir=tmp_path / "d")
    development = Settings(data_dir=tmp_path / "dev")
    given_key = load_or_create_key(tmp_path / "given")
    pem = (tmp_path / "given").read_text()

    with pytest.raises(SigningKeyError, match="MILESTONES_SIGNING_KEY"):
        deployment.signing_key_source.load()
    made, created = development.signing_key_source.ensure()
    given = Settings.from_env({"MILESTONES_SIGNING_KEY": pem}).signing_key_source

    again, created_again = development.signing_key_source.ensure()

    assert created
    assert not created_again
    assert key_id(again.public_key()) == key_id(made.public_key())
    assert not (tmp_path / "d" / "signing-key").exists()
    assert given == KeySource(pem=pem.strip())
    assert key_id(given.load().public_key()) == key_id(given_key.public_key())
