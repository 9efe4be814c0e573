"""The derived records checked against the events, for `milestones verify` and `GET /v1/verify`.

The hash chain covers the events only. Snapshots and the as-of index are derived from them and
the application role may append to both, so the check names, by position, every one that the
events do not bear out (docs/trust.md §8):

- a snapshot whose version has no event is *orphaned*; one whose signature does not hold under
  the deployment's key, or whose chain hash is no longer the chain's there, is *forged*; one
  without a signature (written before snapshots were signed, or by someone without the key) is
  replayed from the events and compared: *forged* if it differs, else merely *unsigned*;
- an as-of index row the database did not confirm when it was written (rows since migration
  0007 are all confirmed or refused) is *orphaned* when no event has its version, *forged* when
  its event records another time.

Reads never use any of these (`adapters.postgres.snapshots`, `application.reads`): a finding
says what someone wrote, not what anyone was shown.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.application import project_aggregate
from eventsourcing.domain import Snapshot
from eventsourcing.utils import get_topic

from adapters.postgres.asof import AsOfRecord
from adapters.postgres.recorder import LedgerRecorder
from adapters.postgres.snapshots import SnapshotRecord, SnapshotRecorder, snapshot_problem
from application.ledger import Ledger
from domain.events import ProjectEvent
from domain.project import Project

# Findings listed in an answer, at most (all are counted).
LISTED = 1000
SNAPSHOT_TOPIC = get_topic(Snapshot)
PROJECT_TOPIC = get_topic(Project)

Holds = Callable[[bytes, bytes], bool]  # (message, signature) -> the signature holds


@dataclass(frozen=True)
class Finding:
    """One derived record the events do not bear out."""

    record: str  # "snapshot" or "as_of"
    problem: str  # "forged" or "orphaned"
    project_id: UUID
    version: int
    position: int | None  # of the event at that version (None: there is none)
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "record": self.record,
            "problem": self.problem,
            "project_id": str(self.project_id),
            "version": self.version,
            "position": self.position,
            "detail": self.detail,
        }


@dataclass
class DerivedCheck:
    """What a check of the derived records found; `ok` only if nothing was forged or orphaned."""

    snapshots_checked: int = 0
    snapshots_unsigned: int = 0
    as_of_rows_checked: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def as_dict(self) -> dict[str, Any]:
        ordered = sorted(
            self.findings,
            key=lambda f: (f.position is None, f.position or 0, str(f.project_id), f.version),
        )
        return {
            "ok": self.ok,
            "snapshots_checked": self.snapshots_checked,
            "snapshots_unsigned": self.snapshots_unsigned,
            "as_of_rows_checked": self.as_of_rows_checked,
            "findings_total": len(self.findings),
            "findings": [finding.as_dict() for finding in ordered[:LISTED]],
        }


def check_derived(ledger: Ledger, holds: Holds) -> DerivedCheck:
    """Check every snapshot and every unconfirmed as-of index row against the events."""
    check = DerivedCheck()
    unsigned = _check_snapshots(check, _snapshots(ledger).records(), holds)
    _replay_unsigned(check, ledger, unsigned)
    _check_as_of(check, ledger, _events(ledger).unconfirmed_as_of())
    return check


def _snapshots(ledger: Ledger) -> SnapshotRecorder:
    assert ledger.snapshots is not None, "the ledger takes snapshots"
    recorder = ledger.snapshots.recorder
    assert isinstance(recorder, SnapshotRecorder), "derived records need the PostgreSQL store"
    return recorder


def _events(ledger: Ledger) -> LedgerRecorder:
    recorder = ledger.recorder
    assert isinstance(recorder, LedgerRecorder), "derived records need the PostgreSQL store"
    return recorder


def _check_snapshots(
    check: DerivedCheck, records: Iterable[SnapshotRecord], holds: Holds
) -> dict[UUID, dict[int, int]]:
    """Each snapshot's signature and chain hash; returns the unsigned ones to replay, as
    {project: {version: position}}."""
    unsigned: dict[UUID, dict[int, int]] = defaultdict(dict)
    for record in records:
        check.snapshots_checked += 1
        problem = snapshot_problem(record, holds)
        if problem is None:
            continue
        if problem == "orphaned":
            check.findings.append(
                Finding(
                    "snapshot",
                    "orphaned",
                    record.project_id,
                    record.version,
                    None,
                    f"project {record.project_id} has no event at version {record.version}",
                )
            )
        elif problem == "unsigned":
            assert record.event_position is not None
            unsigned[record.project_id][record.version] = record.event_position
        else:
            check.findings.append(
                Finding(
                    "snapshot",
                    "forged",
                    record.project_id,
                    record.version,
                    record.event_position,
                    problem,
                )
            )
    return unsigned


def _replay_unsigned(
    check: DerivedCheck, ledger: Ledger, unsigned: dict[UUID, dict[int, int]]
) -> None:
    """Compare each unsigned snapshot with its project replayed from the events (one replay per
    project, in version order)."""
    snapshots = _snapshots(ledger)
    for project_id, positions in unsigned.items():
        project: Project | None = None
        for version in sorted(positions):
            at = 0 if project is None else project.version
            events = ledger.events.get(project_id, gt=at, lte=version)
            project = project_aggregate(project, events)
            problem = _differs(ledger, snapshots, project_id, version, project)
            if problem is None:
                check.snapshots_unsigned += 1
            else:
                check.findings.append(
                    Finding("snapshot", "forged", project_id, version, positions[version], problem)
                )


def _differs(
    ledger: Ledger,
    snapshots: SnapshotRecorder,
    project_id: UUID,
    version: int,
    replayed: Project | None,
) -> str | None:
    stored = snapshots.unchecked(project_id, version)
    if stored is None or stored.topic != SNAPSHOT_TOPIC:
        return "unsigned, and not a snapshot of a project"
    try:
        snapshot = ledger.mapper.to_domain_event(stored)
        # Only then may its inner topic name a class to build (never an arbitrary one).
        if not isinstance(snapshot, Snapshot) or snapshot.topic != PROJECT_TOPIC:
            return "unsigned, and not a snapshot of a project"
        restored = snapshot.mutate(None)
    except Exception as error:  # forged bytes may fail in any way
        return f"unsigned, and unreadable: {type(error).__name__}"
    if restored != replayed:
        return "unsigned, and not what the events up to its version make"
    return None


def _check_as_of(check: DerivedCheck, ledger: Ledger, records: Iterable[AsOfRecord]) -> None:
    for record in records:
        check.as_of_rows_checked += 1
        if record.event is None:
            check.findings.append(
                Finding(
                    "as_of",
                    "orphaned",
                    record.project_id,
                    record.version,
                    None,
                    f"project {record.project_id} has no event at version {record.version}",
                )
            )
            continue
        try:
            event = ledger.mapper.to_domain_event(record.event)
            if not isinstance(event, ProjectEvent):
                raise TypeError(type(event).__name__)
            recorded = event.timestamp
        except Exception as error:  # a forged event may fail any way
            detail = f"its event cannot be read: {type(error).__name__}"
        else:
            if recorded == record.occurred_at:
                continue
            detail = (
                f"it says {record.occurred_at.isoformat()}; its event was recorded at "
                f"{recorded.isoformat()}"
            )
        check.findings.append(
            Finding("as_of", "forged", record.project_id, record.version, record.position, detail)
        )
