"""The deployment's signing key: one Ed25519 key, kept outside the database, and its key id.

It signs the chain's checkpoints (`api.checkpoints`) and the snapshots the event store writes
(`adapters.postgres.snapshots`): whoever can write the database but not read the key can forge
neither. Every process of one deployment must sign with the same key, so the key comes from
configuration (`MILESTONES_SIGNING_KEY`: a file's path, such as a Docker or Kubernetes secret
file, or the PEM text itself). A process never makes one silently where other processes could
sign too: only a process on the embedded server (development: one machine, one data dir, which
every process on that server shares) makes a missing key file, and it logs that it did.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

# The name the log lines had when the key served checkpoints only.
log = logging.getLogger("api.checkpoints")

PEM_START = "-----BEGIN"
# The key id is the first 16 bytes of SHA-256 over the 32 raw bytes of the public key, in hex.
KEY_ID_BYTES = 16


class SigningKeyError(ValueError):
    """No key where configured, or something else than an Ed25519 private key."""


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public: Ed25519PublicKey | bytes) -> str:
    """The key's fingerprint: hex of the first 16 bytes of sha256(the 32 raw public-key bytes)."""
    raw = public if isinstance(public, bytes) else raw_public(public)
    return hashlib.sha256(raw).digest()[:KEY_ID_BYTES].hex()


def private_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def parse_private_key(pem: bytes, where: str) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as error:
        raise SigningKeyError(f"{where} does not hold a PEM private key: {error}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{where} does not hold an Ed25519 private key")
    return key


def write_new_key(path: Path) -> Ed25519PrivateKey | None:
    """A new key written to `path` (owner-only access); None if the file exists already.

    O_EXCL: two processes starting at once must never each write a key of their own.
    """
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return None
    with os.fdopen(fd, "wb") as out:
        out.write(private_pem(key))
        out.flush()
        os.fsync(out.fileno())
    return key


@dataclass(frozen=True)
class KeySource:
    """Where the deployment's key comes from: a file, or the PEM text itself; `may_create`
    only for development (the embedded server), where a missing file is made."""

    path: Path | None = None
    pem: str | None = None
    may_create: bool = False

    @classmethod
    def from_text(cls, text: str, *, may_create: bool = False) -> KeySource:
        """`MILESTONES_SIGNING_KEY`'s value: PEM text if it starts like PEM, else a path."""
        if text.lstrip().startswith(PEM_START):
            return cls(pem=text, may_create=False)
        return cls(path=Path(text), may_create=may_create)

    def as_text(self) -> str:
        """The inverse of `from_text` (how the event store's factory is told)."""
        return self.pem if self.pem is not None else str(self.path)

    def describe(self) -> str:
        return (
            "the key given in MILESTONES_SIGNING_KEY" if self.pem else f"the key file {self.path}"
        )

    def load(self) -> Ed25519PrivateKey:
        key, _ = self.ensure()
        return key

    def ensure(self) -> tuple[Ed25519PrivateKey, bool]:
        """The key, and whether this call made it (only when `may_create`)."""
        if self.pem is not None:
            return parse_private_key(self.pem.encode(), "MILESTONES_SIGNING_KEY"), False
        assert self.path is not None, "a key source names a file or holds the key"
        if self.path.exists():
            try:
                data = self.path.read_bytes()
            except OSError as error:
                raise SigningKeyError(f"cannot read the key file {self.path}: {error}") from None
            return parse_private_key(data, str(self.path)), False
        if not self.may_create:
            raise SigningKeyError(
                f"no signing key: {self.path} does not exist. Every process of a deployment must "
                "sign with one key: set MILESTONES_SIGNING_KEY to its file (a Docker or "
                "Kubernetes secret) or to the PEM text; make one with `milestones keys create "
                "--out FILE` (docs/operations.md)"
            )
        made = write_new_key(self.path)
        if made is None:  # another process made it first: use theirs
            return self.ensure()
        log.warning(
            "made a new development signing key in %s: it signs checkpoints and snapshots. "
            "A deployment with DATABASE_URL must configure one key for every process "
            "(MILESTONES_SIGNING_KEY)",
            self.path,
        )
        return made, True


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The key in `path`, made when missing (tests and tools that own their own key file)."""
    return KeySource(path=path, may_create=True).load()
