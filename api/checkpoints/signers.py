"""Who signed each checkpoint, asked apart from whether the chain holds (docs/trust.md §4).

Every stored checkpoint names the key that signed it (its key id); whether its signature holds is
checked first, and a signature that does not hold is a broken log. Whether the reader trusts the
key is this module's question, answered against a keyring (the auditor's public keys, or the
service's own):

- `trusted`: the key is in the keyring;
- `rotated`: it is not, but hand-over checkpoints (signed by both keys) link it to a trusted
  key, directly or through other hand-overs, at the positions where it signed (a retired key
  before its hand-over, or its successor after it; see `standings`);
- `retired`: linked so, but it also signed where no hand-over vouches for it (after it handed
  over: a process not yet restarted with the new key, or a stolen key) — untrusted;
- `unknown`: neither. Its checkpoints are untrusted, never "broken": the chain may be intact.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from adapters.signing import key_id
from api.checkpoints.signed import SignedCheckpoint

TRUSTED = "trusted"
ROTATED = "rotated"
UNKNOWN = "unknown"
RETIRED = "retired"


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
    `keyring` holds the trusted keys' 32 raw public bytes.

    Trust follows hand-overs with their positions (review finding F6): a key in the keyring is
    trusted at every position. A hand-over at position p from an old key O to a new key N
    (signed by both) makes N good from p on if O was good at p, and O good up to p if N was
    good at p — O was the deployment's key before it handed over, not after. A key hands over
    once: a later hand-over signed by the same old key (a stolen retired key naming a key of
    its own) is not followed. A key not in the keyring is `rotated` when every checkpoint it
    signed lies where it was good, `retired` when some lie outside (it signed again after
    handing over), else `unknown`; a key reached only through such a signature is unknown."""
    trusted = {key_id(raw) for raw in keyring}
    signed: dict[str, list[SignedCheckpoint]] = defaultdict(list)
    first_hand_over: dict[str, SignedCheckpoint] = {}
    for checkpoint in sorted(checkpoints, key=lambda c: c.position):
        signed[checkpoint.key_id].append(checkpoint)
        previous = checkpoint.previous_key_id
        if previous is not None:
            signed[previous].append(checkpoint)
            first_hand_over.setdefault(previous, checkpoint)
    hand_overs = list(first_hand_over.values())
    infinity = float("inf")
    # Where each key is good, as one interval of positions (keys reached so far).
    good: dict[str, tuple[float, float]] = dict.fromkeys(trusted, (-infinity, infinity))

    def widen(key: str, low: float, high: float) -> bool:
        old = good.get(key)
        new = (low, high) if old is None else (min(old[0], low), max(old[1], high))
        if new == old:
            return False
        good[key] = new
        return True

    def good_at(key: str, position: int) -> bool:
        window = good.get(key)
        return window is not None and window[0] <= position <= window[1]

    changed = True
    while changed:
        changed = False
        for h in hand_overs:
            old, new = h.previous_key_id, h.key_id
            assert old is not None
            if good_at(old, h.position):
                changed |= widen(new, h.position, infinity)
            if good_at(new, h.position):
                changed |= widen(old, -infinity, h.position)
    found = []
    for signer, theirs in signed.items():
        positions = [c.position for c in theirs]
        if signer in trusted:
            standing = TRUSTED
        elif all(good_at(signer, position) for position in positions):
            standing = ROTATED
        elif signer in good:
            standing = RETIRED  # vouched for, but it also signed where no hand-over vouches
        else:
            standing = UNKNOWN
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
