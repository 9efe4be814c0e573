"""R12: a milestone's health, derived at read time and never stored."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from domain.entities import MilestoneStatus


class Health(StrEnum):
    CANCELLED = "cancelled"
    ACHIEVED_ON_TIME = "achieved_on_time"
    ACHIEVED_LATE = "achieved_late"
    OVERDUE = "overdue"
    AT_RISK = "at_risk"
    ON_TRACK = "on_track"


def today_in(timezone: str, now: datetime) -> date:
    """The project's calendar day at the instant `now`."""
    return now.astimezone(ZoneInfo(timezone)).date()


def milestone_health(
    *,
    status: MilestoneStatus,
    due: date,
    achieved_at: datetime | None,
    today: date,
    timezone: str,
    risk_window_days: int,
    achievable_now: bool,
) -> Health:
    """`achievable_now` is whether R3 would allow achieving the milestone today."""
    if status is MilestoneStatus.CANCELLED:
        return Health.CANCELLED
    if status is MilestoneStatus.ACHIEVED:
        assert achieved_at is not None
        on_time = today_in(timezone, achieved_at) <= due
        return Health.ACHIEVED_ON_TIME if on_time else Health.ACHIEVED_LATE
    if today > due:
        return Health.OVERDUE
    if (due - today).days <= risk_window_days and not achievable_now:
        return Health.AT_RISK
    return Health.ON_TRACK
