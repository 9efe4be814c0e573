"""What the reads answer (XPublic): a project's state, the list of projects, the schedule and
alignment views, and the problem details every error answers."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.artifacts import ArtifactPublic
from api.schemas.fields import UtcDatetime
from domain.entities import (
    DeliverableKind,
    DeliverableState,
    GateDecisionKind,
    MilestoneStatus,
    SignatureMeaning,
)
from domain.roles import ProjectRole
from domain.rules import Health


class MemberPublic(BaseModel):
    principal: str
    role: ProjectRole


class GateConditionPublic(BaseModel):
    id: UUID
    text: str
    open: bool
    closed_by: str | None
    closed_at: UtcDatetime | None
    how: str | None = Field(description="how the condition was met (null while open)")


class GateDecisionPublic(BaseModel):
    """The decision that stands at a phase's exit gate (R25), with its signature."""

    id: UUID
    decision: GateDecisionKind
    participants: list[str]
    independent: list[str] = Field(
        description="R25: the participants who submitted none of the phase's deliverables"
    )
    reason: str
    decided_by: str
    decided_at: UtcDatetime
    meaning: SignatureMeaning
    signer_name: str = Field(description="the signer's printed name when it signed")
    signed_digest: str = Field(description="hex SHA-256 of what was decided (docs/rules.md R25)")
    open_conditions: int
    conditions: list[GateConditionPublic]


class PhasePublic(BaseModel):
    id: UUID
    name: str
    position: int = Field(default=0, description="R24: the phase's place in the order, first is 0")
    exit_gate: bool = Field(
        default=False, description="R24: leaving the phase needs a gate decision"
    )
    gate: str = Field(
        default="none",
        description="R24: none (no exit gate), missing (no decision yet), go, conditional,"
        " conditional_open (a condition still open), hold or no_go; only none, go and"
        " conditional let later phases' milestones be achieved",
    )
    decision: GateDecisionPublic | None = None


class EvidencePublic(BaseModel):
    evidence: str
    sha256: str | None
    recorded_by: str
    recorded_at: UtcDatetime
    artifact: ArtifactPublic | None = Field(
        default=None, description="the artifact the evidence is (null: a URI or text only)"
    )


class CriterionPublic(BaseModel):
    id: UUID
    text: str
    met: bool
    evidence: EvidencePublic | None


class DeliverablePublic(BaseModel):
    id: UUID
    title: str
    description: str
    kind: DeliverableKind
    phase_id: UUID
    owner: str | None
    state: DeliverableState
    submitted_by: str | None
    review_rounds: int
    required_approvals: int = Field(description="R21: approvals a review round needs")
    approvals: list[str] = Field(
        description="R21: who approved in the current round, or signed the approval that stands"
    )
    required_groups: list[str] = Field(
        default_factory=list,
        description="R26: the groups each of which one of a round's approvers must belong to",
    )
    criteria_met: int
    criteria_total: int
    criteria: list[CriterionPublic]


class PredecessorPublic(BaseModel):
    """A milestone this one depends on, finish-to-finish (R16)."""

    id: UUID
    lag_days: int


class MilestonePublic(BaseModel):
    id: UUID
    name: str
    phase_id: UUID
    due: date
    baseline_due: date
    original_baseline_due: date
    slip_days: int
    achieved: bool
    status: MilestoneStatus
    achieved_at: UtcDatetime | None
    achieved_by: str | None
    health: Health
    deliverable_ids: list[UUID]
    predecessors: list[PredecessorPublic] = Field(default_factory=list)
    forecast_due: date | None = Field(
        default=None,
        description="R18: when it is forecast to finish through its predecessors (the day it "
        "was achieved, once achieved); null when cancelled",
    )


class GroupPublic(BaseModel):
    name: str
    members: list[str]


class ProjectPublic(BaseModel):
    id: UUID
    name: str
    description: str
    timezone: str
    risk_window_days: int
    version: int
    created_at: UtcDatetime
    updated_at: UtcDatetime
    as_of: UtcDatetime | None = None
    members: list[MemberPublic]
    phases: list[PhasePublic]
    deliverables: list[DeliverablePublic]
    milestones: list[MilestonePublic]
    groups: list[GroupPublic] = Field(
        default_factory=list, description="R26: the project's named groups of principals"
    )


class NextDue(BaseModel):
    id: UUID
    name: str
    due: date


class ProjectSummary(BaseModel):
    id: UUID
    name: str
    description: str
    timezone: str
    version: int
    role: ProjectRole | None = Field(description="the caller's role; null for auditors/admins")
    created_at: UtcDatetime
    updated_at: UtcDatetime
    counts: dict[str, dict[str, int]] = Field(
        description="deliverables by state and milestones by status"
    )
    next_due_milestone: NextDue | None


class ScheduleDeliverable(BaseModel):
    id: UUID
    title: str
    state: DeliverableState
    criteria_met: int
    criteria_total: int
    required_approvals: int = Field(description="R21: approvals a review round needs")
    approvals: list[str] = Field(
        description="R21: who approved in the current round, or signed the approval that stands"
    )


class ScheduleMilestone(BaseModel):
    id: UUID
    name: str
    due: date
    baseline_due: date
    original_baseline_due: date
    slip_days: int
    achieved: bool
    status: MilestoneStatus
    achieved_at: UtcDatetime | None
    achieved_by: str | None
    health: Health
    deliverables: list[ScheduleDeliverable]
    predecessors: list[PredecessorPublic] = Field(default_factory=list)
    forecast_due: date | None = Field(
        default=None,
        description="R18: when it is forecast to finish through its predecessors; null when "
        "cancelled",
    )


class SchedulePhase(BaseModel):
    id: UUID
    name: str
    milestones: list[ScheduleMilestone]


class Schedule(BaseModel):
    project_id: UUID
    name: str
    timezone: str
    today: date
    version: int
    phases: list[SchedulePhase]


class UnprovenMilestone(BaseModel):
    """A milestone with no deliverable: activity without evidence."""

    id: UUID
    name: str
    phase_id: UUID


class MisalignedDeliverable(BaseModel):
    """A deliverable no milestone links (evidence without timing), or one without criteria."""

    id: UUID
    title: str
    phase_id: UUID


class ChainLink(BaseModel):
    """One milestone of a late forecast's chain; `lag_days` is the lag of the dependency of the
    link before it on this one (null for the first)."""

    id: UUID
    name: str
    status: MilestoneStatus
    due: date
    forecast_due: date
    lag_days: int | None


class LateByForecast(BaseModel):
    """R18: an open milestone forecast after its due date, and the chain that causes it."""

    id: UUID
    name: str
    due: date
    forecast_due: date
    late_by_days: int
    chain: list[ChainLink]


class Alignment(BaseModel):
    project_id: UUID
    aligned: bool = Field(description="R11: no list of activity without evidence has an entry")
    milestones_without_deliverables: list[UnprovenMilestone]
    deliverables_without_milestones: list[MisalignedDeliverable]
    deliverables_without_criteria: list[MisalignedDeliverable]
    milestones_late_by_forecast: list[LateByForecast] = Field(default_factory=list)


class ProblemItem(BaseModel):
    """One reason of a refusal: a malformed field (`field`, `message`, for a request that does
    not match the schema also `type`) or a rule that refuses the command (`rule`, `message`,
    and the entities it names)."""

    model_config = ConfigDict(extra="allow")

    message: str
    field: str | None = None
    type: str | None = None
    rule: str | None = None


class Problem(BaseModel):
    """RFC 9457 problem details, as every error answers."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[ProblemItem] | None = None
