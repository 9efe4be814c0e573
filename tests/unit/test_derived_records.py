"""Derived records proven against the events, without a database: the as-of index's answer
checked against its events' times, and a snapshot's signature (docs/trust.md §8)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest

from adapters.postgres.snapshots import (
    SnapshotRecord,
    SnapshotSigner,
    snapshot_message,
    snapshot_problem,
)
from application.reads import index_agrees

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
PID = UUID("7f1c1f5e-0000-4000-8000-000000000001")
CHAIN_HASH = bytes(range(32))
STATE_SHA = hashlib.sha256(b"state").digest()
TOPIC = "eventsourcing.domain:Snapshot"


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


# --- the as-of index's answer ----------------------------------------------------------------


def test_an_answer_stands_when_its_event_is_at_or_before_the_instant_and_the_next_after() -> None:
    assert index_agrees(2, at(20), {2: at(20), 3: at(30)})


def test_an_answer_for_the_last_version_stands_with_no_next_event() -> None:
    assert index_agrees(3, at(35), {3: at(30)})


def test_an_answer_whose_event_was_recorded_after_the_instant_is_not_believed() -> None:
    # A row that antedates its event.
    assert not index_agrees(2, at(15), {2: at(20), 3: at(30)})


def test_an_answer_naming_a_version_no_event_has_is_not_believed() -> None:
    # The row: version 999 at 2001.
    assert not index_agrees(999, at(0), {})


def test_an_answer_is_not_believed_when_the_next_event_was_also_recorded_by_then() -> None:
    # A later version hidden from the index: the events know better.
    assert not index_agrees(2, at(40), {2: at(20), 3: at(30)})


def test_no_answer_stands_while_the_first_event_is_after_the_instant() -> None:
    assert index_agrees(None, at(5), {1: at(10)})
    assert index_agrees(None, at(5), {})


def test_no_answer_is_not_believed_when_the_first_event_was_recorded_by_then() -> None:
    assert not index_agrees(None, at(15), {1: at(10)})


# --- a snapshot's signature ----------------------------------------------------------------------


@pytest.fixture
def signer(tmp_path: Path) -> SnapshotSigner:
    return SnapshotSigner(tmp_path / "signing-key")


def record(signer: SnapshotSigner | None, **changes: object) -> SnapshotRecord:
    """A stored snapshot of version 100 at position 210, signed by `signer` (None: unsigned)."""
    message = snapshot_message(PID, 100, 210, CHAIN_HASH, TOPIC, STATE_SHA)
    fields: dict[str, object] = {
        "project_id": PID,
        "version": 100,
        "topic": TOPIC,
        "state_sha256": STATE_SHA,
        "position": 210,
        "chain_hash": CHAIN_HASH,
        "signature": None if signer is None else signer.sign(message),
        "event_position": 210,
        "event_chain_hash": CHAIN_HASH,
    }
    fields.update(changes)
    return SnapshotRecord(**fields)  # type: ignore[arg-type]


def test_the_signed_message_names_the_project_its_version_place_in_the_chain_and_bytes() -> None:
    assert (
        snapshot_message(PID, 100, 210, CHAIN_HASH, TOPIC, STATE_SHA)
        == (
            "milestone-ledger snapshot v1\n"
            f"project={PID}\nversion=100\nposition=210\nchain_hash={CHAIN_HASH.hex()}\n"
            f"topic={TOPIC}\nstate_sha256={STATE_SHA.hex()}\n"
        ).encode()
    )


def test_a_snapshot_signed_by_the_deployment_holds(signer: SnapshotSigner) -> None:
    assert snapshot_problem(record(signer), signer.holds) is None


def test_a_snapshot_whose_bytes_changed_after_signing_does_not_hold(signer: SnapshotSigner) -> None:
    changed = record(signer, state_sha256=hashlib.sha256(b"manager: mallory").digest())

    assert snapshot_problem(changed, signer.holds) == (
        "its signature does not hold under the deployment's key"
    )


def test_a_signature_does_not_vouch_for_another_version(signer: SnapshotSigner) -> None:
    # A genuine row copied to version 103, where the chain has another hash.
    other_hash = bytes(32)
    moved = record(signer, version=103, chain_hash=other_hash, event_chain_hash=other_hash)

    assert snapshot_problem(moved, signer.holds) is not None


def test_a_snapshot_signed_by_another_key_does_not_hold(
    signer: SnapshotSigner, tmp_path: Path
) -> None:
    stranger = SnapshotSigner(tmp_path / "another-key")

    assert snapshot_problem(record(stranger), signer.holds) is not None


def test_a_snapshot_the_chain_no_longer_vouches_for_is_named_so(signer: SnapshotSigner) -> None:
    rewritten = record(signer, event_chain_hash=bytes(32))

    assert snapshot_problem(rewritten, signer.holds) == (
        "taken of another log: the chain no longer has its hash at that version"
    )


def test_a_snapshot_of_a_version_no_event_has_is_orphaned(signer: SnapshotSigner) -> None:
    orphan = record(signer, event_position=None, event_chain_hash=None)

    assert snapshot_problem(orphan, signer.holds) == "orphaned"


def test_an_unsigned_snapshot_is_unsigned_for_a_replay_to_judge(signer: SnapshotSigner) -> None:
    assert snapshot_problem(record(None), signer.holds) == "unsigned"


def test_a_signature_that_held_is_remembered_but_vouches_for_nothing_else(
    signer: SnapshotSigner,
) -> None:
    message = snapshot_message(PID, 100, 210, CHAIN_HASH, TOPIC, STATE_SHA)
    signature = signer.sign(message)
    assert signer.holds(message, signature)

    assert signer.holds(message, signature)  # remembered
    assert not signer.holds(message[:-1] + b"0\n", signature)
    assert not signer.holds(message, signature[:-1] + bytes([signature[-1] ^ 1]))
