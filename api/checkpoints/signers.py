"""Who signed each checkpoint, asked apart from whether the chain holds (docs/trust.md §4).

Every stored checkpoint names the key that signed it (its key id); whether its signature holds is
checked first, and a signature that does not hold is a broken log. Whether the reader trusts the
key is this module's question, answered against a keyring (the auditor's public keys, or the
service's own):

- `trusted`: the key is in the keyring;
- `rotated`: it is not, but a hand-over checkpoint signed by both keys links it to a trusted
  key, directly or through other hand-overs (a retired key, or its successor);
- `unknown`: neither. Its checkpoints are untrusted, never "broken": the chain may be intact.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from adapters.signing import key_id
from api.checkpoints.signed import SignedCheckpoint

TRUSTED = "trusted"
ROTATED = "rotated"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Signer:
    """One key that signed checkpoints, and how far the reader can trust it."""

    key_id: str
    standing: str  # TRUSTED, ROTATED or UNKNOWN
    checkpoints: int
    first_position: int
    last_position: int
    hand_overs: int  # hand-over checkpoints it signed (as the new key or the old one)

    def as_dict(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "standing": self.standing,
            "checkpoints": self.checkpoints,
            "first_position": self.first_position,
            "last_position": self.last_position,
            "hand_overs": self.hand_overs,
        }


def standings(checkpoints: Sequence[SignedCheckpoint], keyring: Iterable[bytes]) -> list[Signer]:
    """Every key that signed one of `checkpoints` (whose signatures hold), with its standing;
    `keyring` holds the trusted keys' 32 raw public bytes."""
    trusted = {key_id(raw) for raw in keyring}
    linked: dict[str, set[str]] = defaultdict(set)
    signed: dict[str, list[SignedCheckpoint]] = defaultdict(list)
    for checkpoint in checkpoints:
        signed[checkpoint.key_id].append(checkpoint)
        previous = checkpoint.previous_key_id
        if previous is not None:
            signed[previous].append(checkpoint)
            linked[checkpoint.key_id].add(previous)
            linked[previous].add(checkpoint.key_id)
    reached = set(trusted)
    queue = deque(trusted)
    while queue:
        for other in linked[queue.popleft()]:
            if other not in reached:
                reached.add(other)
                queue.append(other)
    found = []
    for signer, theirs in signed.items():
        positions = [c.position for c in theirs]
        standing = TRUSTED if signer in trusted else ROTATED if signer in reached else UNKNOWN
        found.append(
            Signer(
                signer,
                standing,
                len(theirs),
                min(positions),
                max(positions),
                sum(1 for c in theirs if c.is_hand_over),
            )
        )
    return sorted(found, key=lambda s: (s.first_position, s.key_id))
