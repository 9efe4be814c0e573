"""The project's domain events: immutable, past-tense business facts.

Every event carries the principal who caused it (`actor`) and the server time it occurred
(`timestamp`, exposed as `occurred_at`), both set by the server (R1). Each `apply` is the only
place its fact changes the project's state, so replaying the events rebuilds the same state.
A change to an event's fields bumps its `class_version` and adds a static `upcast_vN_vN+1`
that turns a stored older state into the new one (`DeliverableApproved` is at version 4), so
stored events stay readable; their stored bytes, which the hash chain covers, never change.
An event's stored topic is `domain.events:<ClassName>`: never move or rename one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from eventsourcing.domain import AggregateCreated, AggregateEvent

from domain import rules
from domain.entities import (
    ArtifactRef,
    Criterion,
    Deliverable,
    DeliverableKind,
    Evidence,
    Milestone,
    Phase,
    SignatureMeaning,
)
from domain.roles import ProjectRole
from domain.states import DeliverableState, MilestoneStatus

if TYPE_CHECKING:
    from domain.project import Project


# Where event timestamps come from when not from the system clock: only `events_dated_by`, which
# the demo uses to spread its story over past weeks. Never reachable from a request (R1).
_EVENT_CLOCK: ContextVar[Callable[[], datetime] | None] = ContextVar("event_clock", default=None)


@contextmanager
def events_dated_by(clock: Callable[[], datetime]) -> Iterator[None]:
    """Events created in this block (in this thread or task) take their timestamps from
    `clock`, which must not go backwards."""
    token = _EVENT_CLOCK.set(clock)
    try:
        yield
    finally:
        _EVENT_CLOCK.reset(token)


class ProjectEvent(AggregateEvent):
    """Base of every project event."""

    class_version = 1
    actor: str

    @staticmethod
    def create_timestamp() -> datetime:
        clock = _EVENT_CLOCK.get()
        return AggregateEvent.create_timestamp() if clock is None else clock()

    @property
    def occurred_at(self) -> datetime:
        return self.timestamp

    @property
    def type_name(self) -> str:
        return type(self).__name__


class ProjectCreated(ProjectEvent, AggregateCreated):
    name: str
    description: str
    timezone: str
    risk_window_days: int


# --- members -------------------------------------------------------------------------------


class MemberAdded(ProjectEvent):
    principal: str
    role: str

    def apply(self, aggregate: Project) -> None:
        aggregate.members[self.principal] = ProjectRole(self.role).value


class MemberRoleChanged(ProjectEvent):
    principal: str
    role: str
    previous_role: str

    def apply(self, aggregate: Project) -> None:
        aggregate.members[self.principal] = ProjectRole(self.role).value


class MemberRemoved(ProjectEvent):
    principal: str

    def apply(self, aggregate: Project) -> None:
        del aggregate.members[self.principal]


# --- phases --------------------------------------------------------------------------------


class PhaseAdded(ProjectEvent):
    phase_id: UUID
    name: str

    def apply(self, aggregate: Project) -> None:
        aggregate.phases[str(self.phase_id)] = Phase(id=self.phase_id, name=self.name)


# --- deliverables --------------------------------------------------------------------------


class DeliverableDefined(ProjectEvent):
    deliverable_id: UUID
    title: str
    description: str
    kind: str
    phase_id: UUID
    owner: str | None

    def apply(self, aggregate: Project) -> None:
        aggregate.deliverables[str(self.deliverable_id)] = Deliverable(
            id=self.deliverable_id,
            title=self.title,
            description=self.description,
            kind=DeliverableKind(self.kind),
            phase_id=self.phase_id,
            owner=self.owner,
        )


class DeliverableEvent(ProjectEvent):
    """An event about one existing deliverable: `apply` changes it only through
    `deliverable(aggregate)`, the project's own (a command's copy shares the others'
    entities until it changes one: `Project.__deepcopy__`)."""

    deliverable_id: UUID

    def deliverable(self, aggregate: Project) -> Deliverable:
        return aggregate.deliverable_to_change(str(self.deliverable_id))


class DeliverableMoved(DeliverableEvent):
    """A step of the deliverable's lifecycle: it ends in `transition.target` (`domain.rules`)."""

    transition: ClassVar[rules.Transition[DeliverableState]]

    def apply(self, aggregate: Project) -> None:
        self.deliverable(aggregate).state = self.transition.target


class DeliverableRetitled(DeliverableEvent):
    title: str

    def apply(self, aggregate: Project) -> None:
        self.deliverable(aggregate).title = self.title


class DeliverableDescribed(DeliverableEvent):
    description: str

    def apply(self, aggregate: Project) -> None:
        self.deliverable(aggregate).description = self.description


class DeliverableOwnerAssigned(DeliverableEvent):
    owner: str | None

    def apply(self, aggregate: Project) -> None:
        self.deliverable(aggregate).owner = self.owner


