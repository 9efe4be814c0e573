"""The milestone commands of the `Project` aggregate: define, link, depend, reschedule, achieve,
reopen, cancel, and the project's re-baseline (R7).

Each checks its rules with named guards that cite them (R3's evidence gate and the lifecycle come
from `domain.rules`), then triggers one event.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID, uuid4

from domain import events as ev
from domain import rules
from domain import validation as valid
from domain.contents import ProjectContents
from domain.entities import Milestone, SignatureMeaning
from domain.errors import InvalidValueError, RuleViolationError, Violation, refuse
from domain.signatures import DEFAULT_MEANINGS, milestone_digest
from domain.states import MilestoneStatus


class MilestoneCommands(ProjectContents):
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

    def add_dependency(
        self, milestone_id: UUID, predecessor_id: UUID, lag_days: int = 0, *, actor: str
    ) -> None:
        """R16: the milestone finishes no earlier than the predecessor plus `lag_days`; setting
        a dependency that exists with another lag changes its lag."""
        milestone = self.milestone(milestone_id)
        predecessor = self.milestone(predecessor_id)
        valid.lag_days(lag_days)
        previous = milestone.predecessors.get(str(predecessor.id))
        if previous == lag_days:
            return  # R16: setting what is set changes nothing
        self._check_dependencies_may_change(milestone)
        if previous is not None:
            self._trigger(
                ev.MilestoneDependencyLagChanged,
                milestone_id=milestone.id,
                predecessor_id=predecessor.id,
                lag_days=lag_days,
                previous_lag_days=previous,
                actor=actor,
            )
            return
        self._check_may_precede(predecessor)
        self._check_no_cycle(milestone, predecessor)
        self._trigger(
            ev.MilestoneDependencyAdded,
            milestone_id=milestone.id,
            predecessor_id=predecessor.id,
            lag_days=lag_days,
            actor=actor,
        )

    def remove_dependency(self, milestone_id: UUID, predecessor_id: UUID, *, actor: str) -> None:
        milestone = self.milestone(milestone_id)
        predecessor = self.milestone(predecessor_id)
        if str(predecessor.id) not in milestone.predecessors:
            return  # R16: removing what is not there changes nothing
        self._check_dependencies_may_change(milestone)
        self._trigger(
            ev.MilestoneDependencyRemoved,
            milestone_id=milestone.id,
            predecessor_id=predecessor.id,
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

    def achieve(
        self,
        milestone_id: UUID,
        note: str | None = None,
        *,
        meaning: SignatureMeaning = DEFAULT_MEANINGS["achieve"],
        signer_name: str | None = None,
        actor: str,
    ) -> None:
        """R3; R27: a signature, with its meaning, printed name and the digest of the
        milestone and its linked deliverables' evidence."""
        milestone = self.milestone(milestone_id)
        self._check_open(milestone, "R3", "achieved")
        blockers = self.achievement_blockers(milestone)
        if blockers:
            raise RuleViolationError(blockers)
        self._trigger(
            ev.MilestoneAchieved,
            milestone_id=milestone.id,
            note=valid.optional_text("note", note),
            **self._signature(milestone, rules.ACHIEVE.target, meaning, signer_name, actor),
            actor=actor,
        )

    def _signature(
        self,
        milestone: Milestone,
        to: MilestoneStatus,
        meaning: SignatureMeaning,
        signer_name: str | None,
        actor: str,
    ) -> dict[str, str]:
        """R27: what a signing event of `milestone` records of its signature."""
        linked = [self.deliverable(d) for d in milestone.deliverable_ids]
        return {
            "meaning": SignatureMeaning(meaning).value,
            "signer_name": signer_name or actor,
            "signed_digest": milestone_digest(milestone, linked, to),
        }

    def reopen_milestone(
        self,
        milestone_id: UUID,
        reason: str,
        *,
        meaning: SignatureMeaning = DEFAULT_MEANINGS["reopen"],
        signer_name: str | None = None,
        actor: str,
    ) -> None:
        valid.reason("reason", reason)
        milestone = self.milestone(milestone_id)
        if not rules.REOPEN_MILESTONE.allows(milestone.status):
            raise refuse(
                "R8",
                f"only an achieved milestone can be reopened; '{milestone.name}' is "
                f"{milestone.status.value}",
                milestone_id=str(milestone.id),
                status=milestone.status.value,
            )
        self._check_no_achieved_successor(milestone)
        self._trigger(
            ev.MilestoneReopened,
            milestone_id=milestone.id,
            reason=reason,
            **self._signature(
                milestone, rules.REOPEN_MILESTONE.target, meaning, signer_name, actor
            ),
            actor=actor,
        )

    def cancel_milestone(self, milestone_id: UUID, reason: str, *, actor: str) -> None:
        valid.reason("reason", reason)
        milestone = self.milestone(milestone_id)
        self._check_open(milestone, "R10", "cancelled")
        self._trigger(ev.MilestoneCancelled, milestone_id=milestone.id, reason=reason, actor=actor)

    def rebaseline(self, reason: str, *, name: str | None = None, actor: str) -> None:
        """R7: every open milestone's baseline becomes its due date; R19: saved under `name`,
        which no earlier baseline of the project has (case aside)."""
        valid.reason("reason", reason)
        if name is not None:
            self._check_new_baseline_name(valid.name("name", name))
        open_milestones = [m for m in self.milestones.values() if m.open]
        self._trigger(
            ev.ProjectRebaselined,
            reason=reason,
            baselines={str(m.id): m.due for m in open_milestones},
            previous_baselines={str(m.id): m.baseline_due for m in open_milestones},
            name=name,
            actor=actor,
        )

    def _check_new_baseline_name(self, name: str) -> None:
        """R19: a baseline's name is the project's only one of that name, for good."""
        if self.baseline_version(name) is not None:
            raise refuse("R19", f"a baseline named '{name}' exists already", name=name)

    def _check_open(self, milestone: Milestone, rule: str, verb: str) -> None:
        """R7, R10, R3: only a milestone that is not achieved (nor cancelled) moves on."""
        if not rules.schedule_may_change(milestone.status):
            hint = "; reopen it first" if milestone.achieved else ""
            raise refuse(
                rule,
                f"milestone '{milestone.name}' is {milestone.status.value} and cannot be "
                f"{verb}{hint}",
                milestone_id=str(milestone.id),
                status=milestone.status.value,
            )

    def _check_dependencies_may_change(self, milestone: Milestone) -> None:
        """R16: dependencies change only on a milestone that is not achieved or cancelled."""
        if not rules.schedule_may_change(milestone.status):
            raise refuse(
                "R16",
                f"dependencies of {milestone.status.value} milestone '{milestone.name}' cannot "
                "change",
                milestone_id=str(milestone.id),
                status=milestone.status.value,
            )

    def _check_may_precede(self, predecessor: Milestone) -> None:
        """R16: a cancelled milestone holds nothing back, so nothing may depend on it."""
        if predecessor.status is MilestoneStatus.CANCELLED:
            raise refuse(
                "R16",
                f"cancelled milestone '{predecessor.name}' cannot be a predecessor",
                predecessor_id=str(predecessor.id),
            )

    def _check_no_cycle(self, milestone: Milestone, predecessor: Milestone) -> None:
        """R16: a dependency that would close a cycle is refused, naming the cycle."""
        graph = {key: m.predecessors for key, m in self.milestones.items()}
        cycle = rules.dependency_cycle(graph, str(milestone.id), str(predecessor.id))
        if cycle:
            names = " → ".join(f"'{self.milestones[key].name}'" for key in cycle)
            raise refuse(
                "R16",
                f"'{milestone.name}' cannot depend on '{predecessor.name}': that would close "
                f"the cycle {names}",
                cycle=cycle,
            )

    def _check_no_achieved_successor(self, milestone: Milestone) -> None:
        """R17: a predecessor of an achieved milestone stays achieved; reopen the successor
        first (else an achieved milestone would wait for an open one)."""
        achieved = [m for m in self.successors(milestone) if m.achieved]
        if achieved:
            raise RuleViolationError(
                [
                    Violation(
                        "R17",
                        f"achieved milestone '{m.name}' depends on '{milestone.name}'; reopen "
                        f"'{m.name}' first",
                        {"successor_id": str(m.id)},
                    )
                    for m in achieved
                ]
            )

    def _check_links_may_change(self, milestone: Milestone) -> None:
        """R9: links change only on a milestone that is not achieved or cancelled."""
        if not rules.schedule_may_change(milestone.status):
            raise refuse(
                "R9",
                f"links of {milestone.status.value} milestone '{milestone.name}' cannot change",
                milestone_id=str(milestone.id),
                status=milestone.status.value,
            )
