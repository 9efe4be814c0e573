"""The checkpoints table, and the service's side of it: sign the head of a verified log, read the
stored checkpoints, and verify the whole log against them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from psycopg import Connection
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from adapters.postgres.recorder import LedgerRecorder
from api.checkpoints.derived import DerivedCheck, check_derived
from api.checkpoints.errors import CheckpointError
from api.checkpoints.keys import load_or_create_key
from api.checkpoints.signed import SignedCheckpoint, signed_message
from application.ledger import Ledger
from domain.chain import Checkpoint, Progress, Verification, verify

if TYPE_CHECKING:
    from api.bootstrap import Container

TABLE = "checkpoints"  # made by the migrations (adapters/postgres/migrations)

Pool = ConnectionPool[Connection[TupleRow]]


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

    def check_derived(self, trusted: Ed25519PublicKey | None = None) -> DerivedCheck:
        """Every snapshot and every unconfirmed as-of index row checked against the events
        (`api.checkpoints.derived`): snapshots' signatures under `trusted`, else under this
        service's key (read only when a signed snapshot is there to check)."""
        public: list[Ed25519PublicKey] = []

        def holds(message: bytes, signature: bytes) -> bool:
            if not public:
                public.append(trusted or self.key.public_key())
            try:
                public[0].verify(signature, message)
            except InvalidSignature:
                return False
            return True

        return check_derived(self._ledger, holds)
