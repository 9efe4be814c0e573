"""The checkpoints table, and the service's side of it: sign the head of a verified log (and hand
it over to a new key), read the stored checkpoints, and audit the whole log against them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from psycopg import Connection
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from adapters.postgres.recorder import LedgerRecorder
from adapters.signing import KeySource, SigningKeyError, key_id, raw_public
from api.checkpoints.derived import DerivedCheck, check_derived
from api.checkpoints.errors import CheckpointError
from api.checkpoints.signed import CURRENT_FORMAT, SignedCheckpoint
from api.checkpoints.signers import RETIRED, ROTATED, UNKNOWN, Signer, standings
from application.ledger import Ledger
from domain.chain import Checkpoint, LinkVersion, Progress, UnreadableLogError, Verification, verify

if TYPE_CHECKING:
    from api.bootstrap import Container

TABLE = "checkpoints"  # made by the migrations (adapters/postgres/migrations)

Pool = ConnectionPool[Connection[TupleRow]]

_COLUMNS = (
    "position, head, count, signed_at, public_key, signature, format,"
    " previous_public_key, previous_signature"
)


@dataclass
class Audit:
    """The two questions `verify` answers, apart: is the chain intact (positions, hashes, and
    every checkpoint's signature), and who signed each checkpoint (`signers`)."""

    chain: Verification
    signers: list[Signer] = field(default_factory=list)
    keyring: list[str] = field(default_factory=list)  # the trusted key ids

    @property
    def untrusted(self) -> list[Signer]:
        return [s for s in self.signers if s.standing in (UNKNOWN, RETIRED)]

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.chain.as_dict(),
            "signed_by_trusted_keys": not self.untrusted,
            "keyring": self.keyring,
            "signers": [signer.as_dict() for signer in self.signers],
        }


