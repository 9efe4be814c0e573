"""Request and response bodies of the HTTP API (pydantic), with the bounds of R14."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, StringConstraints

from domain.entities import DeliverableKind, DeliverableState, MilestoneStatus
from domain.roles import ProjectRole
from domain.rules import Health
from domain.validation import EVIDENCE_MAX, NAME_MAX, RISK_WINDOW_MAX, TEXT_MAX


def iso_utc(value: datetime) -> str:
    """Timestamps leave as ISO 8601 UTC with microseconds: 2026-11-26T09:30:00.123456Z."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    if value.year < 1000:  # strftime's %Y does not pad years below 1000 to four digits
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    # The same text as the strftime above, for a third less: a large project's answer holds
    # thousands of timestamps. isoformat ends in "+00:00" here (tzinfo is UTC).
    return value.isoformat(timespec="microseconds")[:-6] + "Z"


UtcDatetime = Annotated[datetime, PlainSerializer(iso_utc, return_type=str)]

# An `as_of` instant: aware, and a day inside the calendar's range, so that the project's
# local day of it (in any time zone) exists.
AS_OF_EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
AS_OF_LATEST = datetime(9999, 12, 30, tzinfo=UTC)
Name = Annotated[str, StringConstraints(min_length=1, max_length=NAME_MAX, pattern=r"\S")]
Text = Annotated[str, StringConstraints(max_length=TEXT_MAX)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=TEXT_MAX, pattern=r"\S")]
EvidenceText = Annotated[
    str, StringConstraints(min_length=1, max_length=EVIDENCE_MAX, pattern=r"\S")
]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class Command(BaseModel):
    """Base of every request body: unknown and server-owned fields are refused (R14)."""

    model_config = ConfigDict(extra="forbid")


# --- command bodies ----------------------------------------------------------------------------


class ProjectCreate(Command):
    name: Name
    description: Text = ""
    timezone: str = "UTC"
    risk_window_days: int = Field(default=7, ge=0, le=RISK_WINDOW_MAX)


class MemberSet(Command):
    principal: Name
    role: ProjectRole


class PhaseCreate(Command):
    name: Name


class DeliverableCreate(Command):
    title: Name
    phase_id: UUID
    kind: DeliverableKind = DeliverableKind.OTHER
    description: Text = ""
    owner: Name | None = None


class DeliverableUpdate(Command):
    """Only the fields present change; `owner: null` clears the owner."""

    title: Name | None = None
    description: Text | None = None
    owner: Name | None = None
    phase_id: UUID | None = None
    kind: DeliverableKind | None = None


class CriterionCreate(Command):
    text: Name


class EvidenceRecord(Command):
    evidence: EvidenceText
    sha256: Sha256 | None = None


class Submission(Command):
    note: Text | None = None


class Approval(Command):
    comment: Text | None = None


class WithReason(Command):
    reason: Reason


class MilestoneCreate(Command):
    name: Name
    phase_id: UUID
    due: date
    deliverable_ids: list[UUID] = Field(max_length=1000)


class Reschedule(Command):
    due: date
    reason: Reason


class Achievement(Command):
    note: Text | None = None


# --- responses ---------------------------------------------------------------------------------


class CommandResponse(BaseModel):
    """What every command answers; the id fields present are those the command touched."""

    project_id: UUID
    version: int = Field(description="the project's version after the command")
    position: int | None = Field(
        description="global position of the last event written; null when nothing changed"
    )
    changed: bool
    phase_id: UUID | None = None
    deliverable_id: UUID | None = None
    criterion_id: UUID | None = None
    milestone_id: UUID | None = None
    principal: str | None = None


class MemberPublic(BaseModel):
    principal: str
    role: ProjectRole


class PhasePublic(BaseModel):
    id: UUID
    name: str


class EvidencePublic(BaseModel):
    evidence: str
    sha256: str | None
    recorded_by: str
    recorded_at: UtcDatetime


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
    criteria_met: int
    criteria_total: int
    criteria: list[CriterionPublic]


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


class Alignment(BaseModel):
    project_id: UUID
    aligned: bool
    milestones_without_deliverables: list[UnprovenMilestone]
    deliverables_without_milestones: list[MisalignedDeliverable]
    deliverables_without_criteria: list[MisalignedDeliverable]


class Problem(BaseModel):
    """RFC 9457 problem details, as every error answers."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, object]] | None = None
