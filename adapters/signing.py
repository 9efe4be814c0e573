"""The deployment's signing key: one Ed25519 key in a file outside the database.

It signs the chain's checkpoints (`api.checkpoints`) and the snapshots the event store writes
(`adapters.postgres.snapshots`): whoever can write the database but not read this file can forge
neither. Every process of one deployment must read the same file (`MILESTONES_SIGNING_KEY`, or
`<MILESTONES_DATA_DIR>/signing-key`); it is made on first use, readable by its owner only.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

# The name the log lines had when the key served checkpoints only.
log = logging.getLogger("api.checkpoints")


class SigningKeyError(ValueError):
    """The key file holds something else than an Ed25519 private key."""


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The signing key in `path` (PEM, PKCS#8), made on first use with owner-only access."""
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise SigningKeyError(f"{path} does not hold an Ed25519 private key")
        return key
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL: two processes starting at once must not each write a key of their own.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return load_or_create_key(path)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    log.info("made a new signing key in %s", path)
    return key
