"""Signed checkpoints of the hash chain's head, and the whole-log verification that uses them.

The signing key (Ed25519) is a file outside the database: whoever can rewrite the events and
re-chain them still cannot sign a checkpoint, and an auditor who keeps an exported checkpoint
(and the public key) can prove that the log still holds what it held then.

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
import logging
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, LiteralString

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from psycopg import Connection
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from adapters.postgres.recorder import LedgerRecorder
from application.ledger import Ledger
from domain.chain import Checkpoint, Progress, Verification, verify

if TYPE_CHECKING:
    from api.bootstrap import Container

log = logging.getLogger(__name__)

TABLE = "checkpoints"
DDL: LiteralString = """
CREATE TABLE IF NOT EXISTS checkpoints (
    position bigint PRIMARY KEY,
    head bytea NOT NULL CHECK (length(head) = 32),
    count bigint NOT NULL,
    signed_at timestamptz NOT NULL,
    public_key bytea NOT NULL,
    signature bytea NOT NULL
)
"""

Pool = ConnectionPool[Connection[TupleRow]]


class CheckpointError(ValueError):
    """A checkpoint file cannot be read, or its signature does not verify."""


# --- the key ---------------------------------------------------------------------------------


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The signing key in `path` (PEM, PKCS#8), made on first use with owner-only access."""
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise CheckpointError(f"{path} does not hold an Ed25519 private key")
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
    log.info("made a new checkpoint signing key in %s", path)
    return key


def public_key_text(key: Ed25519PublicKey) -> str:
    """The public key as base64 of its 32 raw bytes (what `milestones keys public` prints)."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def parse_public_key(text: str) -> Ed25519PublicKey:
    try:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(text.strip(), validate=True))
    except ValueError as error:
        raise CheckpointError(f"not an Ed25519 public key: {error}") from None


# --- signed checkpoints ----------------------------------------------------------------------


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


# --- the service's side ----------------------------------------------------------------------


class Checkpoints:
    """Takes signed checkpoints of the chain and verifies the whole log against them."""

    def __init__(self, ledger: Ledger, pool: Pool, key_path: Path) -> None:
        self._ledger = ledger
        self._pool = pool
        self._key_path = key_path
        self._key: Ed25519PrivateKey | None = None

    @classmethod
    def of(cls, container: Container) -> Checkpoints:
        """The checkpoints of a wired process, signed with the configured key."""
        return cls(container.ledger, container.pool, container.settings.signing_key_path)

    @property
    def key(self) -> Ed25519PrivateKey:
        if self._key is None:
            self._key = load_or_create_key(self._key_path)
        return self._key

    @property
    def _recorder(self) -> LedgerRecorder:
        recorder = self._ledger.recorder
        assert isinstance(recorder, LedgerRecorder), "checkpoints need the PostgreSQL store"
        return recorder

    def create(self, progress: Progress | None = None) -> SignedCheckpoint | None:
        """Verify the log, then sign its head; None when the log is empty.

        A broken log is never signed: the checkpoint would vouch for the tampering.
        """
        result = self.verify(progress=progress)
        if not result.ok:
            raise CheckpointError(
                f"the log is broken at position {result.first_broken_position}: {result.problem}"
            )
        if result.head is None or result.head_position is None:
            return None
        signed_at = datetime.now(UTC)
        message = signed_message(
            result.head_position, result.head, result.events_checked, signed_at
        )
        public = self.key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        checkpoint = SignedCheckpoint(
            position=result.head_position,
            head=result.head,
            count=result.events_checked,
            signed_at=signed_at,
            public_key=public,
            signature=self.key.sign(message),
        )
        with self._pool.connection() as conn:
            conn.execute(
                "INSERT INTO checkpoints (position, head, count, signed_at, public_key, signature)"
                " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (position) DO NOTHING",
                (
                    checkpoint.position,
                    checkpoint.head,
                    checkpoint.count,
                    checkpoint.signed_at,
                    checkpoint.public_key,
                    checkpoint.signature,
                ),
            )
        return checkpoint

    def stored(self) -> list[SignedCheckpoint]:
        with self._pool.connection() as conn:
            rows = conn.execute(
                "SELECT position, head, count, signed_at, public_key, signature"
                " FROM checkpoints ORDER BY position"
            ).fetchall()
        return [
            SignedCheckpoint(int(p), bytes(h), int(c), at, bytes(k), bytes(s))
            for p, h, c, at, k, s in rows
        ]

    def verify(
        self,
        kept: SignedCheckpoint | None = None,
        *,
        trusted: Ed25519PublicKey | None = None,
        progress: Progress | None = None,
    ) -> Verification:
        """Check the whole chain, the stored checkpoints, and `kept` (an auditor's) if given.

        A stored checkpoint whose signature does not verify under this service's key is itself
        a finding: it was forged or altered.
        """
        checkpoints: list[Checkpoint] = []
        stored_checkpoints = self.stored()
        # Only read (or make) the key when there is a signature to check.
        public = trusted or (self.key.public_key() if stored_checkpoints else None)
        for stored in stored_checkpoints:
            try:
                stored.verify_signature(public)
            except CheckpointError as error:
                return Verification(
                    ok=False,
                    events_checked=0,
                    head=None,
                    head_position=None,
                    first_broken_position=stored.position,
                    problem=f"stored checkpoint: {error}",
                )
            checkpoints.append(stored.checkpoint)
        if kept is not None:
            kept.verify_signature(trusted)
            checkpoints = [c for c in checkpoints if c.position != kept.position]
            checkpoints.append(kept.checkpoint)
        return verify(self._recorder.stored_rows(), checkpoints, progress=progress)


class CheckpointTimer:
    """Takes a checkpoint every `interval` seconds (0: never), in a daemon thread."""

    def __init__(self, checkpoints: Checkpoints, interval: float) -> None:
        self._checkpoints = checkpoints
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_position: int | None = None

    @classmethod
    def of(cls, container: Container) -> CheckpointTimer:
        """The timer of a wired process, at `MILESTONES_CHECKPOINT_INTERVAL`."""
        return cls(Checkpoints.of(container), container.settings.checkpoint_interval)

    def start(self) -> None:
        if self._interval <= 0 or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="checkpoints", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                checkpoint = self._checkpoints.create()
            except CheckpointError as error:
                log.error("no checkpoint taken: %s", error)
                continue
            except Exception:
                log.warning("taking a checkpoint failed; trying again later", exc_info=True)
                continue
            if checkpoint is not None and checkpoint.position != self.last_position:
                self.last_position = checkpoint.position
                log.info("signed checkpoint at position %s", checkpoint.position)
