"""Phase gates (R24, R25): the phases' order, exit gates, signed gate decisions and the closing
of their conditions; the commands of the `Project` aggregate for them, and R24's check.

- R24: a milestone belongs to the phase it was defined in (`Milestone.phase_id`). It cannot be
  achieved while any phase before its own (in the phases' order) has an exit gate that does not
  let the project through: no decision yet, `hold`, `no_go`, or `conditional` with a condition
  still open. A phase without an exit gate holds nothing back.
- R25: a gate decision is recorded by a manager, signed (meaning, printed name, digest), with
  participants who are members of the project, at least one of whom submitted none of the
  phase's deliverables (the event names every such one, `independent`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any
from uuid import UUID, uuid4

from domain import events as ev
from domain import validation as valid
from domain.contents import ProjectContents
from domain.entities import GateDecisionKind, Milestone, Phase, SignatureMeaning
from domain.errors import EntityNotFoundError, InvalidValueError, Violation, refuse

# R25: at most this many participants and conditions in one decision.
MAX_PARTICIPANTS = 50
MAX_CONDITIONS = 50


def gate_state(phase: Phase) -> str:
    """What a phase's exit gate says now: `none` (no gate), `missing` (a gate, no decision
    yet), the standing decision, or `conditional_open` while a condition is open."""
    if not phase.exit_gate:
        return "none"
    decision = phase.decision
    if decision is None:
        return "missing"
    if decision.decision is GateDecisionKind.CONDITIONAL and decision.open_conditions:
        return "conditional_open"
    return decision.decision.value


def gate_passes(phase: Phase) -> bool:
    """R24: the gate lets the project on to the next phases."""
    return gate_state(phase) in ("none", "go", "conditional")


def ordered(phases: Sequence[Phase]) -> list[Phase]:
    """The phases first to last (a stable sort: equal positions keep the order given)."""
    return sorted(phases, key=lambda p: p.position)


def gate_blockers(phases: Sequence[Phase], milestone: Milestone) -> list[Violation]:
    """R24: one reason per phase before the milestone's own whose exit gate does not pass."""
    found: list[Violation] = []
    for phase in ordered(phases):
        if phase.id == milestone.phase_id:
            break
        if gate_passes(phase):
            continue
        state = gate_state(phase)
        decision = phase.decision
        open_count = 0 if decision is None else len(decision.open_conditions)
        said = {
            "missing": "has no decision yet",
            "hold": "is on hold",
            "no_go": "decided no_go",
            "conditional_open": f"is conditional with {open_count} open condition(s)",
        }[state]
        found.append(
            Violation(
                "R24",
                f"the exit gate of phase '{phase.name}' {said}; milestone '{milestone.name}' "
                "of a later phase cannot be achieved",
                {"phase_id": str(phase.id), "phase": phase.name, "gate": state},
            )
        )
    return found


def decision_document(
    phase_id: UUID,
    decision: GateDecisionKind,
    conditions: Sequence[str],
    participants: Sequence[str],
    reason: str,
) -> dict[str, Any]:
    """What a gate decision's signature signs (docs/rules.md R25)."""
    return {
        "phase_id": str(phase_id),
        "decision": decision.value,
        "conditions": list(conditions),
        "participants": sorted(participants),
        "reason": reason,
    }


