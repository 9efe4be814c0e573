"""The answers of the reads of the past: audit trail, history, feed, retrospective."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from api.schemas.fields import UtcDatetime
from domain.entities import DeliverableState, MilestoneStatus


class AuditEntry(BaseModel):
    position: int = Field(description="global position of the event (commit order)")
    project_id: UUID
    version: int = Field(description="the project's version this event made")
    entity_kind: str = Field(
        description="project, member, phase, deliverable, criterion or milestone"
    )
    entity_id: str = Field(description="the entity's id (a member's principal name)")
    type: str = Field(description="the event's class name, e.g. DeliverableApproved")
    actor: str
    occurred_at: UtcDatetime
    summary: str = Field(description="one line, with names as they were at that moment")
    correlation_id: str | None = Field(
        default=None,
        description="the request that caused it: its Idempotency-Key, else its X-Request-ID",
    )
    data: dict[str, Any] = Field(description="the event's own fields")


class AuditPage(BaseModel):
    items: list[AuditEntry]
    next_cursor: str | None = Field(
        description="pass as `cursor` for the next (older) page; null on the last page"
    )


class HistoryEvent(BaseModel):
    version: int
    position: int | None = Field(description="global position (null on a store without one)")
    type: str
    actor: str
    occurred_at: UtcDatetime
    correlation_id: str | None = Field(
        default=None,
        description="the request that caused it: its Idempotency-Key, else its X-Request-ID",
    )
    data: dict[str, Any]


class HistoryPage(BaseModel):
    project_id: UUID
    events: list[HistoryEvent]
    next_after_version: int | None = Field(
        description="pass as `after_version` for the next page; null on the last page"
    )


class FeedEvent(BaseModel):
    position: int
    project_id: UUID
    version: int
    type: str
    actor: str
    occurred_at: UtcDatetime
    correlation_id: str | None = Field(
        default=None,
        description="the request that caused it: its Idempotency-Key, else its X-Request-ID",
    )
    data: dict[str, Any]


class FeedPage(BaseModel):
    events: list[FeedEvent]
    next_after: int = Field(description="pass as `after` to continue: the last position read")


# --- retrospective ---------------------------------------------------------------------------


class ReschedulePublic(BaseModel):
    at: UtcDatetime
    by: str
    previous_due: date
    due: date
    reason: str


class RebaselinePublic(BaseModel):
    at: UtcDatetime
    by: str
    previous_baseline: date
    baseline: date
    reason: str


class SignaturePublic(BaseModel):
    """R27: a signature's manifestation, as its event recorded it (null: not recorded, by an
    event stored before signatures recorded it)."""

    at: UtcDatetime = Field(description="the server's time of the signing event")
    by: str = Field(description="the principal who signed")
    printed_name: str | None = Field(description="the signer's printed name at signing time")
    meaning: str | None = Field(description="review, approval, responsibility or authorship")
    signed_digest: str | None = Field(
        description="SHA-256 of the canonical JSON of what was signed (docs/trust.md §11)"
    )


class ReopeningPublic(BaseModel):
    at: UtcDatetime
    by: str
    reason: str
    signature: SignaturePublic | None = None


class RejectionPublic(BaseModel):
    at: UtcDatetime
    by: str
    round: int = Field(description="the review round (1 = first submission) it ended")
    reason: str
    signature: SignaturePublic | None = None


class ReviewRoundPublic(BaseModel):
    round: int = Field(description="the review round (1 = first submission)")
    signers: list[str] = Field(description="who approved in the round, in order (R21)")
    outcome: str = Field(description="open, approved, rejected (a veto, R22) or reopened")
    vetoed_by: str | None = Field(description="the reviewer whose rejection ended the round")
    signatures: list[SignaturePublic] = Field(
        default_factory=list, description="R27: each approval's signature, in order"
    )
    veto: SignaturePublic | None = Field(default=None, description="R27: the veto's signature")


class DeliverableReviewPublic(BaseModel):
    id: UUID
    title: str
    state: DeliverableState
    review_rounds: int = Field(description="how many times it was submitted")
    rejections: list[RejectionPublic]
    reopenings: list[ReopeningPublic]
    last_evidence_at: UtcDatetime | None
    approved_at: UtcDatetime | None = Field(description="the approval that stands, if any")
    approved_by: str | None
    required_approvals: int = Field(description="R21: approvals a review round needs now")
    rounds: list[ReviewRoundPublic] = Field(description="each review round and its signers")
    days_from_last_evidence_to_approval: float | None


class SlipCausePublic(BaseModel):
    """Days of one reschedule and their cause: `reschedule` (the milestone's own) or
    `predecessor` (its predecessors' forecast had already passed its due; `chain` the
    milestones that drove it, nearest first)."""

    cause: str
    days: int
    at: UtcDatetime
    by: str
    reason: str
    chain: list[UUID]


class MilestoneRetrospectivePublic(BaseModel):
    id: UUID
    name: str
    status: MilestoneStatus
    outcome: str = Field(
        description="on_time, late (achieved after its final due), open, cancelled"
    )
    original_baseline_due: date = Field(description="the first due date it was given")
    baseline_due: date = Field(description="the current baseline (after re-baselines)")
    final_due: date
    achieved_at: UtcDatetime | None
    achieved_by: str | None
    achievement: SignaturePublic | None = Field(
        default=None, description="R27: the achievement that stands, as signed"
    )
    slip_days: int = Field(description="final due − current baseline")
    slip_days_from_original: int = Field(description="final due − original baseline")
    reschedules: list[ReschedulePublic]
    rebaselines: list[RebaselinePublic]
    reopenings: list[ReopeningPublic]
    deliverables: list[DeliverableReviewPublic] = Field(description="the deliverables it links")
    slip_causes: list[SlipCausePublic] = Field(
        default_factory=list, description="they add up to slip_days_from_original"
    )
    slip_days_by_cause: dict[str, int] = Field(default_factory=dict)


class RetrospectiveTotals(BaseModel):
    milestones: int
    on_time: int
    late: int
    open: int
    cancelled: int
    mean_slip_days: float | None = Field(description="over milestones not cancelled")
    mean_slip_days_from_original: float | None
    reschedules: int
    slip_days_by_cause: dict[str, int] = Field(
        default_factory=dict,
        description="reschedule and predecessor, over milestones not cancelled",
    )
    deliverables_reviewed: int = Field(description="deliverables submitted at least once")
    review_rounds: int
    rounds_per_deliverable: float | None = Field(description="over deliverables reviewed")
    rejections: int


class ConditionClosingPublic(BaseModel):
    condition_id: UUID
    text: str
    at: UtcDatetime
    by: str
    how: str


class GateDecisionRecordPublic(BaseModel):
    id: UUID
    decision: str = Field(description="go, conditional, hold or no_go (R24)")
    at: UtcDatetime
    by: str
    signer_name: str = Field(description="the signer's printed name when it signed")
    meaning: str
    participants: list[str]
    independent: list[str] = Field(description="R25: participants who submitted none")
    reason: str
    conditions: list[str]
    days_from_last_milestone: float | None = Field(
        description="days from the phase's last achieved milestone to this decision; null"
        " when none of its milestones was achieved then"
    )
    closings: list[ConditionClosingPublic]


class PhaseGateRetrospectivePublic(BaseModel):
    phase_id: UUID
    name: str
    decisions: list[GateDecisionRecordPublic]


class RetrospectivePublic(BaseModel):
    project_id: UUID
    name: str
    version: int = Field(description="the project version the retrospective replayed up to")
    milestones: list[MilestoneRetrospectivePublic]
    deliverables: list[DeliverableReviewPublic]
    totals: RetrospectiveTotals
    gates: list[PhaseGateRetrospectivePublic] = Field(
        default_factory=list, description="R24, R25: each phase that had an exit gate"
    )


class BaselineMilestone(BaseModel):
    id: UUID
    name: str = Field(description="the milestone's name now")
    baseline_due: date = Field(description="the due date this baseline holds for it")
    due: date = Field(description="its due date now")
    slip_days: int = Field(description="R7's slip against this baseline: due now − baseline_due")


class BaselinePublic(BaseModel):
    """R19: one saved baseline, who saved it, when and why."""

    name: str | None = Field(description="null for a baseline saved without a name")
    reason: str
    saved_by: str
    saved_at: UtcDatetime
    version: int = Field(description="the project's version the re-baseline made")
    milestones: list[BaselineMilestone] = Field(description="the milestones open then")


class BaselinesPublic(BaseModel):
    project_id: UUID
    baselines: list[BaselinePublic] = Field(description="oldest first")


class DiffCause(BaseModel):
    """An event that changed the item."""

    type: str
    actor: str
    occurred_at: UtcDatetime
    version: int
    reason: str | None


class DiffField(BaseModel):
    field: str
    old: Any
    new: Any


class DiffChange(BaseModel):
    kind: str = Field(description="milestone, deliverable, criterion, link or dependency")
    id: str = Field(description="a link's or dependency's is milestone_id/other_id")
    name: str
    change: str = Field(description="added, removed or changed")
    fields: list[DiffField] = Field(description="field: old → new (old null when added)")
    events: list[DiffCause] = Field(description="the events between the two that changed it")


class DiffPointPublic(BaseModel):
    given: str = Field(description="as the request gave it: now, baseline:NAME or an instant")
    version: int = Field(description="the project's version there (0: before it existed)")


class DiffPublic(BaseModel):
    project_id: UUID
    from_: DiffPointPublic = Field(alias="from")
    to: DiffPointPublic
    changes: list[DiffChange]
