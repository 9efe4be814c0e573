"""Milestone health (R12), derived at read time relative to today in the project's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from domain import events as ev
from domain.entities import MilestoneStatus
from domain.project import Project
from domain.rules import Health, milestone_health, today_in

from .helpers import (
    ALICE,
    DUE,
    approved,
    cancelled_milestone,
    draft,
    milestone,
    new_events,
    new_project,
)


def achieved_at(project: Project, instant: datetime, *, due: date = DUE) -> Project:
    """Given: a milestone due on `due`, achieved at `instant` (the event's recorded time)."""
    mid = milestone(project, approved(project), due=due)
    project.trigger_event(
        ev.MilestoneAchieved,
        milestone_id=mid,
        note=None,
        meaning="responsibility",
        signer_name=ALICE,
        signed_digest=None,
        actor=ALICE,
        timestamp=instant,
    )
    new_events(project)
    return project


def only_milestone_health(project: Project, today: date) -> Health:
    [state] = project.milestones.values()
    return project.health(state, today)


def test_a_cancelled_milestone_is_cancelled_even_when_overdue() -> None:
    project = new_project()
    cancelled_milestone(project)

    assert only_milestone_health(project, DUE + timedelta(days=30)) is Health.CANCELLED


def test_a_milestone_achieved_on_its_due_day_is_on_time() -> None:
    project = achieved_at(new_project(), datetime(2026, 12, 15, 23, 59, tzinfo=UTC))

    assert only_milestone_health(project, DUE + timedelta(days=30)) is Health.ACHIEVED_ON_TIME


def test_a_milestone_achieved_after_its_due_day_is_late() -> None:
    project = achieved_at(new_project(), datetime(2026, 12, 16, 0, 1, tzinfo=UTC))

    assert only_milestone_health(project, DUE + timedelta(days=30)) is Health.ACHIEVED_LATE


def test_achievement_counts_the_day_in_the_projects_time_zone_ahead_of_utc() -> None:
    # 20:00 UTC on the due day is already the next morning in Auckland.
    instant = datetime(2026, 12, 15, 20, 0, tzinfo=UTC)

    utc = achieved_at(new_project(), instant)
    auckland = achieved_at(new_project(timezone="Pacific/Auckland"), instant)

    assert only_milestone_health(utc, DUE) is Health.ACHIEVED_ON_TIME
    assert only_milestone_health(auckland, DUE) is Health.ACHIEVED_LATE


def test_achievement_counts_the_day_in_the_projects_time_zone_behind_utc() -> None:
    # 02:00 UTC the day after is still the evening of the due day in New York.
    instant = datetime(2026, 12, 16, 2, 0, tzinfo=UTC)

    utc = achieved_at(new_project(), instant)
    new_york = achieved_at(new_project(timezone="America/New_York"), instant)

    assert only_milestone_health(utc, DUE) is Health.ACHIEVED_LATE
    assert only_milestone_health(new_york, DUE) is Health.ACHIEVED_ON_TIME


def test_an_open_milestone_past_its_due_day_is_overdue() -> None:
    project = new_project()
    milestone(project, approved(project))

    assert only_milestone_health(project, DUE + timedelta(days=1)) is Health.OVERDUE


def test_an_open_milestone_is_not_overdue_on_its_due_day() -> None:
    project = new_project()
    milestone(project, approved(project))

    assert only_milestone_health(project, DUE) is Health.ON_TRACK


def test_a_milestone_in_the_risk_window_that_could_not_be_achieved_now_is_at_risk() -> None:
    project = new_project(risk_window_days=7)
    milestone(project, draft(project))

    assert only_milestone_health(project, DUE - timedelta(days=7)) is Health.AT_RISK


def test_an_open_milestone_without_deliverables_near_its_due_day_is_at_risk() -> None:
    project = new_project()
    milestone(project)

    assert only_milestone_health(project, DUE) is Health.AT_RISK


def test_an_open_milestone_before_the_risk_window_is_on_track() -> None:
    project = new_project(risk_window_days=7)
    milestone(project, draft(project))

    assert only_milestone_health(project, DUE - timedelta(days=8)) is Health.ON_TRACK


def test_an_open_milestone_that_could_be_achieved_now_is_on_track_within_the_window() -> None:
    project = new_project()
    milestone(project, approved(project))

    assert only_milestone_health(project, DUE - timedelta(days=1)) is Health.ON_TRACK


def test_the_risk_window_is_the_projects_own() -> None:
    project = new_project(risk_window_days=30)
    milestone(project, draft(project))

    assert only_milestone_health(project, DUE - timedelta(days=30)) is Health.AT_RISK


def test_today_is_the_calendar_day_in_the_projects_time_zone() -> None:
    instant = datetime(2026, 12, 15, 20, 0, tzinfo=UTC)

    assert today_in("UTC", instant) == date(2026, 12, 15)
    assert today_in("Pacific/Auckland", instant) == date(2026, 12, 16)
    assert today_in("America/Los_Angeles", instant) == date(2026, 12, 15)


@pytest.mark.parametrize(
    ("status", "today", "achievable", "expected"),
    [
        (MilestoneStatus.CANCELLED, DUE, False, Health.CANCELLED),
        (MilestoneStatus.NOT_ACHIEVED, DUE + timedelta(days=1), True, Health.OVERDUE),
        (MilestoneStatus.NOT_ACHIEVED, DUE, False, Health.AT_RISK),
        (MilestoneStatus.NOT_ACHIEVED, DUE, True, Health.ON_TRACK),
    ],
)
def test_milestone_health_for_each_open_or_cancelled_state(
    status: MilestoneStatus, today: date, achievable: bool, expected: Health
) -> None:
    health = milestone_health(
        status=status,
        due=DUE,
        achieved_at=None,
        today=today,
        timezone="UTC",
        risk_window_days=7,
        achievable_now=achievable,
    )

    assert health is expected
