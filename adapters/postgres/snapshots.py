"""Snapshots nobody without the deployment's key can forge, used only while the chain vouches for
them.

The library takes a snapshot of a project every 100 events (`Application.take_snapshot`) and
loads the latest one at or before a version before replaying the rest (`Repository.get`), both
through this recorder (table `ledger_snapshots`). The application role may INSERT into that
table, so a row is not believed on its word:

- written: the recorder reads the position and chain hash of the event the snapshot was taken
  at and signs `snapshot_message(...)` with the deployment's Ed25519 key (`adapters.signing`);
  the database fills `position` and `chain_hash` in from that event itself and refuses a
  snapshot of a version that has no event (`migrations/0007.derived-records-proven.sql`);
- read: only rows whose `position` and `chain_hash` are still the chain's at that version
  (one join) and whose signature holds over their bytes come back. Any other row is skipped as
  if it did not exist: the project is replayed from its events (from an older snapshot that
  holds, or from the start), and the row is logged once per process and reported by
  `milestones verify` (`SnapshotRecord`, `snapshot_problem`).

Without a key (a recorder built with none) no snapshot is written and none is read.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresAggregateRecorder, PostgresDatastore
from psycopg import Cursor
from psycopg.rows import DictRow, tuple_row
from psycopg.sql import SQL, Composed, Identifier

from adapters.postgres.retry import without_retry
from adapters.signing import KeySource

log = logging.getLogger(__name__)

# What the library asks its factory for when it builds the snapshot store.
SNAPSHOTS_PURPOSE = "snapshots"
# Candidate rows a read checks and rejects before it gives up on snapshots for that load (and
# replays from the events): forged rows cannot make one load check signatures without end.
MAX_REJECTED = 32
# Rejected snapshots remembered (each is logged once per process), at most.
REJECTED_KEPT = 10_000
# Signatures remembered as holding (~100 bytes each), at most.
HELD_KEPT = 100_000


def snapshot_message(
    project_id: UUID,
    version: int,
    position: int,
    chain_hash: bytes,
    topic: str,
    state_sha256: bytes,
) -> bytes:
    """The exact bytes a snapshot's signature covers (docs/trust.md §8)."""
    return (
        "milestone-ledger snapshot v1\n"
        f"project={project_id}\nversion={version}\nposition={position}\n"
        f"chain_hash={chain_hash.hex()}\ntopic={topic}\nstate_sha256={state_sha256.hex()}\n"
    ).encode()


class SnapshotSigner:
    """Signs snapshots with the deployment's key, and checks signatures with its public half
    (or another trusted public key, for an auditor's check). The key is read on first use."""

    def __init__(self, source: KeySource | Path) -> None:
        # A bare path is a key file this signer may make (tests and tools own theirs).
        self._source = source if isinstance(source, KeySource) else KeySource(source, None, True)
        self._key: Ed25519PrivateKey | None = None
        self._lock = threading.Lock()
        self._held: set[bytes] = set()

    @property
    def key(self) -> Ed25519PrivateKey:
        with self._lock:
            if self._key is None:
                self._key = self._source.load()
            return self._key

    def sign(self, message: bytes) -> bytes:
        return self.key.sign(message)

    def holds(
        self, message: bytes, signature: bytes, trusted: Ed25519PublicKey | None = None
    ) -> bool:
        """Whether `signature` is the key's (or `trusted`'s) over `message`. Signatures that held
        under the deployment's key are remembered (a pure function of the message, which names
        the state's digest): a hot snapshot is checked once per process, not on every load."""
        if trusted is None:
            seen = hashlib.sha256(message).digest() + signature  # the digest's length is fixed
            if seen in self._held:
                return True
        try:
            (trusted or self.key.public_key()).verify(signature, message)
        except InvalidSignature:
            return False
        if trusted is None:
            if len(self._held) >= HELD_KEPT:
                self._held.clear()
            self._held.add(seen)
        return True


@dataclass(frozen=True)
class SnapshotRecord:
    """One stored snapshot as `verify` checks it, beside the event at its version (if any)."""

    project_id: UUID
    version: int
    topic: str | None
    state_sha256: bytes | None
    position: int | None  # as the row says
    chain_hash: bytes | None  # as the row says
    signature: bytes | None
    event_position: int | None  # the chain's event at that version (None: there is none)
    event_chain_hash: bytes | None

    def message(self) -> bytes | None:
        """What its signature must cover, or None when the row lacks a part of it."""
        if (
            self.position is None
            or self.chain_hash is None
            or self.topic is None
            or self.state_sha256 is None
        ):
            return None
        return snapshot_message(
            self.project_id,
            self.version,
            self.position,
            self.chain_hash,
            self.topic,
            self.state_sha256,
        )


