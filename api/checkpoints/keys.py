"""The checkpoint signing key: the deployment's Ed25519 key (`adapters.signing`), and its public
half as text.

Whoever can rewrite the events and re-chain them still cannot sign a checkpoint without it.
"""

from __future__ import annotations

import base64
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from adapters import signing
from api.checkpoints.errors import CheckpointError


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The deployment's signing key in `path`, made on first use (`adapters.signing`)."""
    try:
        return signing.load_or_create_key(path)
    except signing.SigningKeyError as error:
        raise CheckpointError(str(error)) from None


def public_key_text(key: Ed25519PublicKey) -> str:
    """The public key as base64 of its 32 raw bytes (what `milestones keys public` prints)."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def parse_public_key(text: str) -> Ed25519PublicKey:
    try:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(text.strip(), validate=True))
    except ValueError as error:
        raise CheckpointError(f"not an Ed25519 public key: {error}") from None
