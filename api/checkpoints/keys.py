"""The checkpoint signing key: the deployment's Ed25519 key (`adapters.signing`), its public half
as text, and an auditor's keyring.

Whoever can rewrite the events and re-chain them still cannot sign a checkpoint without it.
"""

from __future__ import annotations

import base64
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from adapters import signing
from api.checkpoints.errors import CheckpointError


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The signing key in `path`, made when missing (a key file the caller owns)."""
    try:
        return signing.load_or_create_key(path)
    except signing.SigningKeyError as error:
        raise CheckpointError(str(error)) from None


def load_key(source: signing.KeySource) -> Ed25519PrivateKey:
    """The configured key; made only where the source allows (development)."""
    try:
        return source.load()
    except signing.SigningKeyError as error:
        raise CheckpointError(str(error)) from None


def public_key_text(key: Ed25519PublicKey) -> str:
    """The public key as base64 of its 32 raw bytes (what `milestones keys public` prints)."""
    return base64.b64encode(signing.raw_public(key)).decode()


def parse_public_key(text: str) -> Ed25519PublicKey:
    try:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(text.strip(), validate=True))
    except ValueError as error:
        raise CheckpointError(f"not an Ed25519 public key: {error}") from None


def read_keyring(path: Path) -> list[Ed25519PublicKey]:
    """An auditor's keyring: one base64 public key per line (`milestones keys public`'s
    output); blank lines and lines starting with `#` are skipped."""
    try:
        lines = path.read_text().splitlines()
    except OSError as error:
        raise CheckpointError(f"cannot read the keyring {path}: {error}") from None
    keys = []
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        try:
            keys.append(parse_public_key(text.split()[0]))
        except CheckpointError as error:
            raise CheckpointError(f"{path} line {number}: {error}") from None
    return keys
