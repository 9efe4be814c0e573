"""What a project event is about and what it says, as JSON: the shape reads of the past share.

The audit trail, a project's history and the global feed all describe an event the same way: the
entity it concerns (kind and id, plus every other entity it names) and its own fields as JSON.
"""

from __future__ import annotations

import json
import types
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from domain import events as ev

# What every event carries besides its own fields.
ENVELOPE = frozenset(
    {"originator_id", "originator_version", "timestamp", "originator_topic", "actor"}
)


def event_data(event: ev.ProjectEvent) -> dict[str, Any]:
    """The event's own fields, without the envelope (id, version, timestamp, topic, actor)."""
    return {k: v for k, v in vars(event).items() if k not in ENVELOPE}


@dataclass(frozen=True)
class Entity:
    """The thing an event is about; `related` lists every entity id it names, this one first."""

    kind: str  # project, member, phase, deliverable, criterion, milestone
    id: str
    related: tuple[str, ...]


def _member(event: Any, project: str) -> Entity:
    return Entity("member", event.principal, (event.principal, project))


def _phase(event: Any, project: str) -> Entity:
    return Entity("phase", str(event.phase_id), (str(event.phase_id), project))


def _gate_condition(event: Any, project: str) -> Entity:
    phase = str(event.phase_id)
    return Entity("phase", phase, (phase, str(event.condition_id), project))


def _phase_order(event: Any, project: str) -> Entity:
    return Entity("project", project, (project, *(str(p) for p in event.phase_ids)))


def _criterion(event: Any, project: str) -> Entity:
    criterion, deliverable = str(event.criterion_id), str(event.deliverable_id)
    return Entity("criterion", criterion, (criterion, deliverable, project))


def _deliverable(event: Any, project: str) -> Entity:
    deliverable = str(event.deliverable_id)
    return Entity("deliverable", deliverable, (deliverable, project))


def _link(event: Any, project: str) -> Entity:
    milestone, deliverable = str(event.milestone_id), str(event.deliverable_id)
    return Entity("milestone", milestone, (milestone, deliverable, project))


def _milestone_defined(event: Any, project: str) -> Entity:
    milestone = str(event.milestone_id)
    linked = tuple(str(d) for d in event.deliverable_ids)
    return Entity("milestone", milestone, (milestone, *linked, project))


def _milestone(event: Any, project: str) -> Entity:
    milestone = str(event.milestone_id)
    return Entity("milestone", milestone, (milestone, project))


def _project(event: Any, project: str) -> Entity:
    return Entity("project", project, (project,))


# The first rule whose classes an event is an instance of describes it; the last, any event.
_ENTITY_RULES: tuple[tuple[type | types.UnionType, Callable[[Any, str], Entity]], ...] = (
    (ev.MemberAdded | ev.MemberRoleChanged | ev.MemberRemoved, _member),
    (ev.PhaseAdded | ev.PhaseExitGateSet | ev.GateDecided, _phase),
    (ev.GateConditionClosed, _gate_condition),
    (ev.PhasesReordered, _phase_order),
    (ev.CriterionAdded | ev.EvidenceRecorded, _criterion),
    (ev.DeliverableDefined | ev.DeliverableEvent, _deliverable),
    (ev.DeliverableLinked | ev.DeliverableUnlinked, _link),
    (ev.MilestoneDefined, _milestone_defined),
    (ev.MilestoneEvent, _milestone),
    (ev.ProjectEvent, _project),
)
# Each event class's rule, found once (a rebuild asks for every event of the log).
_ENTITY_RULE: dict[type, Callable[[Any, str], Entity]] = {}


def _entity_rule(cls: type) -> Callable[[Any, str], Entity]:
    rule = next((rule for classes, rule in _ENTITY_RULES if issubclass(cls, classes)), _project)
    _ENTITY_RULE[cls] = rule
    return rule


def entity_of(event: ev.ProjectEvent) -> Entity:
    cls = type(event)
    rule = _ENTITY_RULE.get(cls) or _entity_rule(cls)
    return rule(event, str(event.originator_id))


def json_data(event: ev.ProjectEvent) -> dict[str, Any]:
    """The event's own fields (`event_data`) with ids, dates and instants as JSON strings."""
    data: dict[str, Any] = jsonable(event_data(event))
    return data


def _leaf(value: object) -> str:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


_ENCODE = json.JSONEncoder(default=_leaf).encode


def json_text(event: ev.ProjectEvent) -> str:
    """`json.dumps(json_data(event))` in one pass (what the audit trail stores for every event
    of the log): the event's own fields' dicts have string keys already."""
    return _ENCODE(event_data(event))


# Values JSON writes as they are: most of an event's fields (checked first, by exact type).
_PLAIN = frozenset({str, int, float, bool, type(None)})


def jsonable(value: Any) -> Any:
    if type(value) in _PLAIN:
        return value
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value
