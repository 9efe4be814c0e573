"""The evidence pack of one achieved milestone: decided first (every refusal is a problem
before a byte is sent), then streamed as a zip (auditor/verify_pack.py describes the layout and
checks it). Every database read is one short query on a pooled connection that is given back
before the next piece goes to the client; no transaction is open while a slow client reads."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from adapters.postgres.artifacts import Artifacts
from adapters.postgres.packs import PackReads, StoredEvent
from adapters.signing import key_id
from api.checkpoints import Checkpoints, SignedCheckpoint
from api.problems import ProblemError
from auditor import verify_pack as pack_format
from domain.chain import GENESIS

_ACHIEVED = "MilestoneAchieved"


@dataclass(frozen=True)
class PackPlan:
    project_id: UUID
    milestone_id: UUID
    checkpoint: SignedCheckpoint
    events: list[StoredEvent]
    manifest: dict[str, Any]
    previous_hash: bytes
    count_before: int
    with_artifacts: bool

    @property
    def filename(self) -> str:
        return f"evidence-pack-{self.milestone_id}-at-{self.checkpoint.position}.zip"


def _conflict(detail: str) -> ProblemError:
    return ProblemError(409, "Conflict", detail)


def plan(
    reads: PackReads,
    checkpoints: Checkpoints,
    project_id: UUID,
    milestone_id: UUID,
    *,
    with_artifacts: bool,
) -> PackPlan:
    """What the pack will hold, or the problem that refuses it (409)."""
    events = reads.events(project_id, 2**63 - 1)
    achieved = [
        e.position
        for e in events
        if e.topic.rsplit(":", 1)[-1] == _ACHIEVED
        and pack_format.decode_state(e.state).get("milestone_id") == str(milestone_id)
    ]
    if not achieved:
        raise _conflict(f"milestone {milestone_id} has not been achieved: there is nothing to pack")
    own_key = _own_key_id(checkpoints)
    covering = [c for c in checkpoints.stored() if c.position >= achieved[-1]]
    if not covering:
        raise _conflict(
            f"no signed checkpoint covers the achievement at position {achieved[-1]} yet: "
            "wait for the next one (MILESTONES_CHECKPOINT_INTERVAL) or run "
            "`milestones checkpoint create`"
        )
    # The first checkpoint after the achievement, by this service's key when it signed one.
    covering.sort(key=lambda c: (c.key_id != own_key, c.position))
    checkpoint = covering[0]
    events = [e for e in events if e.position <= checkpoint.position]
    switches = reads.link_versions()
    version_2_from = next((p for p, v in switches if v == 2), None)
    if version_2_from is None or events[0].position < version_2_from:
        raise _conflict(
            "this project has events sealed by chain link version 1 (before migration 0050): "
            "a pack cannot prove them without other projects' contents (docs/trust.md §10)"
        )
    previous, count_before = reads.before(events[0].position)
    signed = checkpoint.to_json()
    manifest = pack_format.derive_manifest(
        str(project_id),
        str(milestone_id),
        [(e.position, e.topic, e.state) for e in events],
        signed,
        with_artifacts,
    )
    return PackPlan(
        project_id,
        milestone_id,
        checkpoint,
        events,
        manifest,
        GENESIS if previous is None else previous,
        count_before,
        with_artifacts,
    )


def _own_key_id(checkpoints: Checkpoints) -> str | None:
    keys = checkpoints.keyring()
    return key_id(keys[0]) if keys else None


class _Sink(io.RawIOBase):
    """Where the zip writer writes: kept until the stream takes it (never seekable)."""

    def __init__(self) -> None:
        self.pieces: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.pieces.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        taken = b"".join(self.pieces)
        self.pieces.clear()
        return taken


def stream(plan: PackPlan, reads: PackReads, artifacts: Artifacts) -> Iterator[bytes]:
    """The pack's zip, piece by piece."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as pack:
        pack.writestr(pack_format.MANIFEST, _dumps(plan.manifest))
        pack.writestr(pack_format.CHECKPOINT, _dumps(plan.checkpoint.to_json()))
        yield sink.take()
        for event in plan.events:
            pack.writestr(f"{pack_format.EVENTS}{event.position}.json", event.state)
            if len(sink.pieces) > 64:
                yield sink.take()
        yield sink.take()
        header = {
            "format": pack_format.SEGMENT_FORMAT,
            "project_id": str(plan.project_id),
            "previous_hash": plan.previous_hash.hex(),
            "count_before": plan.count_before,
        }
        with pack.open(pack_format.SEGMENT, "w", force_zip64=True) as segment:
            segment.write(json.dumps(header)[:-1].encode() + b', "rows": [')
            separator = b""
            first, last = plan.events[0].position, plan.checkpoint.position
            for page in reads.segment(plan.project_id, first, last):
                rows = []
                for row in page:
                    entry: dict[str, Any] = {"p": row.position, "d": row.digest.hex()}
                    if row.own:
                        entry.update(v=row.version, t=row.topic)
                    rows.append(json.dumps(entry))
                segment.write(separator + ", ".join(rows).encode())
                separator = b", "
                yield sink.take()
            segment.write(b"]}")
        yield sink.take()
        if plan.with_artifacts:
            for listed in plan.manifest["artifacts"]:
                artifact = artifacts.get(plan.project_id, listed["sha256"])
                if artifact is None:
                    continue
                name = f"{pack_format.ARTIFACTS}{artifact.sha256}"
                with pack.open(name, "w", force_zip64=True) as out:
                    for piece in artifacts.read(artifact, 0, artifact.size - 1):
                        out.write(piece)
                        yield sink.take()
    yield sink.take()


def _dumps(value: Any) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True) + "\n").encode()