class DeliverableMovedToPhase(DeliverableEvent):
    phase_id: UUID

    def apply(self, aggregate: Project) -> None:
        self.deliverable(aggregate).phase_id = self.phase_id


class DeliverableKindChanged(DeliverableEvent):
    kind: str

    def apply(self, aggregate: Project) -> None:
        self.deliverable(aggregate).kind = DeliverableKind(self.kind)


class CriterionAdded(DeliverableEvent):
    criterion_id: UUID
    text: str

    def apply(self, aggregate: Project) -> None:
        criteria = self.deliverable(aggregate).criteria
        criteria[str(self.criterion_id)] = Criterion(id=self.criterion_id, text=self.text)


class EvidenceRecorded(DeliverableEvent):
    """Version 2 may name an artifact the evidence is (its digest, size, media type and file
    name, as stored); evidence stored as version 1 named none."""

    class_version = 2
    criterion_id: UUID
    evidence: str
    sha256: str | None
    artifact: dict[str, Any] | None = None

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["artifact"] = None

    def apply(self, aggregate: Project) -> None:
        criterion = self.deliverable(aggregate).criteria[str(self.criterion_id)]
        artifact = self.artifact
        criterion.evidence = Evidence(
            evidence=self.evidence,
            sha256=self.sha256,
            recorded_by=self.actor,
            recorded_at=self.timestamp,
            artifact=None
            if artifact is None
            else ArtifactRef(
                sha256=str(artifact["sha256"]),
                size=int(artifact["size"]),
                media_type=str(artifact["media_type"]),
                filename=artifact.get("filename"),
            ),
        )


class DeliverableSubmitted(DeliverableMoved):
    transition = rules.SUBMIT
    note: str | None

    def apply(self, aggregate: Project) -> None:
        super().apply(aggregate)
        deliverable = self.deliverable(aggregate)
        deliverable.submitted_by = self.actor
        deliverable.review_rounds += 1
        deliverable.approvals = []  # R21: a new round starts with no approvals


class DeliverableQuorumSet(DeliverableEvent):
    """R21: from its next review round on, the deliverable needs `required_approvals`
    approvals from distinct reviewers (none its submitter) to be approved."""

    required_approvals: int
    previous_required_approvals: int

    def apply(self, aggregate: Project) -> None:
        self.deliverable(aggregate).required_approvals = self.required_approvals


class DeliverableApprovalSigned(DeliverableEvent):
    """R21: one reviewer's approval in a round that needs more than it has so far: the
    deliverable stays in review. It records what `DeliverableApproved` records of a signature
    (comment, meaning, the evidence digests then) and the quorum in force."""

    comment: str | None
    meaning: str
    evidence_digests: list[dict[str, str | None]]
    required_approvals: int

    def apply(self, aggregate: Project) -> None:
        deliverable = self.deliverable(aggregate)
        deliverable.approvals = [*deliverable.approvals, self.actor]


class DeliverableApproved(DeliverableMoved):
    """Version 2 records what the approver's signature means (`SignatureMeaning`); an approval
    stored as version 1 had no other meaning than `approval`, and reads as one.

    Version 3 records the digests of all of the deliverable's evidence at that moment
    (`evidence_digests`: per criterion, the artifact's SHA-256 and the client's sha256 of a
    URI, either may be null), so the approval is of exactly those bytes. An approval stored
    before version 3 recorded none: `None`, never an empty list (which would say "no evidence").

    Version 4 is the approval that completes its round's quorum (R21): it records the quorum
    in force (`required_approvals`) and every signer of the round in order, its own actor last
    (`signers`). An approval stored before version 4 was the round's only one: quorum 1, its
    actor the only signer."""

    class_version = 4
    transition = rules.APPROVE
    comment: str | None
    meaning: str
    evidence_digests: list[dict[str, str | None]] | None = None
    signers: list[str] | None = None
    required_approvals: int = 1

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["meaning"] = SignatureMeaning.APPROVAL.value

    @staticmethod
    def upcast_v2_v3(state: dict[str, Any]) -> None:
        state["evidence_digests"] = None

    @staticmethod
    def upcast_v3_v4(state: dict[str, Any]) -> None:
        state["signers"] = [state["actor"]]
        state["required_approvals"] = 1

    @property
    def round_signers(self) -> list[str]:
        """Who signed the round this approval completed (its own actor last)."""
        return list(self.signers) if self.signers else [self.actor]

    def apply(self, aggregate: Project) -> None:
        super().apply(aggregate)
        self.deliverable(aggregate).approvals = self.round_signers


