"""The bodies the commands take (XCreate and the like), with the bounds of R14, and the answer
every command gives."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.fields import EvidenceText, Name, Reason, Sha256, Text
from domain.entities import DeliverableKind, GateDecisionKind, SignatureMeaning
from domain.gates import MAX_CONDITIONS, MAX_PARTICIPANTS
from domain.groups import GROUP_MEMBERS_MAX
from domain.roles import ProjectRole
from domain.signatures import DEFAULT_MEANINGS
from domain.validation import LAG_MAX, QUORUM_MAX, RISK_WINDOW_MAX, TIMEZONE_MAX

GROUPS_MAX = 20


class Command(BaseModel):
    """Base of every request body: unknown and server-owned fields are refused (R14)."""

    model_config = ConfigDict(extra="forbid")


class ProjectCreate(Command):
    name: Name
    description: Text = ""
    timezone: str = Field(default="UTC", max_length=TIMEZONE_MAX, description="an IANA name")
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
    """A URI or text, an artifact of the project (`POST …/artifacts`), or both."""

    evidence: EvidenceText | None = None
    sha256: Sha256 | None = None
    artifact: Sha256 | None = None


class Submission(Command):
    note: Text | None = None


# A signing password (R23): sent only to sign, never stored, never echoed.
Password = Annotated[
    str | None,
    Field(
        default=None,
        min_length=1,
        max_length=1024,
        description="R23: the caller's signing password; required when the deployment requires"
        " signatures (else 401), checked when given",
        json_schema_extra={"format": "password", "writeOnly": True},
    ),
]


def _meaning(command: str) -> Any:
    """R27: the `meaning` of a signing command's body, with the command's default."""
    default = DEFAULT_MEANINGS[command]
    return Field(
        default=default,
        description="R27: what the signature means (21 CFR 11.50): review, approval,"
        f" responsibility or authorship; default {default.value} for this command. The event"
        " also records the signer's printed name and the digest of what was signed",
    )


class Approval(Command):
    comment: Text | None = None
    meaning: SignatureMeaning = _meaning("approve")
    password: Password = None


class Rejection(Command):
    reason: Reason
    meaning: SignatureMeaning = _meaning("reject")
    password: Password = None


class Reopening(Command):
    reason: Reason
    meaning: SignatureMeaning = _meaning("reopen")
    password: Password = None


class Quorum(Command):
    required_approvals: int = Field(
        ge=1,
        le=QUORUM_MAX,
        description="R21: approvals from distinct reviewers, none the submitter, a round needs",
    )
    required_groups: list[Name] = Field(
        default_factory=list,
        max_length=GROUPS_MAX,
        description="R26: the project's groups (PUT …/groups/{name}) each of which one of the"
        " round's approvers must be a member of; default none",
    )


class GroupSet(Command):
    members: list[Name] = Field(
        min_length=1,
        max_length=GROUP_MEMBERS_MAX,
        description="R26: the group's members from now on, each a member of the project",
    )


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


class DependencySet(Command):
    lag_days: int = Field(
        default=0, ge=0, le=LAG_MAX, description="days after the predecessor finishes (R16)"
    )


class BaselineCreate(Command):
    reason: Reason
    name: Name | None = Field(
        default=None, description="R19: unique in the project; a baseline without one is unnamed"
    )


class Achievement(Command):
    note: Text | None = None
    meaning: SignatureMeaning = _meaning("achieve")
    password: Password = None


class PhaseOrder(Command):
    phase_ids: list[UUID] = Field(
        max_length=1000, description="R24: every phase of the project once, first to last"
    )


class ExitGate(Command):
    required: bool = Field(description="R24: whether leaving the phase needs a gate decision")


class GateDecisionCreate(Command):
    decision: GateDecisionKind = Field(description="R24: go, conditional, hold or no_go")
    participants: list[Name] = Field(
        min_length=1,
        max_length=MAX_PARTICIPANTS,
        description="R25: members who took part; at least one submitted none of the phase's"
        " deliverables",
    )
    reason: Reason
    conditions: list[Reason] = Field(
        default_factory=list,
        max_length=MAX_CONDITIONS,
        description="R25: for a conditional decision (1 or more), else none",
    )
    meaning: SignatureMeaning = Field(
        default=SignatureMeaning.APPROVAL,
        description="what the signature means (21 CFR 11.50): review, approval, responsibility"
        " or authorship; default approval",
    )
    password: Password = None


class ConditionClosing(Command):
    how: Reason = Field(description="R24: how the condition was met")


class CommandWarning(BaseModel):
    """One piece of advice about an accepted command."""

    code: str = Field(description="what the advice is about, e.g. `due-in-the-past`")
    detail: str = Field(description="the advice in words")


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
    predecessor_id: UUID | None = None
    principal: str | None = None
    decision_id: UUID | None = None
    condition_id: UUID | None = None
    warnings: list[CommandWarning] = Field(
        default_factory=list,
        description="advice about an accepted command, present only when there is some: "
        "`due-in-the-past` when a milestone is defined or rescheduled to a day before today "
        "in the project's time zone (the date is kept)",
    )
