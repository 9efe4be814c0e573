"""The retrospective's phase gates (R24, R25): per gated phase, each decision with its
signature, the closing of its conditions, and the time from the phase's last achieved milestone
to the decision. Replayed from the events, like `domain.retrospective`, which it is part of.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from domain import events as ev


@dataclass(frozen=True)
class ConditionClosing:
    condition_id: UUID
    text: str
    at: datetime
    by: str
    how: str


@dataclass
class GateDecisionRecord:
    """One decision at a phase's exit gate. `days_from_last_milestone`: from the latest
    achievement of a milestone of the phase (as it stood when the decision was taken) to the
    decision, in days; None when none of its milestones was achieved then."""

    id: UUID
    decision: str
    at: datetime
    by: str
    signer_name: str
    meaning: str
    participants: list[str]
    independent: list[str]
    reason: str
    conditions: list[str]
    days_from_last_milestone: float | None
    closings: list[ConditionClosing] = field(default_factory=list)


@dataclass
class PhaseGateRetrospective:
    phase_id: UUID
    name: str
    decisions: list[GateDecisionRecord] = field(default_factory=list)


class GateReplay:
    """Follows the phases, the milestones' phases and achievements, and the gate events."""

    def __init__(self) -> None:
        self.phases: dict[UUID, str] = {}
        self.gated: dict[UUID, PhaseGateRetrospective] = {}
        self.milestone_phase: dict[UUID, UUID] = {}
        self.achieved_at: dict[UUID, datetime] = {}
        self.condition_texts: dict[UUID, str] = {}

    def apply(self, event: ev.ProjectEvent) -> None:
        if isinstance(event, ev.PhaseAdded):
            self.phases[event.phase_id] = event.name
        elif isinstance(event, ev.MilestoneDefined):
            self.milestone_phase[event.milestone_id] = event.phase_id
        elif isinstance(event, ev.MilestoneAchieved):
            self.achieved_at[event.milestone_id] = event.timestamp
        elif isinstance(event, ev.MilestoneReopened):
            self.achieved_at.pop(event.milestone_id, None)
        elif isinstance(event, ev.PhaseExitGateSet) and event.required:
            self.gated.setdefault(
                event.phase_id,
                PhaseGateRetrospective(event.phase_id, self.phases[event.phase_id]),
            )
        elif isinstance(event, ev.GateDecided):
            self._decided(event)
        elif isinstance(event, ev.GateConditionClosed):
            decision = self.gated[event.phase_id].decisions[-1]
            decision.closings.append(
                ConditionClosing(
                    event.condition_id,
                    self.condition_texts.get(event.condition_id, ""),
                    event.timestamp,
                    event.actor,
                    event.how,
                )
            )

    def _decided(self, event: ev.GateDecided) -> None:
        achieved = [
            at
            for mid, at in self.achieved_at.items()
            if self.milestone_phase.get(mid) == event.phase_id
        ]
        last = max(achieved, default=None)
        for condition in event.conditions:
            self.condition_texts[UUID(condition["condition_id"])] = condition["text"]
        self.gated[event.phase_id].decisions.append(
            GateDecisionRecord(
                id=event.decision_id,
                decision=event.decision,
                at=event.timestamp,
                by=event.actor,
                signer_name=event.signer_name,
                meaning=event.meaning,
                participants=list(event.participants),
                independent=list(event.independent),
                reason=event.reason,
                conditions=[c["text"] for c in event.conditions],
                days_from_last_milestone=None
                if last is None
                else round((event.timestamp - last).total_seconds() / 86400, 2),
            )
        )

    def result(self) -> list[PhaseGateRetrospective]:
        return list(self.gated.values())