class Checkpoints:
    """Takes signed checkpoints of the chain and audits the whole log against them."""

    def __init__(self, ledger: Ledger, pool: Pool, key: KeySource | Path) -> None:
        self._ledger = ledger
        self._pool = pool
        # A bare path is a key file of the caller's own, made when missing (tests, tools).
        self._source = key if isinstance(key, KeySource) else KeySource(key, None, True)
        self._key: Ed25519PrivateKey | None = None

    @classmethod
    def of(cls, container: Container) -> Checkpoints:
        """The checkpoints of a wired process, signed with the configured key."""
        return cls(container.ledger, container.pool, container.settings.signing_key_source)

    @property
    def key(self) -> Ed25519PrivateKey:
        if self._key is None:
            try:
                self._key = self._source.load()
            except SigningKeyError as error:
                raise CheckpointError(str(error)) from None
        return self._key

    @property
    def _recorder(self) -> LedgerRecorder:
        recorder = self._ledger.recorder
        assert isinstance(recorder, LedgerRecorder), "checkpoints need the PostgreSQL store"
        return recorder

    def create(self, progress: Progress | None = None) -> SignedCheckpoint | None:
        """Verify the log, then sign its head; None when the log is empty.

        A broken log is never signed: the checkpoint would vouch for the tampering. A log whose
        earlier checkpoints were signed by other keys is not broken: it is signed all the same.
        """
        return self._sign(self.key, None, progress)

    def hand_over(
        self, new_key: Ed25519PrivateKey, progress: Progress | None = None
    ) -> SignedCheckpoint | None:
        """Sign the verified head with `new_key` and with the current key, over one message that
        names both: the record that the deployment's identity passed from one to the other."""
        return self._sign(new_key, self.key, progress)

    def _sign(
        self,
        key: Ed25519PrivateKey,
        previous: Ed25519PrivateKey | None,
        progress: Progress | None,
    ) -> SignedCheckpoint | None:
        result = self.verify(progress=progress)
        if not result.ok:
            raise CheckpointError(
                f"the log is broken at position {result.first_broken_position}: {result.problem}"
            )
        if result.head is None or result.head_position is None:
            return None
        unsigned = SignedCheckpoint(
            position=result.head_position,
            head=result.head,
            count=result.events_checked,
            signed_at=datetime.now(UTC),
            public_key=raw_public(key.public_key()),
            signature=b"",
            format=CURRENT_FORMAT,
            previous_public_key=None if previous is None else raw_public(previous.public_key()),
            previous_signature=None if previous is None else b"",
        )
        message = unsigned.message()
        checkpoint = SignedCheckpoint(
            **{
                **unsigned.__dict__,
                "signature": key.sign(message),
                "previous_signature": None if previous is None else previous.sign(message),
            }
        )
        with self._pool.connection() as conn:
            conn.execute(
                f"INSERT INTO checkpoints ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (position, key_id) DO NOTHING",
                (
                    checkpoint.position,
                    checkpoint.head,
                    checkpoint.count,
                    checkpoint.signed_at,
                    checkpoint.public_key,
                    checkpoint.signature,
                    checkpoint.format,
                    checkpoint.previous_public_key,
                    checkpoint.previous_signature,
                ),
            )
        return checkpoint

    def stored(self) -> list[SignedCheckpoint]:
        with self._pool.connection() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM checkpoints ORDER BY position, signed_at"
            ).fetchall()
        return [
            SignedCheckpoint(
                int(p),
                bytes(h),
                int(c),
                at,
                bytes(k),
                bytes(s),
                int(f),
                None if pk is None else bytes(pk),
                None if ps is None else bytes(ps),
            )
            for p, h, c, at, k, s, f, pk, ps in rows
        ]

    def link_versions(self) -> list[LinkVersion]:
        """Which chain link seals the rows from which position on (`chain_versions`, 0050)."""
        with self._pool.connection() as conn:
            rows = conn.execute(
                "SELECT from_position, version FROM chain_versions ORDER BY from_position"
            ).fetchall()
        return [LinkVersion(int(p), int(v)) for p, v in rows]

    def keyring(self, given: list[Ed25519PublicKey] | None = None) -> list[Ed25519PublicKey]:
        """The keys trusted: those `given` (an auditor's), else this service's own, if any."""
        if given:
            return given
        try:
            return [self.key.public_key()]
        except CheckpointError:
            return []

    def audit(
        self,
        kept: SignedCheckpoint | None = None,
        *,
        keyring: list[Ed25519PublicKey] | None = None,
        progress: Progress | None = None,
    ) -> Audit:
        """Check the whole chain, every stored checkpoint's signature, and `kept` (an auditor's)
        if given; then say who signed each checkpoint, against `keyring` (default: this
        service's key). Only a broken chain or a signature that does not hold breaks the log."""
        trusted = self.keyring(keyring)
        ring = [key_id(k) for k in trusted]
        signed = self.stored()
        if kept is not None:
            kept.verify_signature()  # the auditor's own file: unreadable is an error, not a log
            signed.append(kept)
        checkpoints: list[Checkpoint] = []
        for checkpoint in signed:
            try:
                checkpoint.verify_signature()
            except CheckpointError as error:
                problem = f"stored checkpoint: {error}"
                return Audit(_unchecked(problem, checkpoint.position), keyring=ring)
            checkpoints.append(checkpoint.checkpoint)
        try:
            chain = verify(
                self._recorder.stored_rows(),
                checkpoints,
                versions=self.link_versions(),
                progress=progress,
            )
        except UnreadableLogError as error:
            chain = _unchecked(str(error), None)
        return Audit(chain, standings(signed, [raw_public(k) for k in trusted]), ring)

    def verify(
        self,
        kept: SignedCheckpoint | None = None,
        *,
        keyring: list[Ed25519PublicKey] | None = None,
        progress: Progress | None = None,
    ) -> Verification:
        """Is the chain intact (positions, hashes, every checkpoint's signature)?"""
        return self.audit(kept, keyring=keyring, progress=progress).chain

    def _vouched_for(self, keyring: list[Ed25519PublicKey]) -> list[Ed25519PublicKey]:
        """The keys hand-over checkpoints link to `keyring` (standing `rotated`)."""
        signed = self.stored()
        ring = [raw_public(k) for k in keyring]
        rotated = {s.key_id for s in standings(signed, ring) if s.standing == ROTATED}
        raws: dict[str, bytes] = {}
        for checkpoint in signed:
            raws[checkpoint.key_id] = checkpoint.public_key
            if checkpoint.previous_public_key is not None and checkpoint.previous_key_id:
                raws[checkpoint.previous_key_id] = checkpoint.previous_public_key
        return [Ed25519PublicKey.from_public_bytes(raws[k]) for k in sorted(rotated) if k in raws]

    def check_derived(self, keyring: list[Ed25519PublicKey] | None = None) -> DerivedCheck:
        """Every snapshot and every unconfirmed as-of index row checked against the events
        (`api.checkpoints.derived`): snapshots' signatures under a key of `keyring`, else under
        this service's key (read only when a signed snapshot is there to check)."""
        public: list[Ed25519PublicKey] = []

        def holds(message: bytes, signature: bytes) -> bool:
            if not public:
                public.extend(keyring or [self.key.public_key()])
                # And the keys the keyring vouches for through hand-overs (review finding F4):
                # a snapshot taken before a rotation is signed by the retired key.
                public.extend(self._vouched_for(public))
            for key in public:
                try:
                    key.verify(signature, message)
                except InvalidSignature:
                    continue
                return True
            return False

        return check_derived(self._ledger, holds)


def _unchecked(problem: str, position: int | None) -> Verification:
    """A failed verification that checked no event: what stopped it, and where if anywhere."""
    return Verification(
        ok=False,
        events_checked=0,
        head=None,
        head_position=None,
        first_broken_position=position,
        problem=problem,
    )
