"""A signed checkpoint: the exact message it signs, its signature check, and its JSON file.

A checkpoint signs this exact message (UTF-8):

    milestone-ledger checkpoint v1
    position=<position of the last event covered>
    head=<hex of that event's chain hash>
    count=<number of events up to and including it>
    signed_at=<ISO 8601 UTC timestamp>
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from api.checkpoints.errors import CheckpointError
from api.checkpoints.keys import public_key_text
from domain.chain import Checkpoint


@dataclass(frozen=True)
class SignedCheckpoint:
    position: int
    head: bytes
    count: int
    signed_at: datetime
    public_key: bytes
    signature: bytes

    @property
    def checkpoint(self) -> Checkpoint:
        return Checkpoint(self.position, self.head, self.count)

    def message(self) -> bytes:
        return signed_message(self.position, self.head, self.count, self.signed_at)

    def verify_signature(self, trusted: Ed25519PublicKey | None = None) -> None:
        """Raise `CheckpointError` unless the signature is good (by `trusted`, if given)."""
        key = Ed25519PublicKey.from_public_bytes(self.public_key)
        if trusted is not None and public_key_text(trusted) != public_key_text(key):
            raise CheckpointError("the checkpoint was signed by another key than the trusted one")
        try:
            key.verify(self.signature, self.message())
        except InvalidSignature:
            raise CheckpointError(
                f"the signature of the checkpoint at position {self.position} does not verify"
            ) from None

    def to_json(self) -> dict[str, Any]:
        return {
            "format": "milestone-ledger checkpoint v1",
            "position": self.position,
            "head": self.head.hex(),
            "count": self.count,
            "signed_at": _timestamp(self.signed_at),
            "public_key": base64.b64encode(self.public_key).decode(),
            "signature": base64.b64encode(self.signature).decode(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SignedCheckpoint:
        try:
            return cls(
                position=int(data["position"]),
                head=bytes.fromhex(data["head"]),
                count=int(data["count"]),
                signed_at=datetime.fromisoformat(data["signed_at"]),
                public_key=base64.b64decode(data["public_key"], validate=True),
                signature=base64.b64decode(data["signature"], validate=True),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise CheckpointError(f"not a checkpoint: {error!r}") from None


def _timestamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def signed_message(position: int, head: bytes, count: int, signed_at: datetime) -> bytes:
    return (
        "milestone-ledger checkpoint v1\n"
        f"position={position}\nhead={head.hex()}\ncount={count}\n"
        f"signed_at={_timestamp(signed_at)}\n"
    ).encode()


def read_file(path: Path) -> SignedCheckpoint:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise CheckpointError(f"cannot read checkpoint {path}: {error}") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{path} does not hold a checkpoint")
    return SignedCheckpoint.from_json(data)


def write_file(path: Path, checkpoint: SignedCheckpoint) -> None:
    path.write_text(json.dumps(checkpoint.to_json(), indent=2) + "\n")
