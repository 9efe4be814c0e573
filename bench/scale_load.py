"""The scale run's bulk, loaded at COPY speed: projects cloned from one generated template, each
with its events, its as-of index rows and a signed snapshot every 100 events (as the service
takes them), byte for byte what the service would have stored for them.

The slow part of `workload.copy_projects` is the events table's row trigger, which finds the
chain's head and seals each row one at a time (about 6,000 rows/s here). This loader computes
the same chain in this process (`domain.chain.link`, the definition `milestones verify` checks)
and COPYs the rows with their positions and hashes given, in a session whose triggers are set
aside (`session_replication_role = replica`, which only a superuser may set: the bench's own
server). It holds the events' ordering lock in each transaction, as the seal does, so nothing
else is appended in between, and moves the position sequence past what it wrote. The as-of
index rows are written confirmed (what the confirm trigger would decide: each cloned event
records its instant) and each snapshot is signed with the deployment's key over its position
and chain hash, as `SnapshotRecorder` signs.

A template's stored bytes become a format (`bytes % values`) once: each UUID and each principal
it names is a slot; a clone fills the slots with its own values (the UUIDs XOR'd with the
clone's mask, so every id is new and still a version-4 UUID). The snapshots are the template's,
encoded by the ledger's own mapper and cloned the same way; `tests/integration/test_scale_load.py`
checks it is the bytes the ledger writes for the clone replayed from its events.
"""

from __future__ import annotations

import hashlib
import queue
import random
import re
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter

from adapters.postgres.recorder import LedgerRecorder
from adapters.postgres.snapshots import (
    SnapshotRecorder,
    SnapshotSigner,
    snapshot_message,
)
from application.ledger import Ledger
from bench import workload
from domain import chain
from domain.events import ProjectEvent
from domain.project import Project

# What a clone changes in the template's bytes: each UUID (as the store's JSON writes it, or as
# a string with dashes) and each principal the template names.
_SLOT = re.compile(
    rb'(?<="_data_":")[0-9a-f]{32}(?=")'
    rb"|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    rb'|"' + workload.MANAGER.encode() + rb'"|"' + workload.REVIEWER.encode() + rb'"'
)
# A principal's slot counts from the end of a clone's values: [..uuids, reviewer, manager].
_NAME_SLOTS = {f'"{workload.MANAGER}"'.encode(): -1, f'"{workload.REVIEWER}"'.encode(): -2}
# The version and variant bits of a UUID: a mask leaves them alone.
_KEEP = (0xF << 76) | (0x3 << 62)
_sha256 = hashlib.sha256
_INT8 = struct.Struct(">q")
_INT4 = struct.Struct(">i")
# Rows per COPY transaction.
BATCH = 20_000


@dataclass(frozen=True)
class _Format:
    """Stored bytes with their UUIDs and principals as slots: `text % values`."""

    text: bytes
    slots: tuple[int, ...]


@dataclass(frozen=True)
class _Event:
    version: int
    topic: str
    state: _Format
    occurred_at: datetime
    sealed: bytes  # the version and topic as the chain's row digest encodes them


def _event(version: int, topic: str, state: _Format, occurred_at: datetime) -> _Event:
    encoded = topic.encode()
    sealed = _INT8.pack(version) + _INT4.pack(len(encoded)) + encoded
    return _Event(version, topic, state, occurred_at, sealed)


class Template:
    """One generated project's events and snapshots, ready to be cloned many times."""

    def __init__(self, ledger: Ledger, events: int, seed: int = 7) -> None:
        project, phases = workload.new_project("Generated project")
        workload.grow(project, phases, events, random.Random(seed))
        self.project_id = project.id
        self._uuids: dict[bytes, int] = {}  # a UUID's text (either form) → its slot
        self._forms: list[tuple[int, bool]] = []  # each slot's UUID, and whether it has dashes
        self.events = []
        collected = project.collect_events()
        for event in collected:
            assert isinstance(event, ProjectEvent)
            stored = ledger.mapper.to_stored_event(event)
            self.events.append(
                _event(
                    stored.originator_version,
                    stored.topic,
                    self._format(stored.state),
                    event.timestamp,
                )
            )
        # The snapshots the service takes (every `interval` events, of the state just saved),
        # of the project replayed from its events, as `milestones verify` replays one.
        interval = ledger.snapshotting_intervals[Project]
        self.snapshots: dict[int, tuple[str, _Format]] = {}
        replayed: Project | None = None
        for event in collected:
            assert isinstance(event, ProjectEvent)
            replayed = event.mutate(replayed)
            if replayed is not None and replayed.version % interval == 0:
                topic, state = snapshot(ledger, replayed, event.timestamp)
                self.snapshots[replayed.version] = (topic, self._format(state))

    def _format(self, state: bytes) -> _Format:
        slots: list[int] = []

        def slot(match: re.Match[bytes]) -> bytes:
            found = match.group(0)
            if found in _NAME_SLOTS:
                slots.append(_NAME_SLOTS[found])
                return b"%s"
            if found not in self._uuids:
                self._uuids[found] = len(self._forms)
                self._forms.append((int(found.replace(b"-", b""), 16), b"-" in found))
            slots.append(self._uuids[found])
            return b"%s"

        return _Format(_SLOT.sub(slot, state.replace(b"%", b"%%")), tuple(slots))

    def clone(self, rng: random.Random) -> Clone:
        """A new project: new ids throughout, and one of `workload.ACTORS` managers and
        reviewers."""
        mask = rng.getrandbits(128) & ~_KEEP
        values = []
        for value, dashed in self._forms:
            masked = UUID(int=value ^ mask)
            values.append(str(masked).encode() if dashed else masked.hex.encode())
        values.append(b'"reviewer-%02d"' % rng.randrange(workload.ACTORS))
        values.append(b'"manager-%02d"' % rng.randrange(workload.ACTORS))
        return Clone(UUID(int=self.project_id.int ^ mask), values)