def snapshot_problem(record: SnapshotRecord, holds: Callable[[bytes, bytes], bool]) -> str | None:
    """Why a stored snapshot must not be believed (None: it holds). `holds(message, signature)`
    checks a signature under the trusted key. An unsigned row is `"unsigned"`: written before
    snapshots were signed, or by someone without the key; only a replay can tell which."""
    if record.event_position is None:
        return "orphaned"
    if record.signature is None:
        return "unsigned"
    if record.position != record.event_position or record.chain_hash != record.event_chain_hash:
        return "taken of another log: the chain no longer has its hash at that version"
    message = record.message()
    if message is None or not holds(message, record.signature):
        return "its signature does not hold under the deployment's key"
    return None


class SnapshotRecorder(PostgresAggregateRecorder):
    """The library's PostgreSQL snapshot recorder, with signed writes and checked reads."""

    insert_events = without_retry(PostgresAggregateRecorder.insert_events)

    def __init__(
        self,
        datastore: PostgresDatastore,
        *,
        events_table_name: str = "stored_snapshots",
        log_table_name: str = "stored_events",
        signer: SnapshotSigner | None = None,
    ) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.signer = signer
        schema = Identifier(self.datastore.schema)
        snapshots = SQL("{}.{}").format(schema, Identifier(events_table_name))
        events = SQL("{}.{}").format(schema, Identifier(log_table_name))
        self._select_link = SQL(
            "SELECT notification_id, chain_hash FROM {events}"
            " WHERE originator_id = %s AND originator_version = %s"
        ).format(events=events)
        # ON CONFLICT: a row already at that version (a forged one, say) must not fail the save
        # whose snapshot this is; reads skip the forged row and use an older snapshot.
        self._insert = SQL(
            "INSERT INTO {snapshots} (originator_id, originator_version, topic, state, position,"
            " chain_hash, signature) VALUES (%s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (originator_id, originator_version) DO NOTHING"
        ).format(snapshots=snapshots)
        self._select_vouched = SQL(
            "SELECT s.originator_id, s.originator_version, s.topic, s.state, s.position,"
            " s.chain_hash, s.signature FROM {snapshots} s JOIN {events} e"
            " ON e.originator_id = s.originator_id AND e.originator_version = s.originator_version"
            " WHERE s.originator_id = %s AND s.signature IS NOT NULL"
            " AND s.position = e.notification_id AND s.chain_hash = e.chain_hash"
        ).format(snapshots=snapshots, events=events)
        # Every stored snapshot beside its event; the state's digest is computed by the server,
        # so a check of every snapshot moves no state over the wire.
        self._select_records = SQL(
            "SELECT s.originator_id, s.originator_version, s.topic, sha256(s.state), s.position,"
            " s.chain_hash, s.signature, e.notification_id, e.chain_hash"
            " FROM {snapshots} s LEFT JOIN {events} e"
            " ON e.originator_id = s.originator_id AND e.originator_version = s.originator_version"
            " ORDER BY s.originator_id, s.originator_version"
        ).format(snapshots=snapshots, events=events)
        self._select_unchecked = SQL(
            "SELECT originator_id, originator_version, topic, state FROM {snapshots}"
            " WHERE originator_id = %s AND originator_version = %s"
        ).format(snapshots=snapshots)
        self._rejected: set[tuple[UUID, int]] = set()
        self._said_no_key = False

    # --- writes ------------------------------------------------------------------------------

    def _insert_stored_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **_: Any
    ) -> None:
        if self.signer is None:
            if not self._said_no_key:
                self._said_no_key = True
                log.warning("no signing key: snapshots are not written (loads replay events)")
            return
        for snapshot in stored_events:
            link = curs.execute(
                self._select_link, (snapshot.originator_id, snapshot.originator_version)
            ).fetchone()
            if link is None:
                continue  # no event at that version: the database would refuse it anyway
            position, chain_hash = int(link["notification_id"]), bytes(link["chain_hash"])
            message = snapshot_message(
                UUID(str(snapshot.originator_id)),
                snapshot.originator_version,
                position,
                chain_hash,
                snapshot.topic,
                hashlib.sha256(snapshot.state).digest(),
            )
            curs.execute(
                self._insert,
                (
                    snapshot.originator_id,
                    snapshot.originator_version,
                    snapshot.topic,
                    snapshot.state,
                    position,
                    chain_hash,
                    self.signer.sign(message),
                ),
            )

    # --- reads -------------------------------------------------------------------------------

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        """The snapshots the library asks for, among those that hold (see the module)."""
        if self.signer is None:
            return []
        found: list[StoredEvent] = []
        rejected = 0
        while True:
            wanted = None if limit is None else limit - len(found)
            rows = self._candidates(originator_id, gt, lte, desc, wanted)
            for row in rows:
                stored = self._checked(row)
                if stored is None:
                    rejected += 1
                else:
                    found.append(stored)
            if wanted is None or len(rows) < wanted or len(found) == limit:
                return found
            if rejected >= MAX_REJECTED:
                return found  # under attack: the rest is replayed from the events
            # Some were rejected: look past the last candidate for more.
            last = int(rows[-1][1])
            if desc:
                lte = last - 1
            else:
                gt = last

    def _candidates(
        self,
        originator_id: UUID | str,
        gt: int | None,
        lte: int | None,
        desc: bool,
        limit: int | None,
    ) -> list[tuple[Any, ...]]:
        statement: Composed = self._select_vouched
        params: list[Any] = [originator_id]
        if gt is not None:
            statement += SQL(" AND s.originator_version > %s")
            params.append(gt)
        if lte is not None:
            statement += SQL(" AND s.originator_version <= %s")
            params.append(lte)
        if desc:
            statement += SQL(" ORDER BY s.originator_version DESC")
        else:
            statement += SQL(" ORDER BY s.originator_version")
        if limit is not None:
            statement += SQL(" LIMIT %s")
            params.append(limit)
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            # Prepared, as the library's own select: a join is planned once per connection.
            curs.execute(statement, params, prepare=True)
            return curs.fetchall()

    def _checked(self, row: tuple[Any, ...]) -> StoredEvent | None:
        project_id, version, topic, state, position, chain_hash, signature = row
        state = bytes(state)
        message = snapshot_message(
            UUID(str(project_id)),
            int(version),
            int(position),
            bytes(chain_hash),
            str(topic),
            hashlib.sha256(state).digest(),
        )
        if self._holds(message, bytes(signature)):
            return StoredEvent(
                originator_id=project_id, originator_version=version, topic=topic, state=state
            )
        key = (UUID(str(project_id)), int(version))
        if key not in self._rejected:
            if len(self._rejected) >= REJECTED_KEPT:
                self._rejected.clear()
            self._rejected.add(key)
            log.warning(
                "the snapshot of project %s at version %s (position %s) is not signed by this "
                "deployment's key: ignored, the project is replayed from its events",
                project_id,
                version,
                position,
            )
        return None

    def _holds(self, message: bytes, signature: bytes) -> bool:
        assert self.signer is not None
        try:
            return self.signer.holds(message, signature)
        except (OSError, ValueError):
            # The key cannot be read: no snapshot is believed, loads replay from the events.
            if not self._said_no_key:
                self._said_no_key = True
                log.exception("the signing key cannot be read: snapshots are not used")
            return False

    def records(self, batch: int = 1000) -> Iterator[SnapshotRecord]:
        """Every stored snapshot beside the event at its version, through a server-side cursor
        (for `milestones verify`)."""
        with (
            self.datastore.get_connection() as conn,
            conn.transaction(),
            conn.cursor(name="snapshot_records", row_factory=tuple_row) as cursor,
        ):
            cursor.itersize = batch
            cursor.execute(self._select_records)
            for row in cursor:
                yield SnapshotRecord(
                    project_id=UUID(str(row[0])),
                    version=int(row[1]),
                    topic=row[2],
                    state_sha256=None if row[3] is None else bytes(row[3]),
                    position=None if row[4] is None else int(row[4]),
                    chain_hash=None if row[5] is None else bytes(row[5]),
                    signature=None if row[6] is None else bytes(row[6]),
                    event_position=None if row[7] is None else int(row[7]),
                    event_chain_hash=None if row[8] is None else bytes(row[8]),
                )

    def unchecked(self, project_id: UUID, version: int) -> StoredEvent | None:
        """The stored snapshot at that version as it is, unchecked: only for `verify`, which
        replays the project to compare it with the events."""
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            row = curs.execute(self._select_unchecked, (project_id, version)).fetchone()
        if row is None or row[3] is None:
            return None
        return StoredEvent(
            originator_id=row[0], originator_version=int(row[1]), topic=row[2], state=bytes(row[3])
        )
