"""A project's retrospective, replayed from its events: slips, reschedules, review rounds.

A pure function of the events (no clock, no SQL), so it is the same for any past project whenever
it is asked. Slip follows R7: current due − current baseline; the original baseline (the first
due date) gives `slip_days_from_original`. A milestone is on time when it was achieved on or
before its final due date, in the project's time zone (as R12). Every rule comes from
`domain.rules`, as the aggregate's and the views' do.

Each reschedule's days are attributed to a cause (`SlipCause`): when, as it was recorded, the
milestone's predecessors already forecast it (R18) past its due date, the days up to that
forecast are a predecessor's slip (with the chain that drove it); the rest, and every
reschedule with no such push, are the milestone's own. The causes of a milestone add up to
its `slip_days_from_original` (only reschedules move a due date).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from uuid import UUID

from domain import events as ev
from domain.entities import DeliverableState, MilestoneStatus
from domain.retrospective_gates import GateReplay, PhaseGateRetrospective
from domain.rules import (
    Planned,
    achieved_on_time,
    forecast_chain,
    forecasts,
    slip_days,
    today_in,
)


@dataclass(frozen=True)
class Rescheduling:
    at: datetime
    by: str
    previous_due: date
    due: date
    reason: str


@dataclass(frozen=True)
class SlipCause:
    """Days of one reschedule and what caused them: `reschedule` (the milestone's own) or
    `predecessor` (its predecessors' forecast had passed its due; `chain`: the milestones
    that drove it, nearest first)."""

    cause: str
    days: int
    at: datetime
    by: str
    reason: str
    chain: tuple[UUID, ...] = ()


CAUSES = ("reschedule", "predecessor")


@dataclass(frozen=True)
class Rebaseline:
    at: datetime
    by: str
    previous_baseline: date
    baseline: date
    reason: str


@dataclass(frozen=True)
class Signature:
    """R27: a signature's manifestation as its event recorded it: when (the event's time), who
    (the principal), the printed name, the meaning and the digest of what was signed; None for
    what an event stored before signatures did not record."""

    at: datetime
    by: str
    printed_name: str | None
    meaning: str | None
    signed_digest: str | None


def signature_of(event: ev.ProjectEvent) -> Signature:
    return Signature(
        event.timestamp,
        event.actor,
        getattr(event, "signer_name", None),
        getattr(event, "meaning", None),
        getattr(event, "signed_digest", None),
    )


@dataclass(frozen=True)
class Reopening:
    at: datetime
    by: str
    reason: str
    signature: Signature | None = None


@dataclass(frozen=True)
class Rejection:
    at: datetime
    by: str
    round: int
    reason: str
    signature: Signature | None = None


@dataclass
class ReviewRound:
    """R21, R22: one review round of a deliverable: who approved in it (in order), and how it
    ended: `open` (still in review), `approved`, `rejected` (a veto, by `vetoed_by`) or
    `reopened`. R27: each approval's signature, in order, and the veto's."""

    round: int
    signers: list[str] = field(default_factory=list)
    outcome: str = "open"
    vetoed_by: str | None = None
    signatures: list[Signature] = field(default_factory=list)
    veto: Signature | None = None


@dataclass
class DeliverableReview:
    id: UUID
    title: str
    state: DeliverableState = DeliverableState.DRAFT
    review_rounds: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    reopenings: list[Reopening] = field(default_factory=list)
    last_evidence_at: datetime | None = None
    approved_at: datetime | None = None
    approved_by: str | None = None
    required_approvals: int = 1
    rounds: list[ReviewRound] = field(default_factory=list)
    # Evidence recorded last before the approval that stands, to that approval.
    days_from_last_evidence_to_approval: float | None = None


@dataclass
class MilestoneRetrospective:
    id: UUID
    name: str
    original_baseline_due: date
    baseline_due: date
    due: date
    status: MilestoneStatus = MilestoneStatus.NOT_ACHIEVED
    achieved_at: datetime | None = None
    achieved_by: str | None = None
    achievement: Signature | None = None  # R27: the achievement that stands, as signed
    outcome: str = "open"  # on_time, late, open, cancelled
    reschedules: list[Rescheduling] = field(default_factory=list)
    rebaselines: list[Rebaseline] = field(default_factory=list)
    reopenings: list[Reopening] = field(default_factory=list)
    deliverable_ids: list[UUID] = field(default_factory=list)
    predecessors: dict[str, int] = field(default_factory=dict)  # R16: id -> lag
    slip_causes: list[SlipCause] = field(default_factory=list)

    @property
    def slip_days_by_cause(self) -> dict[str, int]:
        return {c: sum(s.days for s in self.slip_causes if s.cause == c) for c in CAUSES}

    @property
    def slip_days(self) -> int:
        return slip_days(self.due, self.baseline_due)

    @property
    def slip_days_from_original(self) -> int:
        return slip_days(self.due, self.original_baseline_due)


@dataclass(frozen=True)
class Totals:
    milestones: int
    on_time: int
    late: int
    open: int
    cancelled: int
    mean_slip_days: float | None  # over milestones not cancelled
    mean_slip_days_from_original: float | None
    reschedules: int
    slip_days_by_cause: dict[str, int]  # over milestones not cancelled
    deliverables_reviewed: int  # submitted at least once
    review_rounds: int
    rounds_per_deliverable: float | None  # over deliverables reviewed
    rejections: int


@dataclass(frozen=True)
class Retrospective:
    project_id: UUID
    name: str
    timezone: str
    version: int
    milestones: list[MilestoneRetrospective]
    deliverables: list[DeliverableReview]
    totals: Totals
    # R24, R25: every phase that had an exit gate, with its decisions (`retrospective_gates`).
    gates: list[PhaseGateRetrospective] = field(default_factory=list)


# Event types the replay passes over (only their version counts): a read of a long history may
# leave them undecoded (`Replay.pass_over`). A type not named here is replayed, so a new event
# type is never missed; one named here that the replay (or `GateReplay`) starts to read must
# leave this list, which `tests/unit/test_retrospective.py` checks.
PASSED_OVER: tuple[type[ev.ProjectEvent], ...] = (
    ev.MemberAdded,
    ev.MemberRoleChanged,
    ev.MemberRemoved,
    ev.GroupMembersSet,
    ev.PhasesReordered,
    ev.DeliverableDescribed,
    ev.DeliverableOwnerAssigned,
    ev.DeliverableMovedToPhase,
    ev.DeliverableKindChanged,
    ev.CriterionAdded,
)


def retrospective(events: Iterable[ev.ProjectEvent]) -> Retrospective:
    """Replays a project's events, oldest first, into its retrospective."""
    replay = Replay()
    for event in events:
        replay.apply(event)
    return replay.result()