class Clone:
    """One project cloned from the template: its id, and its stored bytes on demand."""

    def __init__(self, project_id: UUID, values: list[bytes]) -> None:
        self.project_id = project_id
        self._values = values

    def fill(self, form: _Format) -> bytes:
        values = self._values
        return form.text % tuple([values[s] for s in form.slots])


def snapshot(ledger: Ledger, project: Project, timestamp: datetime) -> tuple[str, bytes]:
    """The topic and bytes the ledger stores for a snapshot of `project` as it is, taken at
    `timestamp` (the one part of a snapshot that is not the project's: the instant it was
    taken)."""
    assert ledger.snapshots is not None
    taken = Project.Snapshot.take(project)
    stored = ledger.snapshots.mapper.to_stored_event(
        Project.Snapshot(
            originator_id=taken.originator_id,
            originator_version=taken.originator_version,
            timestamp=timestamp,
            topic=taken.topic,
            state=taken.state,
        )
    )
    return stored.topic, stored.state


def load(
    ledger: Ledger, database_url: str, total: int, *, events_per_project: int, seed: int = 7
) -> list[UUID]:
    """Append `total` events in projects of about `events_per_project` (whole deliverable
    lives; the last project may be cut short); their ids."""
    template = Template(ledger, events_per_project, seed)
    rng = random.Random(seed)
    recorder = ledger.recorder
    assert isinstance(recorder, LedgerRecorder)
    snapshots = ledger.snapshots.recorder if ledger.snapshots is not None else None
    assert isinstance(snapshots, SnapshotRecorder)
    assert snapshots.signer is not None
    tables = _Tables(recorder, snapshots, snapshots.signer)
    ids: list[UUID] = []
    written = 0
    with psycopg.connect(database_url) as conn, _SnapshotWriter(database_url, tables) as later:
        _set_triggers_aside(conn)
        while written < total:
            batch = _append(conn, tables, template, rng, total - written, ids)
            later.put(batch.snapshots)  # once their events are committed
            written += batch.size
    return ids


class _SnapshotWriter:
    """The snapshots COPY'd on a connection of their own, in a thread, while the next events
    are made: the server compresses a project's ten snapshots (about 1 MB) for as long as it
    takes to insert its events, and the two now run side by side."""

    def __init__(self, database_url: str, tables: _Tables) -> None:
        self._url = database_url
        self._tables = tables
        self._pending: queue.Queue[list[tuple[Any, ...]] | None] = queue.Queue(maxsize=2)
        self._failed: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="scale-snapshots", daemon=True)

    def __enter__(self) -> _SnapshotWriter:
        self._thread.start()
        return self

    def put(self, rows: list[tuple[Any, ...]]) -> None:
        if self._failed is not None:
            raise RuntimeError("the snapshots could not be written") from self._failed
        self._pending.put(rows)

    def __exit__(self, *exc: object) -> None:
        self._pending.put(None)
        self._thread.join()
        if self._failed is not None and exc[0] is None:
            raise RuntimeError("the snapshots could not be written") from self._failed

    def _run(self) -> None:
        try:
            with psycopg.connect(self._url) as conn:
                _set_triggers_aside(conn)
                while (rows := self._pending.get()) is not None:
                    with (
                        conn.transaction(),
                        _copy(conn, self._tables.snapshots, _SNAPSHOT_COLUMNS) as copy,
                    ):
                        for row in rows:
                            copy.write_row(row)
        except BaseException as error:  # reported to the loader by put() or on exit
            self._failed = error
            while self._pending.get() is not None:  # unblock the loader until it stops
                pass


class _Tables:
    """Where the rows go, and the key the snapshots are signed with."""

    def __init__(
        self, recorder: LedgerRecorder, snapshots: SnapshotRecorder, signer: SnapshotSigner
    ) -> None:
        self.events = sql.Identifier(recorder.events_table_name)
        self.sequence = sql.Literal(recorder.events_table_name)
        self.channel = sql.Identifier(recorder.channel_name)
        self.timeline = sql.Identifier(recorder.timeline_table)
        self.snapshots = sql.Identifier(snapshots.events_table_name)
        self.signer = signer


