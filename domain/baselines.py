"""R19: a project's baselines as they were saved, replayed from its events, each with the slip
of every milestone it holds against the milestone's due date now."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from domain import events as ev
from domain.rules import slip_days


@dataclass(frozen=True)
class BaselineEntry:
    milestone_id: UUID
    baseline_due: date


@dataclass(frozen=True)
class Baseline:
    """One re-baseline (R7): who saved it, when, why, under which name (R19, None when it was
    given none), and the due date it set as every open milestone's baseline."""

    name: str | None
    reason: str
    actor: str
    saved_at: datetime
    version: int
    entries: tuple[BaselineEntry, ...]


def baselines(events: Iterable[ev.ProjectEvent]) -> list[Baseline]:
    """Every re-baseline of the project, oldest first."""
    return [
        Baseline(
            name=e.name,
            reason=e.reason,
            actor=e.actor,
            saved_at=e.timestamp,
            version=e.originator_version,
            entries=tuple(
                BaselineEntry(UUID(mid), due) for mid, due in sorted(e.baselines.items())
            ),
        )
        for e in events
        if isinstance(e, ev.ProjectRebaselined)
    ]


def named(found: list[Baseline], name: str) -> Baseline | None:
    """R19: the baseline saved under `name` (case aside), if any."""
    return next(
        (b for b in found if b.name is not None and b.name.casefold() == name.casefold()), None
    )


def slip_against(baseline: BaselineEntry, due_now: date) -> int:
    """R7's slip, against this baseline rather than the current one."""
    return slip_days(due_now, baseline.baseline_due)
