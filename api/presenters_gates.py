"""A phase as `GET /v1/projects/{pid}` shows it (R24, R25): its place in the order, its exit
gate, what the gate says now, and the decision that stands with its conditions and signature.

Plain data in the field order of `PhasePublic`, for both of `api.presenters`' paths (the model
and the JSON written straight), so they stay byte for byte the same."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from domain.entities import GateCondition, GateDecision, Phase
from domain.gates import gate_state

Stamp = Callable[[datetime], Any]


def phase_data(phase: Phase, stamp: Stamp) -> dict[str, Any]:
    return {
        "id": phase.id,
        "name": phase.name,
        "position": phase.position,
        "exit_gate": phase.exit_gate,
        "gate": gate_state(phase),
        "decision": None if phase.decision is None else _decision(phase.decision, stamp),
    }


def _decision(decision: GateDecision, stamp: Stamp) -> dict[str, Any]:
    return {
        "id": decision.id,
        "decision": decision.decision.value,
        "participants": list(decision.participants),
        "independent": list(decision.independent),
        "reason": decision.reason,
        "decided_by": decision.decided_by,
        "decided_at": stamp(decision.decided_at),
        "meaning": decision.meaning,
        "signer_name": decision.signer_name,
        "signed_digest": decision.signed_digest,
        "open_conditions": len(decision.open_conditions),
        "conditions": [_condition(c, stamp) for c in decision.conditions.values()],
    }


def _condition(condition: GateCondition, stamp: Stamp) -> dict[str, Any]:
    return {
        "id": condition.id,
        "text": condition.text,
        "open": condition.open,
        "closed_by": condition.closed_by,
        "closed_at": None if condition.closed_at is None else stamp(condition.closed_at),
        "how": condition.how,
    }
