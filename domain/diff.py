"""What changed in a project between two versions: the milestones, deliverables, criteria, links
and dependencies added, removed and changed (field: old → new), each with the events that
changed it. Works from the project at the first version and the events after it only, so its
cost follows the number of events between the two, not the length of the history."""

from __future__ import annotations

from collections.abc import Iterable
from copy import deepcopy
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any
from uuid import UUID

from domain import events as ev
from domain.project import Project

Ref = tuple[str, tuple[str, ...]]  # (kind, key): ("milestone", (mid,)), ("link", (mid, did)), …

KINDS = ("milestone", "deliverable", "criterion", "link", "dependency")


@dataclass(frozen=True)
class Cause:
    """An event that changed the item: its type, who, when, at which version, and why."""

    type: str
    actor: str
    occurred_at: datetime
    version: int
    reason: str | None


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: Any
    new: Any


@dataclass(frozen=True)
class Change:
    kind: str
    id: str  # the item's id; a link's or dependency's is "milestone_id/other_id"
    name: str
    change: str  # added, removed, changed
    fields: tuple[FieldChange, ...]
    causes: tuple[Cause, ...]


def diff(before: Project | None, events: Iterable[ev.ProjectEvent]) -> list[Change]:
    """The changes the events make to `before` (None: the project did not exist yet), in the
    order of `KINDS`, then of the first event that touched each item."""
    after = deepcopy(before)
    touched: dict[Ref, list[Cause]] = {}
    for event in events:
        after = event.mutate(after)
        for ref in _touched_by(event):
            touched.setdefault(ref, []).append(_cause(event))
    changes = []
    for ref, causes in touched.items():
        old, new = _state(before, ref), _state(after, ref)
        if old == new:
            continue  # changed and changed back: nothing differs between the two versions
        fields = tuple(
            FieldChange(name, (old or {}).get(name), (new or {}).get(name))
            for name in (new or old or {})
            if (old or {}).get(name) != (new or {}).get(name)
        )
        kind, key = ref
        change = "added" if old is None else "removed" if new is None else "changed"
        shown = after if after is not None else before
        assert shown is not None
        changes.append(
            Change(kind, "/".join(key), _name(shown, ref), change, fields, tuple(causes))
        )
    changes.sort(key=lambda c: KINDS.index(c.kind))
    return changes


def _cause(event: ev.ProjectEvent) -> Cause:
    reason = getattr(event, "reason", None)
    return Cause(
        event.type_name,
        event.actor,
        event.occurred_at,
        event.originator_version,
        reason if isinstance(reason, str) else None,
    )


def _touched_by(event: ev.ProjectEvent) -> list[Ref]:
    """The items an event may change."""
    if isinstance(event, ev.CriterionAdded | ev.EvidenceRecorded):
        return [("criterion", (str(event.deliverable_id), str(event.criterion_id)))]
    if isinstance(event, ev.DeliverableDefined | ev.DeliverableEvent):
        return [("deliverable", (str(event.deliverable_id),))]
    if isinstance(event, ev.MilestoneDefined):
        mid = str(event.milestone_id)
        return [("milestone", (mid,))] + [("link", (mid, str(d))) for d in event.deliverable_ids]
    if isinstance(event, ev.DeliverableLinked | ev.DeliverableUnlinked):
        return [("link", (str(event.milestone_id), str(event.deliverable_id)))]
    if isinstance(
        event,
        ev.MilestoneDependencyAdded
        | ev.MilestoneDependencyLagChanged
        | ev.MilestoneDependencyRemoved,
    ):
        return [("dependency", (str(event.milestone_id), str(event.predecessor_id)))]
    if isinstance(event, ev.MilestoneEvent):
        return [("milestone", (str(event.milestone_id),))]
    if isinstance(event, ev.ProjectRebaselined):
        return [("milestone", (mid,)) for mid in event.baselines]
    return []


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    return value


def _state(project: Project | None, ref: Ref) -> dict[str, Any] | None:
    """The item's fields in `project`, or None when it does not hold the item."""
    if project is None:
        return None
    kind, key = ref
    if kind == "milestone":
        m = project.milestones.get(key[0])
        if m is None:
            return None
        names = ("name", "phase_id", "due", "baseline_due", "status", "achieved_at", "achieved_by")
        return {n: _plain(getattr(m, n)) for n in names}
    if kind == "deliverable":
        d = project.deliverables.get(key[0])
        if d is None:
            return None
        shown = ("title", "description", "kind", "phase_id", "owner", "state")
        return {n: _plain(getattr(d, n)) for n in shown}
    if kind == "criterion":
        holder = project.deliverables.get(key[0])
        c = None if holder is None else holder.criteria.get(key[1])
        if c is None:
            return None
        evidence = None if c.evidence is None else c.evidence.evidence
        return {"text": c.text, "met": c.met, "evidence": evidence}
    if kind == "link":
        m = project.milestones.get(key[0])
        linked = m is not None and UUID(key[1]) in m.deliverable_ids
        return {"linked": True} if linked else None
    m = project.milestones.get(key[0])
    lag = None if m is None else m.predecessors.get(key[1])
    return None if lag is None else {"lag_days": lag}


def _name(project: Project, ref: Ref) -> str:
    """What a person calls the item, as the later of the two versions names it."""
    kind, key = ref

    def milestone(mid: str) -> str:
        m = project.milestones.get(mid)
        return mid if m is None else m.name

    def deliverable(did: str) -> str:
        d = project.deliverables.get(did)
        return did if d is None else d.title

    if kind == "milestone":
        return milestone(key[0])
    if kind == "deliverable":
        return deliverable(key[0])
    if kind == "criterion":
        holder = project.deliverables.get(key[0])
        c = None if holder is None else holder.criteria.get(key[1])
        return key[1] if c is None else f"{deliverable(key[0])}: {c.text}"
    if kind == "link":
        return f"{milestone(key[0])} ↔ {deliverable(key[1])}"
    return f"{milestone(key[0])} after {milestone(key[1])}"