class Replay:
    """The retrospective being replayed: `apply` each event in version order (or `pass_over`
    one of a type in `PASSED_OVER`), then `result`."""

    def __init__(self) -> None:
        self.project_id: UUID | None = None
        self.name = ""
        self.timezone = "UTC"
        self.version = 0
        self.milestones: dict[UUID, MilestoneRetrospective] = {}
        self.deliverables: dict[UUID, DeliverableReview] = {}
        self.gates = GateReplay()
        # What R18 reads of each milestone as it stands (a reschedule's forecast reads every
        # milestone's): made again only after an event of that milestone, not per reschedule.
        self._plans: dict[UUID, tuple[str, Planned]] = {}

    def pass_over(self, version: int) -> None:
        """An event of a type in `PASSED_OVER`, left undecoded: only its version counts."""
        self.version = version

    def apply(self, event: ev.ProjectEvent) -> None:
        self.version = event.originator_version
        self.gates.apply(event)
        if isinstance(event, ev.ProjectCreated):
            self.project_id, self.name, self.timezone = (
                event.originator_id,
                event.name,
                event.timezone,
            )
        elif isinstance(event, ev.DeliverableDefined):
            self.deliverables[event.deliverable_id] = DeliverableReview(
                event.deliverable_id, event.title
            )
        elif isinstance(event, ev.DeliverableEvent):
            self._deliverable(event, self.deliverables[event.deliverable_id])
        elif isinstance(event, ev.MilestoneDefined):
            self.milestones[event.milestone_id] = MilestoneRetrospective(
                event.milestone_id,
                event.name,
                original_baseline_due=event.due,
                baseline_due=event.due,
                due=event.due,
                deliverable_ids=list(event.deliverable_ids),
            )
        elif isinstance(event, ev.MilestoneEvent):
            self._milestone(event, self.milestones[event.milestone_id])
            self._plans.pop(event.milestone_id, None)  # after: a reschedule reads it as it was
        elif isinstance(event, ev.ProjectRebaselined):
            for mid, baseline in event.baselines.items():
                milestone = self.milestones[UUID(mid)]
                milestone.rebaselines.append(
                    Rebaseline(
                        event.timestamp,
                        event.actor,
                        event.previous_baselines[mid],
                        baseline,
                        event.reason,
                    )
                )
                milestone.baseline_due = baseline

    def _deliverable(self, event: ev.DeliverableEvent, d: DeliverableReview) -> None:
        if isinstance(event, ev.DeliverableRetitled):
            d.title = event.title
        elif isinstance(event, ev.EvidenceRecorded):
            d.last_evidence_at = event.timestamp
        if isinstance(event, ev.DeliverableMoved):
            d.state = event.transition.target
        current = d.rounds[-1] if d.rounds and d.rounds[-1].outcome == "open" else None
        if isinstance(event, ev.DeliverableSubmitted):
            d.review_rounds += 1
            d.rounds.append(ReviewRound(d.review_rounds))
        elif isinstance(event, ev.DeliverableQuorumSet):
            d.required_approvals = event.required_approvals
        elif isinstance(event, ev.DeliverableApprovalSigned):
            if current is not None:
                current.signers.append(event.actor)
                current.signatures.append(signature_of(event))
        elif isinstance(event, ev.DeliverableRejected):
            signed = signature_of(event)
            d.rejections.append(
                Rejection(event.timestamp, event.actor, d.review_rounds, event.reason, signed)
            )
            if current is not None:
                current.outcome, current.vetoed_by = "rejected", event.actor
                current.veto = signed
        elif isinstance(event, ev.DeliverableApproved):
            if current is not None:
                current.signers, current.outcome = event.round_signers, "approved"
                current.signatures.append(signature_of(event))
            d.approved_at, d.approved_by = event.timestamp, event.actor
            d.days_from_last_evidence_to_approval = (
                None if d.last_evidence_at is None else _days(d.last_evidence_at, event.timestamp)
            )
        elif isinstance(event, ev.DeliverableReopened):
            if current is not None:
                current.outcome = "reopened"
            d.reopenings.append(
                Reopening(event.timestamp, event.actor, event.reason, signature_of(event))
            )
            d.approved_at = d.approved_by = d.days_from_last_evidence_to_approval = None

    def _milestone(self, event: ev.MilestoneEvent, m: MilestoneRetrospective) -> None:
        if isinstance(event, ev.MilestoneMoved):
            m.status = event.transition.target
        if isinstance(event, ev.DeliverableLinked):
            m.deliverable_ids.append(event.deliverable_id)
        elif isinstance(event, ev.DeliverableUnlinked):
            m.deliverable_ids.remove(event.deliverable_id)
        elif isinstance(event, ev.MilestoneRescheduled):
            m.reschedules.append(
                Rescheduling(
                    event.timestamp, event.actor, event.previous_due, event.due, event.reason
                )
            )
            m.slip_causes += self._causes(event, m)
            m.due = event.due
        elif isinstance(event, ev.MilestoneDependencyAdded | ev.MilestoneDependencyLagChanged):
            m.predecessors[str(event.predecessor_id)] = event.lag_days
        elif isinstance(event, ev.MilestoneDependencyRemoved):
            m.predecessors.pop(str(event.predecessor_id), None)
        elif isinstance(event, ev.MilestoneAchieved):
            m.achieved_at, m.achieved_by = event.timestamp, event.actor
            m.achievement = signature_of(event)
        elif isinstance(event, ev.MilestoneReopened):
            m.achieved_at = m.achieved_by = m.achievement = None
            m.reopenings.append(
                Reopening(event.timestamp, event.actor, event.reason, signature_of(event))
            )

    def _causes(self, event: ev.MilestoneRescheduled, m: MilestoneRetrospective) -> list[SlipCause]:
        """The reschedule's days by cause, with the forecast as it stood just before it."""
        key = str(m.id)
        delta = (event.due - event.previous_due).days
        own = SlipCause("reschedule", delta, event.timestamp, event.actor, event.reason)
        if delta <= 0 or not m.predecessors:
            # No push to find: only a predecessor drives a forecast (R18), and a reschedule
            # earlier is the milestone's own.
            return [own] if delta else []
        found = forecasts(dict(self._plan(x) for x in self.milestones.values()))
        pushed = found.get(key)
        if pushed is None or pushed.driver is None:
            return [own]
        by_predecessor = (min(event.due, pushed.due) - event.previous_due).days
        chain = tuple(UUID(x) for x in forecast_chain(found, key)[1:])
        caused = SlipCause(
            "predecessor", by_predecessor, event.timestamp, event.actor, event.reason, chain
        )
        rest = delta - by_predecessor
        return [caused] + ([] if rest == 0 else [replace(own, days=rest)])

    def _plan(self, m: MilestoneRetrospective) -> tuple[str, Planned]:
        plan = self._plans.get(m.id)
        if plan is None:
            achieved = None if m.achieved_at is None else today_in(self.timezone, m.achieved_at)
            planned = Planned(m.status, m.due, achieved, m.predecessors)
            plan = self._plans[m.id] = (str(m.id), planned)
        return plan

    def result(self) -> Retrospective:
        if self.project_id is None:
            raise ValueError("a retrospective needs the project's events, from its creation")
        milestones = sorted(self.milestones.values(), key=lambda m: (m.due, m.name, str(m.id)))
        for m in milestones:
            m.outcome = self._outcome(m)
        deliverables = list(self.deliverables.values())
        live = [m for m in milestones if m.status is not MilestoneStatus.CANCELLED]
        reviewed = [d for d in deliverables if d.review_rounds > 0]
        rounds = sum(d.review_rounds for d in reviewed)
        totals = Totals(
            milestones=len(milestones),
            on_time=sum(1 for m in milestones if m.outcome == "on_time"),
            late=sum(1 for m in milestones if m.outcome == "late"),
            open=sum(1 for m in milestones if m.outcome == "open"),
            cancelled=sum(1 for m in milestones if m.outcome == "cancelled"),
            mean_slip_days=_mean([m.slip_days for m in live]),
            mean_slip_days_from_original=_mean([m.slip_days_from_original for m in live]),
            reschedules=sum(len(m.reschedules) for m in milestones),
            slip_days_by_cause={c: sum(m.slip_days_by_cause[c] for m in live) for c in CAUSES},
            deliverables_reviewed=len(reviewed),
            review_rounds=rounds,
            rounds_per_deliverable=_mean([d.review_rounds for d in reviewed]),
            rejections=sum(len(d.rejections) for d in deliverables),
        )
        return Retrospective(
            self.project_id,
            self.name,
            self.timezone,
            self.version,
            milestones,
            deliverables,
            totals,
            self.gates.result(),
        )

    def _outcome(self, m: MilestoneRetrospective) -> str:
        if m.status is MilestoneStatus.CANCELLED:
            return "cancelled"
        if m.achieved_at is None:
            return "open"
        return "on_time" if achieved_on_time(m.achieved_at, m.due, self.timezone) else "late"


def _days(start: datetime, end: datetime) -> float:
    return round((end - start).total_seconds() / 86400, 2)


def _mean(values: list[int]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None
