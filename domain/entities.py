"""The things a project holds (phases, deliverables, criteria, milestones) as plain state.

They are mutated only by the events in `domain.events`; the aggregate owns them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from uuid import UUID


class DeliverableKind(StrEnum):
    DOCUMENT = "document"
    SOFTWARE = "software"
    REPORT = "report"
    MANUAL = "manual"
    CONSTRUCTION = "construction"
    OTHER = "other"


class DeliverableState(StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    CANCELLED = "cancelled"


class MilestoneStatus(StrEnum):
    NOT_ACHIEVED = "not_achieved"
    ACHIEVED = "achieved"
    CANCELLED = "cancelled"


@dataclass
class Phase:
    id: UUID
    name: str


@dataclass
class Evidence:
    evidence: str
    sha256: str | None
    recorded_by: str
    recorded_at: datetime


@dataclass
class Criterion:
    id: UUID
    text: str
    evidence: Evidence | None = None

    @property
    def met(self) -> bool:
        return self.evidence is not None


@dataclass
class Deliverable:
    id: UUID
    title: str
    description: str
    kind: DeliverableKind
    phase_id: UUID
    owner: str | None
    state: DeliverableState = DeliverableState.DRAFT
    criteria: dict[str, Criterion] = field(default_factory=dict)
    submitted_by: str | None = None
    review_rounds: int = 0

    def __post_init__(self) -> None:
        # Snapshots decode enums as plain strings; restore the enum types.
        self.kind = DeliverableKind(self.kind)
        self.state = DeliverableState(self.state)

    @property
    def cancelled(self) -> bool:
        return self.state is DeliverableState.CANCELLED

    @property
    def criteria_met(self) -> int:
        return sum(1 for c in self.criteria.values() if c.met)


@dataclass
class Milestone:
    id: UUID
    name: str
    phase_id: UUID
    due: date
    baseline_due: date
    original_baseline_due: date
    status: MilestoneStatus = MilestoneStatus.NOT_ACHIEVED
    deliverable_ids: list[UUID] = field(default_factory=list)
    achieved_at: datetime | None = None
    achieved_by: str | None = None

    def __post_init__(self) -> None:
        self.status = MilestoneStatus(self.status)

    @property
    def achieved(self) -> bool:
        return self.status is MilestoneStatus.ACHIEVED

    @property
    def open(self) -> bool:
        """Not achieved and not cancelled: its schedule can still move."""
        return self.status is MilestoneStatus.NOT_ACHIEVED

    @property
    def slip_days(self) -> int:
        """R7: current due minus current baseline, in days."""
        return (self.due - self.baseline_due).days
