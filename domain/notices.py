"""R20 Notices: what a project's today says about its open milestones, raised once per
milestone and due date (a reschedule re-arms them).

- `MilestoneDueSoon`: R12's `at_risk` — not achieved, due within the project's risk window
  (`due − today ≤ risk_window_days`), and R3 would refuse achieving it today.
- `MilestoneOverdue`: R12's `overdue` — not achieved, today (in the project's time zone) after
  its due date.

A notice is derived, never stored on the milestone nor as one of the project's events (R2: a
milestone is achieved or not, nothing in between is ever stored); the service keeps which
notices it raised only to raise each once (see docs/webhooks.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from domain.contents import ProjectContents
from domain.rules import Health

DUE_SOON = "MilestoneDueSoon"
OVERDUE = "MilestoneOverdue"
NOTICE_TYPES = (DUE_SOON, OVERDUE)

_BY_HEALTH = {Health.AT_RISK: DUE_SOON, Health.OVERDUE: OVERDUE}


@dataclass(frozen=True)
class Notice:
    """One notice: its kind, the milestone and the due date it is about, the day it was true."""

    kind: str
    project_id: UUID
    milestone_id: UUID
    milestone_name: str
    due: date
    today: date
    risk_window_days: int

    @property
    def key(self) -> tuple[UUID, date, str]:
        """Raised once per key: a milestone, a due date, a kind."""
        return (self.milestone_id, self.due, self.kind)


def notices(project: ProjectContents, today: date) -> list[Notice]:
    """The notices true of the project's open milestones on `today` (its own calendar day)."""
    found: list[Notice] = []
    for milestone in project.milestones.values():
        kind = _BY_HEALTH.get(project.health(milestone, today))
        if kind is not None:
            found.append(
                Notice(
                    kind=kind,
                    project_id=project.id,
                    milestone_id=milestone.id,
                    milestone_name=milestone.name,
                    due=milestone.due,
                    today=today,
                    risk_window_days=project.risk_window_days,
                )
            )
    return found