class DeliverableRejected(DeliverableMoved):
    """R22: a rejection by any reviewer ends the round (a veto): the deliverable returns to
    draft and the round's approvals so far count for nothing."""

    transition = rules.REJECT
    reason: str

    def apply(self, aggregate: Project) -> None:
        super().apply(aggregate)
        self.deliverable(aggregate).approvals = []


class DeliverableReopened(DeliverableMoved):
    transition = rules.REOPEN_DELIVERABLE
    reason: str

    def apply(self, aggregate: Project) -> None:
        super().apply(aggregate)
        self.deliverable(aggregate).approvals = []


class DeliverableCancelled(DeliverableMoved):
    transition = rules.CANCEL_DELIVERABLE
    reason: str


# --- milestones ----------------------------------------------------------------------------


class MilestoneDefined(ProjectEvent):
    milestone_id: UUID
    name: str
    phase_id: UUID
    due: date
    deliverable_ids: list[UUID]

    def apply(self, aggregate: Project) -> None:
        aggregate.milestones[str(self.milestone_id)] = Milestone(
            id=self.milestone_id,
            name=self.name,
            phase_id=self.phase_id,
            due=self.due,
            baseline_due=self.due,  # R7: the first due date is the baseline
            original_baseline_due=self.due,
            deliverable_ids=list(self.deliverable_ids),
        )


class MilestoneEvent(ProjectEvent):
    """An event about one existing milestone: `apply` changes it only through
    `milestone(aggregate)` (see `DeliverableEvent`)."""

    milestone_id: UUID

    def milestone(self, aggregate: Project) -> Milestone:
        return aggregate.milestone_to_change(str(self.milestone_id))


class MilestoneMoved(MilestoneEvent):
    """A change of the milestone's status: it ends in `transition.target` (`domain.rules`)."""

    transition: ClassVar[rules.Transition[MilestoneStatus]]

    def apply(self, aggregate: Project) -> None:
        self.milestone(aggregate).status = self.transition.target


class DeliverableLinked(MilestoneEvent):
    deliverable_id: UUID

    def apply(self, aggregate: Project) -> None:
        self.milestone(aggregate).deliverable_ids.append(self.deliverable_id)


class DeliverableUnlinked(MilestoneEvent):
    deliverable_id: UUID

    def apply(self, aggregate: Project) -> None:
        self.milestone(aggregate).deliverable_ids.remove(self.deliverable_id)


class MilestoneRescheduled(MilestoneEvent):
    due: date
    previous_due: date
    reason: str

    def apply(self, aggregate: Project) -> None:
        self.milestone(aggregate).due = self.due


class MilestoneAchieved(MilestoneMoved):
    transition = rules.ACHIEVE
    note: str | None

    def apply(self, aggregate: Project) -> None:
        super().apply(aggregate)
        milestone = self.milestone(aggregate)
        milestone.achieved_at = self.timestamp
        milestone.achieved_by = self.actor


class MilestoneReopened(MilestoneMoved):
    transition = rules.REOPEN_MILESTONE
    reason: str

    def apply(self, aggregate: Project) -> None:
        super().apply(aggregate)
        milestone = self.milestone(aggregate)
        milestone.achieved_at = None
        milestone.achieved_by = None


class MilestoneCancelled(MilestoneMoved):
    transition = rules.CANCEL_MILESTONE
    reason: str


class MilestoneDependencyAdded(MilestoneEvent):
    """R16: the milestone now finishes no earlier than `predecessor_id` plus `lag_days`."""

    predecessor_id: UUID
    lag_days: int

    def apply(self, aggregate: Project) -> None:
        self.milestone(aggregate).predecessors[str(self.predecessor_id)] = self.lag_days


class MilestoneDependencyLagChanged(MilestoneEvent):
    predecessor_id: UUID
    lag_days: int
    previous_lag_days: int

    def apply(self, aggregate: Project) -> None:
        self.milestone(aggregate).predecessors[str(self.predecessor_id)] = self.lag_days


class MilestoneDependencyRemoved(MilestoneEvent):
    predecessor_id: UUID

    def apply(self, aggregate: Project) -> None:
        del self.milestone(aggregate).predecessors[str(self.predecessor_id)]


class ProjectRebaselined(ProjectEvent):
    """R7: every open milestone's baseline set to its current due; earlier ones stay in history.

    Version 2 carries the baseline's `name` (R19), None when it was given none; a re-baseline
    stored as version 1 had no name, and reads as one without."""

    class_version = 2
    reason: str
    baselines: dict[str, date]  # milestone id -> new baseline
    previous_baselines: dict[str, date]
    name: str | None

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["name"] = None

    def apply(self, aggregate: Project) -> None:
        for milestone_id, baseline in self.baselines.items():
            aggregate.milestone_to_change(milestone_id).baseline_due = baseline
        if self.name is not None:
            versions = {**aggregate.baseline_versions, self.name: self.originator_version}
            aggregate.baseline_versions = versions