def decision_digest(document: dict[str, Any]) -> str:
    """Hex SHA-256 of the canonical JSON (sorted keys, no whitespace, UTF-8) of `document`."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class GateCommands(ProjectContents):
    def phases_in_order(self) -> list[Phase]:
        return ordered(list(self.phases.values()))

    def gate_blockers(self, milestone: Milestone) -> list[Violation]:
        return gate_blockers(list(self.phases.values()), milestone)

    def reorder_phases(self, phase_ids: list[UUID], *, actor: str) -> None:
        """R24: the phases' new order, naming every phase once."""
        given = [str(p) for p in phase_ids]
        if sorted(given) != sorted(self.phases) or len(set(given)) != len(given):
            raise InvalidValueError("phase_ids", "name every phase of the project exactly once")
        previous = [p.id for p in self.phases_in_order()]
        if [str(p) for p in previous] == given:
            return  # the order it has: nothing changes
        self._keep_decided_gates_ahead([str(p) for p in previous], given)
        self._trigger(
            ev.PhasesReordered,
            phase_ids=[self.phases[p].id for p in given],
            previous_phase_ids=previous,
            actor=actor,
        )

    def _keep_decided_gates_ahead(self, before: list[str], after: list[str]) -> None:
        """R24: a new order never lifts a decided gate that holds the project back (`hold`,
        `no_go`, `conditional` with a condition open): every phase that came after it stays
        after it. Else reordering would do what taking the gate away may not (R25)."""
        for key in before:
            phase = self.phases[key]
            if gate_passes(phase) or phase.decision is None:
                continue
            blocked = [
                self.phases[later].name
                for later in before[before.index(key) + 1 :]
                if after.index(later) < after.index(key)
            ]
            if blocked:
                raise refuse(
                    "R24",
                    f"the exit gate of phase '{phase.name}' says {gate_state(phase)}: "
                    f"the phases after it ({', '.join(blocked)}) cannot be moved before it",
                    phase_id=str(phase.id),
                    phase=phase.name,
                    gate=gate_state(phase),
                )

    def set_exit_gate(self, phase_id: UUID, required: bool, *, actor: str) -> None:
        """R24: give the phase an exit gate, or take it away while no decision was recorded."""
        phase = self.phase(phase_id)
        if phase.exit_gate == required:
            return
        if not required and phase.decision is not None:
            raise refuse(
                "R25",
                f"the exit gate of phase '{phase.name}' has a recorded decision and stays",
                phase_id=str(phase.id),
            )
        self._trigger(ev.PhaseExitGateSet, phase_id=phase.id, required=required, actor=actor)

    def decide_gate(
        self,
        phase_id: UUID,
        decision: GateDecisionKind,
        participants: list[str],
        reason: str,
        conditions: list[str] | None = None,
        *,
        meaning: SignatureMeaning = SignatureMeaning.APPROVAL,
        signer_name: str | None = None,
        actor: str,
    ) -> UUID:
        """R25: record a signed decision at the phase's exit gate; it replaces the one before."""
        phase = self.phase(phase_id)
        kind = GateDecisionKind(decision)
        valid.reason("reason", reason)
        texts = self._conditions(kind, conditions or [])
        people = self._participants(participants)
        if not phase.exit_gate:
            raise refuse(
                "R25",
                f"phase '{phase.name}' has no exit gate; set one first",
                phase_id=str(phase.id),
            )
        independent = self._independent(phase, people)
        decision_id = uuid4()
        document = decision_document(phase.id, kind, texts, people, reason)
        self._trigger(
            ev.GateDecided,
            phase_id=phase.id,
            decision_id=decision_id,
            decision=kind.value,
            participants=people,
            independent=independent,
            reason=reason,
            conditions=[{"condition_id": str(uuid4()), "text": t} for t in texts],
            meaning=SignatureMeaning(meaning).value,
            signer_name=signer_name or actor,
            signed_digest=decision_digest(document),
            actor=actor,
        )
        return decision_id

    def close_gate_condition(
        self, phase_id: UUID, condition_id: UUID, how: str, *, actor: str
    ) -> None:
        """R24: close one open condition of the phase's standing `conditional` decision."""
        phase = self.phase(phase_id)
        valid.reason("how", how)
        decision = phase.decision
        condition = None if decision is None else decision.conditions.get(str(condition_id))
        if decision is None or condition is None:
            raise EntityNotFoundError("condition", condition_id)
        if not condition.open:
            raise refuse(
                "R24",
                f"condition '{condition.text}' was closed already",
                condition_id=str(condition_id),
            )
        self._trigger(
            ev.GateConditionClosed,
            phase_id=phase.id,
            decision_id=decision.id,
            condition_id=condition.id,
            how=how,
            actor=actor,
        )

    def _conditions(self, kind: GateDecisionKind, conditions: list[str]) -> list[str]:
        """R25: a `conditional` decision has 1 to 50 conditions; the others have none."""
        if kind is GateDecisionKind.CONDITIONAL:
            if not 1 <= len(conditions) <= MAX_CONDITIONS:
                raise InvalidValueError(
                    "conditions", f"a conditional decision has 1 to {MAX_CONDITIONS} conditions"
                )
        elif conditions:
            raise InvalidValueError("conditions", f"a {kind.value} decision has no conditions")
        return [valid.reason("conditions", text) for text in conditions]

    def _participants(self, participants: list[str]) -> list[str]:
        """R25: 1 to 50 distinct participants, each a member of the project (409 otherwise)."""
        people = list(dict.fromkeys(participants))
        if not 1 <= len(people) <= MAX_PARTICIPANTS:
            raise InvalidValueError(
                "participants", f"a decision has 1 to {MAX_PARTICIPANTS} distinct participants"
            )
        for person in people:
            valid.name("participants", person)
        strangers = [p for p in people if p not in self.members]
        if strangers:
            raise refuse(
                "R25",
                f"participants {', '.join(strangers)} are not members of the project",
                participants=strangers,
            )
        return people

    def _independent(self, phase: Phase, people: list[str]) -> list[str]:
        """R25: the participants who submitted none of the phase's deliverables; refused when
        there is none."""
        submitters: set[str] = set()
        for deliverable in self.deliverables.values():
            if deliverable.phase_id == phase.id:
                submitters |= deliverable.ever_submitted_by
        independent = [p for p in people if p not in submitters]
        if not independent:
            raise refuse(
                "R25",
                f"every participant submitted a deliverable of phase '{phase.name}'; a gate "
                "decision needs at least one independent participant",
                phase_id=str(phase.id),
                participants=people,
            )
        return independent
