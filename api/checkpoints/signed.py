"""A signed checkpoint: the exact message it signs, its signature checks, and its JSON file.

A checkpoint signs this exact message (UTF-8; format 2, since migration 0010):

    milestone-ledger checkpoint v2
    position=<position of the last event covered>
    head=<hex of that event's chain hash>
    count=<number of events up to and including it>
    signed_at=<ISO 8601 UTC timestamp>
    key_id=<key id of the signing key>
    previous_key_id=<key id of the key it replaces>      (a hand-over checkpoint only)

A hand-over checkpoint (`milestones keys rotate`) carries two signatures over that one message:
the new key's and the old key's. Format 1 (checkpoints signed before 0010) is the first five
lines with `v1`; its key id is derived from its stored public key all the same.
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

from adapters.signing import key_id
from api.checkpoints.errors import CheckpointError
from domain.chain import Checkpoint

FORMATS = {1: "milestone-ledger checkpoint v1", 2: "milestone-ledger checkpoint v2"}
CURRENT_FORMAT = 2


@dataclass(frozen=True)
class SignedCheckpoint:
    position: int
    head: bytes
    count: int
    signed_at: datetime
    public_key: bytes
    signature: bytes
    format: int = CURRENT_FORMAT
    # A hand-over checkpoint's second signature: the key it replaces, over the same message.
    previous_public_key: bytes | None = None
    previous_signature: bytes | None = None

    @property
    def checkpoint(self) -> Checkpoint:
        return Checkpoint(self.position, self.head, self.count)

    @property
    def key_id(self) -> str:
        return key_id(self.public_key)

    @property
    def previous_key_id(self) -> str | None:
        return None if self.previous_public_key is None else key_id(self.previous_public_key)

    @property
    def is_hand_over(self) -> bool:
        return self.previous_public_key is not None

    def message(self) -> bytes:
        if self.format == 1:
            return signed_message(self.position, self.head, self.count, self.signed_at)
        return signed_message_v2(
            self.position,
            self.head,
            self.count,
            self.signed_at,
            self.key_id,
            self.previous_key_id,
        )

    def verify_signature(self) -> None:
        """Raise `CheckpointError` unless each signature holds under the key stored beside it.

        Whether that key is one the reader trusts is another question (`api.checkpoints.signers`).
        """
        message = self.message()
        pairs = [("the signature", self.public_key, self.signature)]
        if self.previous_public_key is not None or self.previous_signature is not None:
            if self.format < 2 or not self.previous_public_key or not self.previous_signature:
                raise CheckpointError(
                    f"the hand-over checkpoint at position {self.position} lacks a signature"
                )
            pairs.append(
                ("the previous key's signature", self.previous_public_key, self.previous_signature)
            )
        for which, public, signature in pairs:
            try:
                Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
            except (InvalidSignature, ValueError):
                raise CheckpointError(
                    f"{which} of the checkpoint at position {self.position} (key "
                    f"{key_id(public)}) does not verify"
                ) from None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "format": FORMATS[self.format],
            "position": self.position,
            "head": self.head.hex(),
            "count": self.count,
            "signed_at": _timestamp(self.signed_at),
            "key_id": self.key_id,
            "public_key": base64.b64encode(self.public_key).decode(),
            "signature": base64.b64encode(self.signature).decode(),
        }
        if self.previous_public_key is not None and self.previous_signature is not None:
            data["previous_key_id"] = self.previous_key_id
            data["previous_public_key"] = base64.b64encode(self.previous_public_key).decode()
            data["previous_signature"] = base64.b64encode(self.previous_signature).decode()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SignedCheckpoint:
        try:
            formats = {name: number for number, name in FORMATS.items()}
            previous = data.get("previous_public_key")
            previous_signature = data.get("previous_signature")
            return cls(
                position=int(data["position"]),
                head=bytes.fromhex(data["head"]),
                count=int(data["count"]),
                signed_at=datetime.fromisoformat(data["signed_at"]),
                public_key=base64.b64decode(data["public_key"], validate=True),
                signature=base64.b64decode(data["signature"], validate=True),
                format=formats[data.get("format", FORMATS[1])],
                previous_public_key=None
                if previous is None
                else base64.b64decode(previous, validate=True),
                previous_signature=None
                if previous_signature is None
                else base64.b64decode(previous_signature, validate=True),
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


def signed_message_v2(
    position: int,
    head: bytes,
    count: int,
    signed_at: datetime,
    signer: str,
    previous: str | None = None,
) -> bytes:
    hand_over = "" if previous is None else f"previous_key_id={previous}\n"
    return (
        "milestone-ledger checkpoint v2\n"
        f"position={position}\nhead={head.hex()}\ncount={count}\n"
        f"signed_at={_timestamp(signed_at)}\nkey_id={signer}\n{hand_over}"
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
