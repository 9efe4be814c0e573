"""The milestone commands of the `Project` aggregate: define, link, reschedule, achieve, reopen,
cancel, and the project's re-baseline (R7).

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
from domain.entities import Milestone
from domain.errors import InvalidValueError, RuleViolationError, Violation, refuse


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
        if not rules.REOPEN_MILESTONE.allows(milestone.status):
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

    def _check_links_may_change(self, milestone: Milestone) -> None:
        """R9: links change only on a milestone that is not achieved or cancelled."""
        if not rules.schedule_may_change(milestone.status):
            raise refuse(
                "R9",
                f"links of {milestone.status.value} milestone '{milestone.name}' cannot change",
                milestone_id=str(milestone.id),
                status=milestone.status.value,
            )
