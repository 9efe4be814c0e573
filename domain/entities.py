"""The things a project holds (phases, deliverables, criteria, milestones) as plain state.

They are mutated only by the events in `domain.events`; the aggregate owns them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import TypeVar
from uuid import UUID

from domain import rules
from domain.states import DeliverableState as DeliverableState
from domain.states import MilestoneStatus as MilestoneStatus


class DeliverableKind(StrEnum):
    DOCUMENT = "document"
    SOFTWARE = "software"
    REPORT = "report"
    MANUAL = "manual"
    CONSTRUCTION = "construction"
    OTHER = "other"


class SignatureMeaning(StrEnum):
    """What a person's signature on a record means (21 CFR Part 11 §11.50)."""

    REVIEW = "review"
    APPROVAL = "approval"
    RESPONSIBILITY = "responsibility"
    AUTHORSHIP = "authorship"


class GateDecisionKind(StrEnum):
    """What a phase's exit-gate decision says (R24, R25)."""

    GO = "go"
    CONDITIONAL = "conditional"
    HOLD = "hold"
    NO_GO = "no_go"


@dataclass(frozen=True)
class GateCondition:
    """One condition of a `conditional` gate decision; closed once, by whom, when and how."""

    id: UUID
    text: str
    closed_by: str | None = None
    closed_at: datetime | None = None
    how: str | None = None

    @property
    def open(self) -> bool:
        return self.closed_at is None


@dataclass
class GateDecision:
    """The decision that stands at a phase's exit gate (R25): the latest one recorded."""

    id: UUID
    decision: GateDecisionKind
    participants: list[str]
    independent: list[str]
    reason: str
    decided_by: str
    decided_at: datetime
    meaning: str
    signer_name: str
    signed_digest: str
    conditions: dict[str, GateCondition] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.decision = GateDecisionKind(self.decision)

    def clone(self) -> GateDecision:
        copy = _shallow(self)
        copy.participants = list(self.participants)
        copy.independent = list(self.independent)
        copy.conditions = dict(self.conditions)  # the conditions are frozen: replaced
        return copy

    @property
    def open_conditions(self) -> list[GateCondition]:
        return [c for c in self.conditions.values() if c.open]


@dataclass
class Phase:
    """A phase of the project. `position` orders the phases (R24): the order they were added
    unless reordered; `exit_gate` whether leaving it needs a gate decision, `decision` the one
    that stands. A snapshot taken before gates existed has none of these and loads with the
    defaults (every phase at position 0, so the order they were added in, no gate)."""

    id: UUID
    name: str
    position: int = 0
    exit_gate: bool = False
    decision: GateDecision | None = None

    def clone(self) -> Phase:
        copy = _shallow(self)
        if self.decision is not None:
            copy.decision = self.decision.clone()
        return copy


@dataclass(frozen=True)
class ArtifactRef:
    """A file the project keeps by its content (an artifact), as evidence names it."""

    sha256: str
    size: int
    media_type: str
    filename: str | None

    def as_dict(self) -> dict[str, str | int | None]:
        return {
            "sha256": self.sha256,
            "size": self.size,
            "media_type": self.media_type,
            "filename": self.filename,
        }


@dataclass(frozen=True)
class Evidence:
    evidence: str
    sha256: str | None
    recorded_by: str
    recorded_at: datetime
    artifact: ArtifactRef | None = None

    def pinned(self, criterion_id: UUID) -> dict[str, str | None]:
        """What an approval records of it: the digests that pin what was reviewed."""
        return {
            "criterion_id": str(criterion_id),
            "artifact": None if self.artifact is None else self.artifact.sha256,
            "sha256": self.sha256,
        }


@dataclass
class Criterion:
    id: UUID
    text: str
    evidence: Evidence | None = None

    @property
    def met(self) -> bool:
        return self.evidence is not None

    def clone(self) -> Criterion:
        return _shallow(self)  # the evidence is frozen: replaced, never changed


@dataclass
class Deliverable:
    id: UUID
    title: str
    description: str
    kind: DeliverableKind
    phase_id: UUID
    owner: str | None
    state: DeliverableState = rules.DELIVERABLE_START
    criteria: dict[str, Criterion] = field(default_factory=dict)
    submitted_by: str | None = None
    review_rounds: int = 0
    # R21: how many approvals from distinct reviewers a review round needs, and who has
    # approved in the current round (or signed the approval that stands). A snapshot taken
    # before quorums existed has neither, and loads with these defaults (quorum 1).
    required_approvals: int = 1
    approvals: list[str] = field(default_factory=list)
    # R26: the project's groups each of which must have a member among a round's approvers.
    # A snapshot taken before groups existed has none, and loads with this default.
    required_groups: list[str] = field(default_factory=list)
    # R26: for each approver of the current round, the groups it belonged to when it approved
    # (membership is judged then, not at the round's last approval). Set as approvals apply,
    # from the groups as the events before them left them, so a replay gives the same.
    approval_groups: dict[str, list[str]] = field(default_factory=dict)
    # R25: everyone who ever submitted it (a snapshot taken before gates holds only the last
    # submitter, in `submitted_by`: `ever_submitted_by` reads both).
    submitters: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Snapshots decode enums as plain strings; restore the enum types.
        self.kind = DeliverableKind(self.kind)
        self.state = DeliverableState(self.state)

    def clone(self) -> Deliverable:
        copy = _shallow(self)
        copy.criteria = {key: criterion.clone() for key, criterion in self.criteria.items()}
        copy.approvals = list(self.approvals)
        copy.required_groups = list(self.required_groups)
        copy.approval_groups = {who: list(groups) for who, groups in self.approval_groups.items()}
        copy.submitters = list(self.submitters)
        return copy

    @property
    def ever_submitted_by(self) -> set[str]:
        """R25: every principal who submitted it, in any round."""
        found = set(self.submitters)
        if self.submitted_by is not None:
            found.add(self.submitted_by)
        return found

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
    status: MilestoneStatus = rules.MILESTONE_START
    deliverable_ids: list[UUID] = field(default_factory=list)
    achieved_at: datetime | None = None
    achieved_by: str | None = None
    # R27: the achievement's printed name and meaning, as signed (None when its event, or a
    # snapshot taken before signatures, did not record them).
    achieved_signer_name: str | None = None
    achieved_meaning: str | None = None
    # R16, R17: the milestones this one depends on (finish-to-finish), id -> lag in days. A
    # snapshot taken before dependencies existed has none, and loads with this default.
    predecessors: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.status = MilestoneStatus(self.status)

    def clone(self) -> Milestone:
        copy = _shallow(self)
        copy.deliverable_ids = list(self.deliverable_ids)
        copy.predecessors = dict(self.predecessors)
        return copy

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
        return rules.slip_days(self.due, self.baseline_due)


E = TypeVar("E")


def _shallow(entity: E) -> E:
    """A new instance with the same attribute values (no __init__, so no conversions again).

    The entities hold only immutable values (str, UUID, dates, enums, frozen Evidence) besides
    the containers each `clone` copies itself, so this plus those copies is a deep copy, about
    ten times faster than `copy.deepcopy` (which a command pays on every cached load).
    """
    copy: E = object.__new__(type(entity))
    copy.__dict__.update(entity.__dict__)
    return copy
