"""What a project holds (members, phases, deliverables, milestones) and how it is read.

The base of the `Project` aggregate: its command methods live in `domain.project` (members and
phases), `domain.deliverables` and `domain.milestones`; they read through the methods here and
change state only by triggering events.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from domain import events as ev
from domain import rules
from domain.entities import Criterion, Deliverable, Milestone, Phase
from domain.errors import EntityNotFoundError, InvalidValueError, Violation
from domain.roles import ProjectRole
from domain.rules import Health, milestone_health


class ProjectContents:
    """The aggregate's state, read by its commands (and by queries, on a loaded project)."""

    id: UUID
    name: str
    description: str
    timezone: str
    risk_window_days: int
    # Role values as plain strings: they survive a snapshot's JSON round trip unchanged.
    members: dict[str, str]
    phases: dict[str, Phase]
    deliverables: dict[str, Deliverable]
    milestones: dict[str, Milestone]
    baseline_versions: dict[str, int]
    groups: dict[str, list[str]]

    def _trigger(self, event_class: type[ev.ProjectEvent], **kwargs: Any) -> None:
        """Trigger an event of this project (the aggregate's `trigger_event`)."""
        raise NotImplementedError

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

    def baseline_version(self, name: str) -> int | None:
        """R19: the version the re-baseline named `name` (case aside) made, if any."""
        folded = name.casefold()
        return next((v for n, v in self.baseline_versions.items() if n.casefold() == folded), None)

    def predecessors(self, milestone: Milestone) -> list[Milestone]:
        return [self.milestones[p] for p in milestone.predecessors]

    def successors(self, milestone: Milestone) -> list[Milestone]:
        key = str(milestone.id)
        return [m for m in self.milestones.values() if key in m.predecessors]

    def achievement_blockers(self, milestone: Milestone) -> list[Violation]:
        """R3, R17 and R24: every reason the milestone cannot be achieved now (empty when it
        can)."""
        return (
            rules.achievement_blockers(
                milestone.id, milestone.name, self.linked_deliverables(milestone)
            )
            + rules.predecessor_blockers(self.predecessors(milestone))
            + self.gate_blockers(milestone)
        )

    def gate_blockers(self, milestone: Milestone) -> list[Violation]:
        """R24 (`domain.gates`)."""
        raise NotImplementedError

    def forecasts(self) -> dict[str, rules.Forecast]:
        """R18: every milestone's forecast that is not cancelled, by id."""
        return rules.forecasts(
            {
                key: rules.Planned(
                    status=m.status,
                    due=m.due,
                    achieved_on=None
                    if m.achieved_at is None
                    else rules.today_in(self.timezone, m.achieved_at),
                    predecessors=m.predecessors,
                )
                for key, m in self.milestones.items()
            }
        )

    def health(
        self,
        milestone: Milestone,
        today: date,
        forecasts: dict[str, rules.Forecast] | None = None,
    ) -> Health:
        """R12 and R18; `forecasts` when the caller has them already (`forecasts()`)."""
        found = self.forecasts() if forecasts is None else forecasts
        forecast = found.get(str(milestone.id))
        return milestone_health(
            status=milestone.status,
            due=milestone.due,
            achieved_at=milestone.achieved_at,
            today=today,
            timezone=self.timezone,
            risk_window_days=self.risk_window_days,
            achievable_now=not self.achievement_blockers(milestone),
            forecast_due=None if forecast is None else forecast.due,
        )

    def _referenced_phase(self, phase_id: UUID) -> UUID:
        """A phase named in a body: 422 when the project has none with that id."""
        if str(phase_id) not in self.phases:
            raise InvalidValueError("phase_id", f"no phase {phase_id} in this project")
        return phase_id
