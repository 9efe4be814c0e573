"""The Project aggregate: one event stream that holds phases, deliverables, milestones and members.

Each command method checks its rules with named guards, then triggers one or more events from
`domain.events`; the events' `apply` methods are the only place state changes.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Final
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from domain import events as ev
from domain import validation as valid
from domain.entities import (
    Criterion,
    Deliverable,
    DeliverableKind,
    DeliverableState,
    Milestone,
    MilestoneStatus,
    Phase,
)
from domain.errors import (
    EntityNotFoundError,
    InvalidValueError,
    RuleViolationError,
    Violation,
    refuse,
)
from domain.health import Health, milestone_health
from domain.roles import ProjectRole


class _Unset:
    """Marks a field a partial update leaves alone (distinct from None, which clears it)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset()


class Project(Aggregate):
    def __init__(
        self, name: str, description: str, timezone: str, risk_window_days: int, actor: str
    ) -> None:
        self.name = name
        self.description = description
        self.timezone = timezone
        self.risk_window_days = risk_window_days
        # Role values as plain strings: they survive a snapshot's JSON round trip unchanged.
        self.members: dict[str, str] = {actor: ProjectRole.MANAGER.value}
        self.phases: dict[str, Phase] = {}
        self.deliverables: dict[str, Deliverable] = {}
        self.milestones: dict[str, Milestone] = {}

    def __deepcopy__(self, memo: dict[int, Any]) -> Project:
        """The copy a command works on (the event store's cache hands one out per load).

        What `copy.deepcopy` would make, written out: every container and every entity is new,
        immutable values are shared. A command on a cached project pays for this on each load,
        and the generic deepcopy was most of a command's CPU time.
        """
        copy = object.__new__(type(self))
        copy.__dict__.update(self.__dict__)
        copy.__dict__["_pending_events"] = list(self.__dict__["_pending_events"])
        copy.members = dict(self.members)
        copy.phases = {key: phase.clone() for key, phase in self.phases.items()}
        copy.deliverables = {key: d.clone() for key, d in self.deliverables.items()}
        copy.milestones = {key: m.clone() for key, m in self.milestones.items()}
        memo[id(self)] = copy
        return copy

    @classmethod
    def create(
        cls,
        *,
        name: str,
        description: str = "",
        timezone: str = "UTC",
        risk_window_days: int = 7,
        actor: str,
        project_id: UUID | None = None,
    ) -> Project:
        return cls._create(
            ev.ProjectCreated,
            id=project_id or uuid4(),
            name=valid.name("name", name),
            description=valid.text("description", description),
            timezone=valid.timezone(timezone),
            risk_window_days=valid.risk_window_days(risk_window_days),
            actor=actor,
        )

    def _trigger(self, event_class: type[ev.ProjectEvent], **kwargs: Any) -> None:
        self.trigger_event(event_class, **kwargs)

    # --- reading -----------------------------------------------------------------------------

    @property
    def created_on(self) -> datetime:
        return self._created_on

    def role_of(self, principal: str) -> ProjectRole | None:
        role = self.members.get(principal)
        return None if role is None else ProjectRole(role)

    def phase(self, phase_id: UUID) -> Phase:
        try:
            return self.phases[str(phase_id)]
        except KeyError:
            raise EntityNotFoundError("phase", phase_id) from None

    def deliverable(self, deliverable_id: UUID) -> Deliverable:
        try:
            return self.deliverables[str(deliverable_id)]
        except KeyError:
            raise EntityNotFoundError("deliverable", deliverable_id) from None

    def criterion(self, deliverable_id: UUID, criterion_id: UUID) -> Criterion:
        try:
            return self.deliverable(deliverable_id).criteria[str(criterion_id)]
        except KeyError:
            raise EntityNotFoundError("criterion", criterion_id) from None

    def milestone(self, milestone_id: UUID) -> Milestone:
        try:
            return self.milestones[str(milestone_id)]
        except KeyError:
            raise EntityNotFoundError("milestone", milestone_id) from None

    def linked_deliverables(self, milestone: Milestone) -> list[Deliverable]:
        return [self.deliverables[str(d)] for d in milestone.deliverable_ids]

    def milestones_linking(self, deliverable_id: UUID) -> list[Milestone]:
        return [m for m in self.milestones.values() if deliverable_id in m.deliverable_ids]

    def achievement_blockers(self, milestone: Milestone) -> list[Violation]:
        """R3: every reason the milestone cannot be achieved now (empty when it can)."""
        live = [d for d in self.linked_deliverables(milestone) if not d.cancelled]
        if not live:
            return [
                Violation(
                    "R3",
                    f"milestone '{milestone.name}' has no linked deliverable that is not cancelled",
                    {"milestone_id": str(milestone.id)},
                )
            ]
        return [
            Violation(
                "R3",
                f"deliverable '{d.title}' is {d.state.value}, not approved",
                {"deliverable_id": str(d.id), "state": d.state.value},
            )
            for d in live
            if d.state is not DeliverableState.APPROVED
        ]

    def health(self, milestone: Milestone, today: date) -> Health:
        return milestone_health(
            status=milestone.status,
            due=milestone.due,
            achieved_at=milestone.achieved_at,
            today=today,
            timezone=self.timezone,
            risk_window_days=self.risk_window_days,
            achievable_now=not self.achievement_blockers(milestone),
        )

    # --- members -----------------------------------------------------------------------------

    def set_member(self, principal: str, role: ProjectRole, *, actor: str) -> None:
        valid.name("principal", principal)
        current = self.role_of(principal)
        if current is role:
            return
        if current is None:
            self._trigger(ev.MemberAdded, principal=principal, role=role.value, actor=actor)
            return
        if current is ProjectRole.MANAGER:
            self._check_not_last_manager(principal)
        self._trigger(
            ev.MemberRoleChanged,
            principal=principal,
            role=role.value,
            previous_role=current.value,
            actor=actor,
        )

    def remove_member(self, principal: str, *, actor: str) -> None:
        if principal not in self.members:
            raise EntityNotFoundError("member", principal)
        self._check_not_last_manager(principal)
        self._trigger(ev.MemberRemoved, principal=principal, actor=actor)

    def _check_not_last_manager(self, principal: str) -> None:
        managers = [p for p, r in self.members.items() if r == ProjectRole.MANAGER.value]
        if managers == [principal]:
            raise refuse("roles", f"{principal} is the project's last manager")

    # --- phases ------------------------------------------------------------------------------

    def add_phase(self, name: str, *, actor: str) -> UUID:
        valid.name("name", name)
        if any(p.name.casefold() == name.casefold() for p in self.phases.values()):
            raise refuse("R14", f"a phase named '{name}' already exists", name=name)
        phase_id = uuid4()
        self._trigger(ev.PhaseAdded, phase_id=phase_id, name=name, actor=actor)
        return phase_id

    def _referenced_phase(self, phase_id: UUID) -> UUID:
        if str(phase_id) not in self.phases:
            raise InvalidValueError("phase_id", f"no phase {phase_id} in this project")
        return phase_id

    # --- deliverables ------------------------------------------------------------------------

    def define_deliverable(
        self,
        *,
        title: str,
        phase_id: UUID,
        kind: DeliverableKind = DeliverableKind.OTHER,
        description: str = "",
        owner: str | None = None,
        actor: str,
    ) -> UUID:
        deliverable_id = uuid4()
        self._trigger(
            ev.DeliverableDefined,
            deliverable_id=deliverable_id,
            title=valid.name("title", title),
            description=valid.text("description", description),
            kind=DeliverableKind(kind).value,
            phase_id=self._referenced_phase(phase_id),
            owner=None if owner is None else valid.name("owner", owner),
            actor=actor,
        )
        return deliverable_id

    def update_deliverable(
        self,
        deliverable_id: UUID,
        *,
        title: str | _Unset = UNSET,
        description: str | _Unset = UNSET,
        owner: str | _Unset | None = UNSET,
        phase_id: UUID | _Unset = UNSET,
        kind: DeliverableKind | _Unset = UNSET,
        actor: str,
    ) -> None:
        """Records one event per field that really changes; none when nothing does.

        Every value is checked before any event is triggered, so a refused edit records nothing.
        """
        deliverable = self.deliverable(deliverable_id)
        self._check_not_cancelled(deliverable)
        if not isinstance(title, _Unset):
            valid.name("title", title)
        if not isinstance(description, _Unset):
            valid.text("description", description)
        if owner is not None and not isinstance(owner, _Unset):
            valid.name("owner", owner)
        if not isinstance(phase_id, _Unset):
            self._referenced_phase(phase_id)
        if not isinstance(kind, _Unset):
            kind = DeliverableKind(kind)

        did = deliverable.id
        if not isinstance(title, _Unset) and title != deliverable.title:
            self._trigger(ev.DeliverableRetitled, deliverable_id=did, title=title, actor=actor)
        if not isinstance(description, _Unset) and description != deliverable.description:
            self._trigger(
                ev.DeliverableDescribed, deliverable_id=did, description=description, actor=actor
            )
        if not isinstance(owner, _Unset) and owner != deliverable.owner:
            self._trigger(ev.DeliverableOwnerAssigned, deliverable_id=did, owner=owner, actor=actor)
        if not isinstance(phase_id, _Unset) and phase_id != deliverable.phase_id:
            self._trigger(
                ev.DeliverableMovedToPhase, deliverable_id=did, phase_id=phase_id, actor=actor
            )
        if not isinstance(kind, _Unset) and kind != deliverable.kind:
            self._trigger(
                ev.DeliverableKindChanged, deliverable_id=did, kind=kind.value, actor=actor
            )

    def add_criterion(self, deliverable_id: UUID, text: str, *, actor: str) -> UUID:
        deliverable = self.deliverable(deliverable_id)
        self._check_evidence_not_frozen(deliverable)
        criterion_id = uuid4()
        self._trigger(
            ev.CriterionAdded,
            deliverable_id=deliverable.id,
            criterion_id=criterion_id,
            text=valid.name("text", text),
            actor=actor,
        )
        return criterion_id

    def record_evidence(
        self,
        deliverable_id: UUID,
        criterion_id: UUID,
        evidence: str,
        sha256: str | None = None,
        *,
        actor: str,
    ) -> None:
        """R6: on a draft deliverable, recording again replaces the evidence."""
        deliverable = self.deliverable(deliverable_id)
        criterion = self.criterion(deliverable_id, criterion_id)
        self._check_evidence_not_frozen(deliverable)
        self._trigger(
            ev.EvidenceRecorded,
            deliverable_id=deliverable.id,
            criterion_id=criterion.id,
            evidence=valid.evidence(evidence),
            sha256=valid.sha256(sha256),
            actor=actor,
        )

    def submit(self, deliverable_id: UUID, note: str | None = None, *, actor: str) -> None:
        deliverable = self.deliverable(deliverable_id)
        self._check_state(deliverable, DeliverableState.DRAFT, "submitted")
        self._check_submission_gate(deliverable)
        self._trigger(
            ev.DeliverableSubmitted,
            deliverable_id=deliverable.id,
            note=valid.optional_text("note", note),
            actor=actor,
        )

    def approve(self, deliverable_id: UUID, comment: str | None = None, *, actor: str) -> None:
        deliverable = self.deliverable(deliverable_id)
        self._check_reviewable(deliverable, actor, "approved")
        self._trigger(
            ev.DeliverableApproved,
            deliverable_id=deliverable.id,
            comment=valid.optional_text("comment", comment),
            actor=actor,
        )

    def reject(self, deliverable_id: UUID, reason: str, *, actor: str) -> None:
        valid.reason("reason", reason)
        deliverable = self.deliverable(deliverable_id)
        self._check_reviewable(deliverable, actor, "rejected")
        self._trigger(
            ev.DeliverableRejected, deliverable_id=deliverable.id, reason=reason, actor=actor
        )

    def reopen_deliverable(self, deliverable_id: UUID, reason: str, *, actor: str) -> None:
        valid.reason("reason", reason)
        deliverable = self.deliverable(deliverable_id)
        if deliverable.state not in (DeliverableState.IN_REVIEW, DeliverableState.APPROVED):
            raise refuse(
                "R6",
                f"only a deliverable in review or approved can be reopened; "
                f"'{deliverable.title}' is {deliverable.state.value}",
                state=deliverable.state.value,
            )
        self._check_not_proving_an_achieved_milestone(deliverable, "R6", "reopened")
        self._trigger(
            ev.DeliverableReopened, deliverable_id=deliverable.id, reason=reason, actor=actor
        )

    def cancel_deliverable(self, deliverable_id: UUID, reason: str, *, actor: str) -> None:
        valid.reason("reason", reason)
        deliverable = self.deliverable(deliverable_id)
        self._check_not_cancelled(deliverable)
        self._check_not_proving_an_achieved_milestone(deliverable, "R10", "cancelled")
        self._trigger(
            ev.DeliverableCancelled, deliverable_id=deliverable.id, reason=reason, actor=actor
        )

    def _check_state(self, deliverable: Deliverable, state: DeliverableState, verb: str) -> None:
        if deliverable.state is not state:
            rule = "R5" if state is DeliverableState.IN_REVIEW else "R4"
            raise refuse(
                rule,
                f"only a {state.value} deliverable can be {verb}; "
                f"'{deliverable.title}' is {deliverable.state.value}",
                deliverable_id=str(deliverable.id),
                state=deliverable.state.value,
            )

    def _check_not_cancelled(self, deliverable: Deliverable) -> None:
        if deliverable.cancelled:
            raise refuse(
                "R10",
                f"deliverable '{deliverable.title}' is cancelled",
                deliverable_id=str(deliverable.id),
            )

    def _check_evidence_not_frozen(self, deliverable: Deliverable) -> None:
        if deliverable.state is DeliverableState.DRAFT:
            return
        if deliverable.cancelled:
            self._check_not_cancelled(deliverable)
        raise refuse(
            "R6",
            f"criteria and evidence of '{deliverable.title}' are frozen while it is "
            f"{deliverable.state.value}; reopen it first",
            deliverable_id=str(deliverable.id),
            state=deliverable.state.value,
        )

    def _check_submission_gate(self, deliverable: Deliverable) -> None:
        if not deliverable.criteria:
            raise refuse(
                "R4",
                f"deliverable '{deliverable.title}' has no completion criterion",
                deliverable_id=str(deliverable.id),
            )
        unmet = [c for c in deliverable.criteria.values() if not c.met]
        if unmet:
            raise RuleViolationError(
                [
                    Violation(
                        "R4",
                        f"criterion '{c.text}' has no evidence",
                        {"deliverable_id": str(deliverable.id), "criterion_id": str(c.id)},
                    )
                    for c in unmet
                ]
            )

    def _check_reviewable(self, deliverable: Deliverable, reviewer: str, verb: str) -> None:
        self._check_state(deliverable, DeliverableState.IN_REVIEW, verb)
        if deliverable.submitted_by == reviewer:
            raise refuse(
                "R5",
                f"{reviewer} submitted '{deliverable.title}' and so cannot review it "
                "(separation of duties)",
                deliverable_id=str(deliverable.id),
            )

    def _check_not_proving_an_achieved_milestone(
        self, deliverable: Deliverable, rule: str, verb: str
    ) -> None:
        achieved = [m for m in self.milestones_linking(deliverable.id) if m.achieved]
        if achieved:
            raise RuleViolationError(
                [
                    Violation(
                        rule,
                        f"'{deliverable.title}' cannot be {verb}: it proves achieved "
                        f"milestone '{m.name}'; reopen the milestone first",
                        {"milestone_id": str(m.id)},
                    )
                    for m in achieved
                ]
            )

    # --- milestones --------------------------------------------------------------------------

    def define_milestone(
        self,
        *,
        name: str,
        phase_id: UUID,
        due: date,
        deliverable_ids: list[UUID],
        actor: str,
    ) -> UUID:
        unique_ids = list(dict.fromkeys(deliverable_ids))
        for did in unique_ids:
            if str(did) not in self.deliverables:
                raise InvalidValueError("deliverable_ids", f"no deliverable {did} in this project")
        cancelled = [self.deliverables[str(d)] for d in unique_ids]
        violations = [
            Violation(
                "R9",
                f"cancelled deliverable '{d.title}' cannot be linked",
                {"deliverable_id": str(d.id)},
            )
            for d in cancelled
            if d.cancelled
        ]
        if violations:
            raise RuleViolationError(violations)
        milestone_id = uuid4()
        self._trigger(
            ev.MilestoneDefined,
            milestone_id=milestone_id,
            name=valid.name("name", name),
            phase_id=self._referenced_phase(phase_id),
            due=due,
            deliverable_ids=unique_ids,
            actor=actor,
        )
        return milestone_id

    def link(self, milestone_id: UUID, deliverable_id: UUID, *, actor: str) -> None:
        milestone = self.milestone(milestone_id)
        deliverable = self.deliverable(deliverable_id)
        if deliverable.id in milestone.deliverable_ids:
            return  # R9: linking what is linked changes nothing
        self._check_links_may_change(milestone)
        if deliverable.cancelled:
            raise refuse(
                "R9",
                f"cancelled deliverable '{deliverable.title}' cannot be linked",
                deliverable_id=str(deliverable.id),
            )
        self._trigger(
            ev.DeliverableLinked,
            milestone_id=milestone.id,
            deliverable_id=deliverable.id,
            actor=actor,
        )

    def unlink(self, milestone_id: UUID, deliverable_id: UUID, *, actor: str) -> None:
        milestone = self.milestone(milestone_id)
        deliverable = self.deliverable(deliverable_id)
        if deliverable.id not in milestone.deliverable_ids:
            return  # R9: unlinking what is not linked changes nothing
        self._check_links_may_change(milestone)
        self._trigger(
            ev.DeliverableUnlinked,
            milestone_id=milestone.id,
            deliverable_id=deliverable.id,
            actor=actor,
        )

    def reschedule(self, milestone_id: UUID, due: date, reason: str, *, actor: str) -> None:
        valid.reason("reason", reason)
        milestone = self.milestone(milestone_id)
        self._check_open(milestone, "R7", "rescheduled")
        if due == milestone.due:
            return
        self._trigger(
            ev.MilestoneRescheduled,
            milestone_id=milestone.id,
            due=due,
            previous_due=milestone.due,
            reason=reason,
            actor=actor,
        )

    def achieve(self, milestone_id: UUID, note: str | None = None, *, actor: str) -> None:
        milestone = self.milestone(milestone_id)
        self._check_open(milestone, "R3", "achieved")
        blockers = self.achievement_blockers(milestone)
        if blockers:
            raise RuleViolationError(blockers)
        self._trigger(
            ev.MilestoneAchieved,
            milestone_id=milestone.id,
            note=valid.optional_text("note", note),
            actor=actor,
        )

    def reopen_milestone(self, milestone_id: UUID, reason: str, *, actor: str) -> None:
        valid.reason("reason", reason)
        milestone = self.milestone(milestone_id)
        if not milestone.achieved:
            raise refuse(
                "R8",
                f"only an achieved milestone can be reopened; '{milestone.name}' is "
                f"{milestone.status.value}",
                milestone_id=str(milestone.id),
                status=milestone.status.value,
            )
        self._trigger(ev.MilestoneReopened, milestone_id=milestone.id, reason=reason, actor=actor)

    def cancel_milestone(self, milestone_id: UUID, reason: str, *, actor: str) -> None:
        valid.reason("reason", reason)
        milestone = self.milestone(milestone_id)
        self._check_open(milestone, "R10", "cancelled")
        self._trigger(ev.MilestoneCancelled, milestone_id=milestone.id, reason=reason, actor=actor)

    def rebaseline(self, reason: str, *, actor: str) -> None:
        valid.reason("reason", reason)
        open_milestones = [m for m in self.milestones.values() if m.open]
        self._trigger(
            ev.ProjectRebaselined,
            reason=reason,
            baselines={str(m.id): m.due for m in open_milestones},
            previous_baselines={str(m.id): m.baseline_due for m in open_milestones},
            actor=actor,
        )

    def _check_open(self, milestone: Milestone, rule: str, verb: str) -> None:
        if milestone.status is not MilestoneStatus.NOT_ACHIEVED:
            hint = "; reopen it first" if milestone.achieved else ""
            raise refuse(
                rule,
                f"milestone '{milestone.name}' is {milestone.status.value} and cannot be "
                f"{verb}{hint}",
                milestone_id=str(milestone.id),
                status=milestone.status.value,
            )

    def _check_links_may_change(self, milestone: Milestone) -> None:
        if not milestone.open:
            raise refuse(
                "R9",
                f"links of {milestone.status.value} milestone '{milestone.name}' cannot change",
                milestone_id=str(milestone.id),
                status=milestone.status.value,
            )
