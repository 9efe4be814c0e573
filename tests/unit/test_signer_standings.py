"""Who signed each checkpoint, with hand-overs followed by position (review finding F6).

Before, a hand-over linked two keys in both directions for good: with only the new key trusted,
the leaked old key stayed `rotated`, and a thief's key that the stolen old key "handed over" to
after the rotation was `rotated` too. Signatures are not checked here (the store checks them
before); the keys are 32 distinct bytes each.
"""

from __future__ import annotations

from datetime import UTC, datetime

from adapters.signing import key_id
from api.checkpoints.signed import SignedCheckpoint
from api.checkpoints.signers import RETIRED, ROTATED, TRUSTED, UNKNOWN, standings

A, B, C, X = (bytes([n]) * 32 for n in (1, 2, 3, 9))


def checkpoint(position: int, key: bytes, previous: bytes | None = None) -> SignedCheckpoint:
    return SignedCheckpoint(
        position=position,
        head=b"\0" * 32,
        count=position,
        signed_at=datetime(2026, 12, 5, tzinfo=UTC),
        public_key=key,
        signature=b"s" * 64,
        previous_public_key=previous,
        previous_signature=None if previous is None else b"p" * 64,
    )


def standing(signed: list[SignedCheckpoint], keyring: list[bytes]) -> dict[bytes, str]:
    by_id = {s.key_id: s.standing for s in standings(signed, keyring)}
    return {key: by_id[key_id(key)] for key in (A, B, C, X) if key_id(key) in by_id}


ROTATION = [checkpoint(10, A), checkpoint(20, A), checkpoint(30, B, previous=A), checkpoint(40, B)]


def test_a_rotation_is_trusted_from_either_end() -> None:
    assert standing(ROTATION, [B]) == {A: ROTATED, B: TRUSTED}
    assert standing(ROTATION, [A]) == {A: TRUSTED, B: ROTATED}
    assert standing(ROTATION, [X]) == {A: UNKNOWN, B: UNKNOWN}


def test_two_rotations_chain_back_from_the_newest_key() -> None:
    signed = [*ROTATION, checkpoint(50, C, previous=B), checkpoint(60, C)]
    assert standing(signed, [C]) == {A: ROTATED, B: ROTATED, C: TRUSTED}


def test_a_retired_key_that_signs_again_is_not_trusted_for_it() -> None:
    # The old key, stolen, signs a checkpoint of its own after the hand-over.
    assert standing([*ROTATION, checkpoint(50, A)], [B]) == {A: RETIRED, B: TRUSTED}


def test_a_thiefs_key_handed_over_from_the_stolen_retired_key_is_unknown() -> None:
    signed = [*ROTATION, checkpoint(50, X, previous=A), checkpoint(60, X)]
    found = standing(signed, [B])
    assert found[X] == UNKNOWN
    assert found[A] == RETIRED  # it signed the thief's hand-over after its own
    # Even for an auditor who kept only the old key: a key hands over once.
    assert standing(signed, [A])[X] == UNKNOWN