def _append(
    conn: psycopg.Connection[Any],
    tables: _Tables,
    template: Template,
    rng: random.Random,
    room: int,
    ids: list[UUID],
) -> _Batch:
    """One transaction of whole clones (up to BATCH events, at most `room`), under the events'
    ordering lock, with their as-of index rows; the batch (its snapshots still to write)."""
    with conn.transaction():
        conn.execute("SELECT public.ledger_events_lock()")
        batch = _Batch(*_head(conn, tables.events), tables.signer)
        # The events stream to the server as they are made (a writer thread sends them), so
        # the server's inserts overlap this process's hashing.
        with _copy(conn, tables.events, _EVENT_COLUMNS) as copy:
            while batch.size < min(BATCH, room):
                clone = template.clone(rng)
                ids.append(clone.project_id)
                rows = template.events[: room - batch.size]
                batch.add(template, clone, rows, copy)
        with _copy(conn, tables.timeline, _TIMELINE_COLUMNS) as copy:
            for row in batch.timeline:
                copy.write_row(row)
        conn.execute(
            sql.SQL("SELECT setval(pg_get_serial_sequence({}, 'notification_id'), %s)").format(
                tables.sequence
            ),
            (batch.position,),
        )
        conn.execute(sql.SQL("NOTIFY {}").format(tables.channel))
    return batch


class _Batch:
    """One transaction's rows: the events go straight to their COPY, the as-of index rows and
    snapshots wait for theirs."""

    def __init__(self, position: int, head: bytes, signer: SnapshotSigner) -> None:
        self.signer = signer
        self.position = position
        self.head = head
        self.size = 0
        self.timeline: list[tuple[Any, ...]] = []
        self.snapshots: list[tuple[Any, ...]] = []

    def add(self, template: Template, clone: Clone, rows: list[_Event], copy: psycopg.Copy) -> None:
        pid, position, head = clone.project_id, self.position, self.head
        stream = pid.bytes
        for row in rows:
            position += 1
            state = clone.fill(row.state)
            # `chain.link` (version 2) written out, with the fields that do not change from
            # clone to clone encoded once: a third of the load's time otherwise. The tests
            # check the result with `milestones verify`'s own audit.
            digest = _sha256(
                _INT8.pack(position) + stream + row.sealed + _INT4.pack(len(state)) + state
            ).digest()
            head = _sha256(head + digest).digest()
            if row.version in template.snapshots:
                self._seal(clone, template.snapshots[row.version], row.version, position, head)
            copy.write_row((pid, row.version, row.topic, state, position, head))
            self.timeline.append((pid, row.version, row.occurred_at, True))
        self.position, self.head = position, head
        self.size += len(rows)

    def _seal(
        self, clone: Clone, taken: tuple[str, _Format], version: int, position: int, head: bytes
    ) -> None:
        """The clone's snapshot at `version`, signed as `SnapshotRecorder` signs one."""
        topic, form = taken
        state = clone.fill(form)
        message = snapshot_message(
            clone.project_id, version, position, head, topic, hashlib.sha256(state).digest()
        )
        self.snapshots.append(
            (
                clone.project_id,
                version,
                topic,
                state,
                position,
                head,
                self.signer.sign(message),
            )
        )


_EVENT_COLUMNS = {
    "originator_id": "uuid",
    "originator_version": "int8",
    "topic": "text",
    "state": "bytea",
    "notification_id": "int8",
    "chain_hash": "bytea",
}
_TIMELINE_COLUMNS = {
    "project_id": "uuid",
    "version": "int8",
    "occurred_at": "timestamptz",
    "confirmed": "bool",
}
_SNAPSHOT_COLUMNS = {
    "originator_id": "uuid",
    "originator_version": "int8",
    "topic": "text",
    "state": "bytea",
    "position": "int8",
    "chain_hash": "bytea",
    "signature": "bytea",
}


def _set_triggers_aside(conn: psycopg.Connection[Any]) -> None:
    superuser = conn.execute("SELECT current_setting('is_superuser')").fetchone()
    if not superuser or superuser[0] != "on":
        raise RuntimeError("the scale run's bulk load needs a superuser login (DATABASE_URL)")
    conn.execute("SET session_replication_role = replica")
    versions = conn.execute("SELECT from_position, version FROM chain_versions").fetchall()
    if chain.version_at([chain.LinkVersion(*v) for v in sorted(versions)], 2**62) != 2:
        raise RuntimeError("the bulk load seals with link version 2 only")


def _head(conn: psycopg.Connection[Any], events: sql.Identifier) -> tuple[int, bytes]:
    row = conn.execute(
        sql.SQL(
            "SELECT notification_id, chain_hash FROM {} ORDER BY notification_id DESC LIMIT 1"
        ).format(events)
    ).fetchone()
    return (0, chain.GENESIS) if row is None else (int(row[0]), bytes(row[1]))


@contextmanager
def _copy(
    conn: psycopg.Connection[Any], table: sql.Identifier, columns: dict[str, str]
) -> Iterator[psycopg.Copy]:
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        table, sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with conn.cursor() as cur, cur.copy(statement, writer=QueuedLibpqWriter(cur)) as copy:
        copy.set_types(list(columns.values()))
        yield copy
