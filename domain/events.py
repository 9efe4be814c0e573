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
    GateCondition,
    GateDecision,
    GateDecisionKind,
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


def _stood_for(deliverable: Deliverable, approver: str, project: Project) -> dict[str, list[str]]:
    """R26: the round's approvers' groups, with `approver`'s as the project's groups are now
    (the events before this one made them): membership is judged when each approval is given."""
    return {**deliverable.approval_groups, approver: rules.groups_of(approver, project.groups)}


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


class GroupMembersSet(ProjectEvent):
    """R26: the project's group `name` now has exactly `members` (principals of the project);
    `previous_members` is None when the group is new."""

    name: str
    members: list[str]
    previous_members: list[str] | None

    def apply(self, aggregate: Project) -> None:
        aggregate.groups = {**aggregate.groups, self.name: list(self.members)}


# --- phases --------------------------------------------------------------------------------


class PhaseAdded(ProjectEvent):
    phase_id: UUID
    name: str

    def apply(self, aggregate: Project) -> None:
        # R24: a new phase comes last in the phases' order.
        last = max((p.position for p in aggregate.phases.values()), default=-1)
        phase = Phase(id=self.phase_id, name=self.name, position=last + 1)
        aggregate.phases[str(self.phase_id)] = phase


class PhasesReordered(ProjectEvent):
    """R24: the phases' order, first to last (every phase of the project, once)."""

    phase_ids: list[UUID]
    previous_phase_ids: list[UUID]

    def apply(self, aggregate: Project) -> None:
        for position, phase_id in enumerate(self.phase_ids):
            aggregate.phases[str(phase_id)].position = position


class PhaseExitGateSet(ProjectEvent):
    """R24: whether leaving the phase needs a gate decision (`required`)."""

    phase_id: UUID
    required: bool

    def apply(self, aggregate: Project) -> None:
        aggregate.phases[str(self.phase_id)].exit_gate = self.required


class GateDecided(ProjectEvent):
    """R25: a signed decision at the phase's exit gate; it replaces the one before. It records
    who took part, which of them submitted none of the phase's deliverables (`independent`),
    the conditions of a `conditional` decision, and the signature: its meaning, the signer's
    printed name and the SHA-256 of what was decided (`domain.gates.decision_digest`)."""

    phase_id: UUID
    decision_id: UUID
    decision: str
    participants: list[str]
    independent: list[str]
    reason: str
    conditions: list[dict[str, str]]  # {"condition_id", "text"}
    meaning: str
    signer_name: str
    signed_digest: str

    def apply(self, aggregate: Project) -> None:
        conditions = {
            c["condition_id"]: GateCondition(id=UUID(c["condition_id"]), text=c["text"])
            for c in self.conditions
        }
        aggregate.phases[str(self.phase_id)].decision = GateDecision(
            id=self.decision_id,
            decision=GateDecisionKind(self.decision),
            participants=list(self.participants),
            independent=list(self.independent),
            reason=self.reason,
            decided_by=self.actor,
            decided_at=self.timestamp,
            meaning=self.meaning,
            signer_name=self.signer_name,
            signed_digest=self.signed_digest,
            conditions=conditions,
        )


class GateConditionClosed(ProjectEvent):
    """R24: one condition of the standing `conditional` decision is closed, by the actor, at
    the event's time, `how` saying how it was met."""

    phase_id: UUID
    decision_id: UUID
    condition_id: UUID
    how: str

    def apply(self, aggregate: Project) -> None:
        decision = aggregate.phases[str(self.phase_id)].decision
        assert decision is not None
        key = str(self.condition_id)
        condition = decision.conditions[key]
        decision.conditions = {
            **decision.conditions,
            key: GateCondition(
                id=condition.id,
                text=condition.text,
                closed_by=self.actor,
                closed_at=self.timestamp,
                how=self.how,
            ),
        }


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
        if self.actor not in deliverable.submitters:
            deliverable.submitters = [*deliverable.submitters, self.actor]
        deliverable.review_rounds += 1
        deliverable.approvals = []  # R21: a new round starts with no approvals
        deliverable.approval_groups = {}


class DeliverableQuorumSet(DeliverableEvent):
    """R21: from its next review round on, the deliverable needs `required_approvals`
    approvals from distinct reviewers (none its submitter) to be approved.

    Version 2 adds R26: one approval at least from a member of each of `required_groups`
    (the project's named groups). One stored as version 1 was set before groups existed: it
    required none, before and after."""

    class_version = 2
    required_approvals: int
    previous_required_approvals: int
    required_groups: list[str]
    previous_required_groups: list[str]

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["required_groups"] = []
        state["previous_required_groups"] = []

    def apply(self, aggregate: Project) -> None:
        deliverable = self.deliverable(aggregate)
        deliverable.required_approvals = self.required_approvals
        deliverable.required_groups = list(self.required_groups)


