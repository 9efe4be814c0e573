"""The words on the timeline: dates, labels, each milestone's tooltip and the picture's summary."""

from __future__ import annotations

from datetime import date, datetime

from api.schemas import MilestonePublic, ProjectPublic
from domain.entities import MilestoneStatus
from domain.rules import Health

HEALTH_LABELS: dict[Health, str] = {
    Health.ON_TRACK: "on track",
    Health.AT_RISK: "at risk",
    Health.OVERDUE: "overdue",
    Health.ACHIEVED_ON_TIME: "achieved on time",
    Health.ACHIEVED_LATE: "achieved late",
    Health.CANCELLED: "cancelled",
}


def date_line(m: MilestonePublic, achieved_on: date | None) -> str:
    if m.status is MilestoneStatus.CANCELLED:
        return f"cancelled · was due {day(m.due)}"
    slip = f" ({m.slip_days:+d} d)" if m.slip_days else ""
    if achieved_on is not None:
        return f"achieved {day(achieved_on)} · due {day(m.due)}{slip}"
    return f"due {day(m.due)}{slip}"


def describe(m: MilestonePublic, achieved_on: date | None) -> str:
    parts = [f"{m.name}: due {m.due.isoformat()}"]
    if m.baseline_due != m.due:
        parts.append(f"baseline {m.baseline_due.isoformat()}, slipped {m.slip_days:+d} days")
    if achieved_on is not None:
        parts.append(f"achieved {achieved_on.isoformat()} by {m.achieved_by}")
    if m.status is MilestoneStatus.NOT_ACHIEVED and m.forecast_due and m.forecast_due > m.due:
        parts.append(f"forecast {m.forecast_due.isoformat()} through its predecessors")
    parts.append(HEALTH_LABELS[m.health])
    return "; ".join(parts)


def summary(project: ProjectPublic, today: date) -> str:
    counts: dict[Health, int] = {}
    for m in project.milestones:
        counts[m.health] = counts.get(m.health, 0) + 1
    states = ", ".join(f"{n} {HEALTH_LABELS[h]}" for h, n in counts.items())
    return (
        f"{len(project.milestones)} milestones in {len(project.phases)} phases"
        f"{': ' + states if states else ''}; today is {today.isoformat()}."
    )


def day(value: date, *, year: bool = True) -> str:
    return f"{value.day} {value:%b %Y}" if year else f"{value.day} {value:%b}"


def instant(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z").strip()
