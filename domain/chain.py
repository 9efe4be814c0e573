"""The tamper-evidence hash chain over the stored events: its definition and its verifier.

Each stored event carries `chain_hash`, computed by a database trigger when the row is inserted
(under the event table's ordering lock, so in commit order) and recomputed here from the raw
rows, without decoding any event. Two versions of the link exist; the table `chain_versions`
records from which position each holds (migration 0050; docs/trust.md §3).

Version 2 (every row sealed since migration 0050):

    row_digest(e) = sha256(int8(position) || uuid(stream id) || int8(version)
                           || int4(n) || topic || int4(m) || state)    -- as in version 1
    chain_hash(e) = sha256(chain_hash(previous event) || row_digest(e))

so a segment can be proven with another project's row given only as its digest.

Version 1 (rows sealed before it):

    chain_hash(e) = sha256(
        chain_hash(previous event by position)      -- 32 bytes; 32 zero bytes for the first
        || int8(position)                            -- notification_id, big-endian signed
        || uuid(stream id)                           -- originator_id, its 16 bytes
        || int8(version)                             -- originator_version, big-endian signed
        || int4(n) || topic                          -- topic as UTF-8, n = its length in bytes
        || int4(m) || state                          -- the stored bytes, m = their length
    )

A NULL topic or state (the event store never writes one) is encoded as int4(-1) with no bytes.
The last event's hash (the head) thus commits to every stored byte of every earlier event and
to their order; a signed checkpoint of (position, head, count) pins a prefix of the log.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple
from uuid import UUID

GENESIS = bytes(32)
HASH_LENGTH = 32

_INT8 = struct.Struct(">q")
_INT4 = struct.Struct(">i")


def _field(value: bytes | None) -> bytes:
    if value is None:
        return _INT4.pack(-1)
    return _INT4.pack(len(value)) + value


CURRENT_LINK = 2  # the link every new row is sealed with (migration 0050)


def encode_row(
    position: int,
    stream_id: UUID | bytes,
    version: int,
    topic: str | bytes | None,
    state: bytes | None,
) -> bytes:
    """A stored event's fields as both links hash them: `int8(position) || uuid(stream id) ||
    int8(version) || int4(n) || topic || int4(m) || state` (version 2's `row_digest` is their
    SHA-256)."""
    return (
        _INT8.pack(position)
        + (stream_id if isinstance(stream_id, bytes) else stream_id.bytes)
        + _INT8.pack(version)
        + _field(topic.encode() if isinstance(topic, str) else topic)
        + _field(state)
    )


def row_digest(
    position: int,
    stream_id: UUID | bytes,
    version: int,
    topic: str | bytes | None,
    state: bytes | None,
) -> bytes:
    """One stored event's own digest (version 2's link chains it): what an evidence pack gives
    of another project's row, instead of its contents."""
    return hashlib.sha256(encode_row(position, stream_id, version, topic, state)).digest()


def link_digest(previous: bytes, digest: bytes) -> bytes:
    """Version 2's link: the previous chain hash and the row's digest."""
    return hashlib.sha256(previous + digest).digest()


def link(
    previous: bytes,
    position: int,
    stream_id: UUID | bytes,
    version: int,
    topic: str | bytes | None,
    state: bytes | None,
    *,
    link_version: int = CURRENT_LINK,
) -> bytes:
    """The chain hash of one stored event, given the hash of the event before it, under link
    `link_version` (1 or 2).

    `stream_id` may be given as its 16 bytes and `topic` as its UTF-8 bytes, as the verifier
    reads them (no UUID or str is built per row).
    """
    fields = encode_row(position, stream_id, version, topic, state)
    if link_version == 1:
        return hashlib.sha256(previous + fields).digest()
    if link_version == 2:
        return hashlib.sha256(previous + hashlib.sha256(fields).digest()).digest()
    raise ValueError(f"unknown chain link version {link_version}")


class LinkVersion(NamedTuple):
    """A row of `chain_versions`: link `version` seals every row from `from_position` on, up to
    the next such row's position."""

    from_position: int
    version: int


# What a database upgraded from empty records: version 2 throughout.
ALL_CURRENT: tuple[LinkVersion, ...] = (LinkVersion(1, CURRENT_LINK),)


def version_at(versions: Sequence[LinkVersion], position: int) -> int:
    """The link version that seals the row at `position` (1 before any recorded switch)."""
    found = 1
    for switch in versions:
        if switch.from_position <= position:
            found = switch.version
        else:
            break
    return found


class EncodedRow(NamedTuple):
    """One row of the event table as the verifier reads it: its fields encoded as the links hash
    them (`encode_row`; the first 8 bytes are its position) and its stored chain hash."""

    encoded: bytes
    chain_hash: bytes | None


# An EncodedRow's fields as a plain tuple (what the database read yields: no object per row).
RawRow = tuple[bytes, bytes | None]


@dataclass(frozen=True)
class Checkpoint:
    """The chain's head at a position, as signed: `count` events up to and including it."""

    position: int
    head: bytes
    count: int


class UnreadableLogError(RuntimeError):
    """The log's table is not what the chain was sealed over (another kind of relation, or a
    column of another type, whose conversions its owner could define): nothing read from it
    could prove anything."""


@dataclass
class Verification:
    """What a check of the whole log found; `ok` only if nothing broke."""

    ok: bool
    events_checked: int
    head: bytes | None
    head_position: int | None
    first_broken_position: int | None = None
    problem: str | None = None
    checkpoints_checked: int = 0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "events_checked": self.events_checked,
            "head": None if self.head is None else self.head.hex(),
            "head_position": self.head_position,
            "first_broken_position": self.first_broken_position,
            "problem": self.problem,
            "checkpoints_checked": self.checkpoints_checked,
        }


Progress = Callable[[int, int], None]  # (events checked, last position checked)


def verify(
    rows: Iterable[RawRow],
    checkpoints: Sequence[Checkpoint] = (),
    *,
    versions: Sequence[LinkVersion] = ALL_CURRENT,
    progress: Progress | None = None,
    progress_every: int = 100_000,
) -> Verification:
    """Recompute the chain over `rows` (in position order) and compare it with what is stored.

    Reads each row once and keeps only the running hash, so memory does not grow with the log.
    Each row comes encoded (`encode_row`): its position is read from the bytes that are hashed,
    never taken on trust beside them.
    Every checkpoint must find its position in the log with the same head and count: that is
    what catches a log whose tail was cut, or that was rewritten and re-chained. `versions`
    (the `chain_versions` table) says which link seals each row.
    """
    switches = sorted(versions)
    next_switch = 0
    link_version = 1
    pending = sorted(checkpoints, key=lambda c: c.position)
    next_checkpoint = 0
    previous = GENESIS
    previous_position: int | None = None
    count = 0

    def broken(position: int, problem: str) -> Verification:
        return Verification(
            ok=False,
            events_checked=count,
            head=previous if count else None,
            head_position=previous_position,
            first_broken_position=position,
            problem=problem,
            checkpoints_checked=next_checkpoint,
        )

    def skipped_checkpoint(checkpoint: Checkpoint) -> Verification:
        after = "the start of the log" if previous_position is None else f"{previous_position}"
        return broken(
            (previous_position or 0) + 1,
            f"the checkpoint at position {checkpoint.position} ({checkpoint.count} events) is "
            f"not in the log: events after {after} up to position {checkpoint.position} were "
            f"removed (the log has {count} events up to there)",
        )

    sha256 = hashlib.sha256  # the loop below runs once per stored event: no lookups in it
    for encoded, chain_hash in rows:
        position = int.from_bytes(encoded[:8], "big", signed=True)
        if next_checkpoint < len(pending) and pending[next_checkpoint].position < position:
            return skipped_checkpoint(pending[next_checkpoint])
        if previous_position is not None and position <= previous_position:
            return broken(position, f"position {position} is out of order")
        while next_switch < len(switches) and switches[next_switch].from_position <= position:
            link_version = switches[next_switch].version
            next_switch += 1
        if link_version == 2:
            expected = sha256(previous + sha256(encoded).digest()).digest()
        elif link_version == 1:
            expected = sha256(previous + encoded).digest()
        else:
            raise ValueError(f"unknown chain link version {link_version}")
        if chain_hash != expected:
            gap = "the start of the log" if previous_position is None else str(previous_position)
            return broken(
                position,
                f"the chain hash of the event at position {position} does not match: that "
                f"event's stored bytes or fields were changed, or an event between {gap} and "
                f"it was removed, inserted or moved",
            )
        previous, previous_position = expected, position
        count += 1
        # Several checkpoints may sign one position (by different keys): each must match.
        while next_checkpoint < len(pending) and pending[next_checkpoint].position == position:
            checkpoint = pending[next_checkpoint]
            if checkpoint.head != previous or checkpoint.count != count:
                return broken(
                    position,
                    f"the log up to position {position} differs from the checkpoint taken "
                    f"there (head {checkpoint.head.hex()[:16]}…, {checkpoint.count} events; the "
                    f"log has {previous.hex()[:16]}…, {count} events): it was rewritten and "
                    "re-chained",
                )
            next_checkpoint += 1
        if progress is not None and count % progress_every == 0:
            progress(count, position)
    if next_checkpoint < len(pending):
        return skipped_checkpoint(pending[next_checkpoint])
    if progress is not None and count % progress_every:
        progress(count, previous_position or 0)
    return Verification(
        ok=True,
        events_checked=count,
        head=previous if count else None,
        head_position=previous_position,
        checkpoints_checked=next_checkpoint,
    )