class DeliverableApprovalSigned(DeliverableEvent):
    """R21: one reviewer's approval in a round that needs more than it has so far: the
    deliverable stays in review. It records what `DeliverableApproved` records of a signature
    (comment, meaning, the evidence digests then) and the quorum in force.

    Version 2 records the signature's manifestation (R27): the signer's printed name then
    (`signer_name`) and the digest of what was signed (`signed_digest`, `domain.signatures`),
    and the groups the quorum required (R26). One stored as version 1 recorded neither: None,
    "not recorded", never invented; and no group was ever required then."""

    class_version = 2
    comment: str | None
    meaning: str
    evidence_digests: list[dict[str, str | None]]
    required_approvals: int
    signer_name: str | None
    signed_digest: str | None
    required_groups: list[str]

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["signer_name"] = None
        state["signed_digest"] = None
        state["required_groups"] = []

    def apply(self, aggregate: Project) -> None:
        deliverable = self.deliverable(aggregate)
        deliverable.approvals = [*deliverable.approvals, self.actor]
        deliverable.approval_groups = _stood_for(deliverable, self.actor, aggregate)


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
    actor the only signer.

    Version 5 records the signature's manifestation (R27): `signer_name` and `signed_digest`
    (None for one stored before: not recorded), and the groups the quorum required (R26; none
    before groups existed)."""

    class_version = 5
    transition = rules.APPROVE
    comment: str | None
    meaning: str
    evidence_digests: list[dict[str, str | None]] | None = None
    signers: list[str] | None = None
    required_approvals: int = 1
    signer_name: str | None = None
    signed_digest: str | None = None
    required_groups: list[str] | None = None

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

    @staticmethod
    def upcast_v4_v5(state: dict[str, Any]) -> None:
        state["signer_name"] = None
        state["signed_digest"] = None
        state["required_groups"] = []

    @property
    def round_signers(self) -> list[str]:
        """Who signed the round this approval completed (its own actor last)."""
        return list(self.signers) if self.signers else [self.actor]

    def apply(self, aggregate: Project) -> None:
        super().apply(aggregate)
        deliverable = self.deliverable(aggregate)
        deliverable.approvals = self.round_signers
        deliverable.approval_groups = _stood_for(deliverable, self.actor, aggregate)


class DeliverableSentBack(DeliverableMoved):
    """A signed move back to draft (a rejection, a reopening): the round's approvals so far
    count for nothing.

    Version 2 is a signature (R27): it records its `meaning`, the signer's printed name then
    (`signer_name`) and the digest of what was signed (`signed_digest`). One stored as version 1
    recorded none of them: all None ("not recorded"), never a default meaning made up later.
    Only its subclasses are stored."""

    class_version = 2
    reason: str
    meaning: str | None = None
    signer_name: str | None = None
    signed_digest: str | None = None

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["meaning"] = state["signer_name"] = state["signed_digest"] = None

    def apply(self, aggregate: Project) -> None:
        super().apply(aggregate)
        deliverable = self.deliverable(aggregate)
        deliverable.approvals = []
        deliverable.approval_groups = {}


class DeliverableRejected(DeliverableSentBack):
    """R22: a rejection by any reviewer ends the round (a veto): the deliverable returns to
    draft."""

    transition = rules.REJECT


class DeliverableReopened(DeliverableSentBack):
    """R6: back to draft from review or approved."""

    transition = rules.REOPEN_DELIVERABLE


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
    """R3: achieved, its evidence gate passed.

    Version 2 is a signature (R27): it records its `meaning`, the signer's printed name then
    (`signer_name`) and the digest of what was signed (`signed_digest`). One stored as version 1
    recorded none of them: all None ("not recorded"), never a default meaning made up later."""

    class_version = 2
    transition = rules.ACHIEVE
    note: str | None
    meaning: str | None = None
    signer_name: str | None = None
    signed_digest: str | None = None

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["meaning"] = state["signer_name"] = state["signed_digest"] = None

    def apply(self, aggregate: Project) -> None:
        super().apply(aggregate)
        milestone = self.milestone(aggregate)
        milestone.achieved_at = self.timestamp
        milestone.achieved_by = self.actor
        milestone.achieved_signer_name = self.signer_name
        milestone.achieved_meaning = self.meaning


class MilestoneReopened(MilestoneMoved):
    """R8: an achieved milestone back to not achieved.

    Version 2 is a signature (R27): it records its `meaning`, the signer's printed name then
    (`signer_name`) and the digest of what was signed (`signed_digest`). One stored as version 1
    recorded none of them: all None ("not recorded"), never a default meaning made up later."""

    class_version = 2
    transition = rules.REOPEN_MILESTONE
    reason: str
    meaning: str | None = None
    signer_name: str | None = None
    signed_digest: str | None = None

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["meaning"] = state["signer_name"] = state["signed_digest"] = None

    def apply(self, aggregate: Project) -> None:
        super().apply(aggregate)
        milestone = self.milestone(aggregate)
        milestone.achieved_at = None
        milestone.achieved_by = None
        milestone.achieved_signer_name = milestone.achieved_meaning = None


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
