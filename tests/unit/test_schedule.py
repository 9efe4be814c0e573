"""Schedule changes: reschedule with a reason, slip, and project re-baselines (R7)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from domain.errors import InvalidValueError, RuleViolationError
from domain.events import MilestoneRescheduled, ProjectRebaselined

from .helpers import (
    ALICE,
    DUE,
    achieved,
    cancelled_milestone,
    milestone,
    new_events,
    new_project,
    rules,
)

LATER = DUE + timedelta(days=10)


def test_rescheduling_moves_the_due_date_and_keeps_the_baseline() -> None:
    project = new_project()
    mid = milestone(project, due=DUE)

    project.reschedule(mid, LATER, "supplier late", actor=ALICE)

    [event] = new_events(project)
    assert isinstance(event, MilestoneRescheduled)
    assert (event.due, event.previous_due, event.reason) == (LATER, DUE, "supplier late")
    state = project.milestone(mid)
    assert (state.due, state.baseline_due) == (LATER, DUE)


def test_slip_is_current_due_minus_current_baseline_in_days() -> None:
    project = new_project()
    mid = milestone(project, due=DUE)

    project.reschedule(mid, LATER, "supplier late", actor=ALICE)
    project.reschedule(mid, DUE - timedelta(days=3), "pulled in", actor=ALICE)

    assert project.milestone(mid).slip_days == -3


def test_rescheduling_to_the_same_day_changes_nothing() -> None:
    project = new_project()
    mid = milestone(project, due=DUE)

    project.reschedule(mid, DUE, "no change", actor=ALICE)

    assert new_events(project) == []


@pytest.mark.parametrize("reason", ["", "  "])
def test_rescheduling_needs_a_reason(reason: str) -> None:
    project = new_project()
    mid = milestone(project)

    with pytest.raises(InvalidValueError) as excinfo:
        project.reschedule(mid, LATER, reason, actor=ALICE)

    assert excinfo.value.field_name == "reason"


def test_an_achieved_milestone_cannot_be_rescheduled() -> None:
    project = new_project()
    mid, _ = achieved(project)

    with pytest.raises(RuleViolationError) as excinfo:
        project.reschedule(mid, LATER, "late anyway", actor=ALICE)

    assert rules(excinfo) == ["R7"]
    assert project.milestone(mid).due == DUE


def test_a_cancelled_milestone_cannot_be_rescheduled() -> None:
    project = new_project()
    mid = cancelled_milestone(project)

    with pytest.raises(RuleViolationError) as excinfo:
        project.reschedule(mid, LATER, "revive", actor=ALICE)

    assert rules(excinfo) == ["R7"]


def test_a_rebaseline_sets_every_open_milestones_baseline_to_its_due() -> None:
    project = new_project()
    slipped = milestone(project, due=DUE, name="Slipped")
    steady = milestone(project, due=date(2027, 1, 5), name="Steady")
    project.reschedule(slipped, LATER, "supplier late", actor=ALICE)
    new_events(project)

    project.rebaseline("new plan agreed", actor=ALICE)

    [event] = new_events(project)
    assert isinstance(event, ProjectRebaselined)
    assert event.reason == "new plan agreed"
    assert event.baselines == {str(slipped): LATER, str(steady): date(2027, 1, 5)}
    assert project.milestone(slipped).baseline_due == LATER
    assert project.milestone(slipped).slip_days == 0


def test_a_rebaseline_keeps_every_earlier_baseline_in_its_event() -> None:
    project = new_project()
    mid = milestone(project, due=DUE)
    project.reschedule(mid, LATER, "first slip", actor=ALICE)
    project.rebaseline("plan v2", actor=ALICE)
    latest = LATER + timedelta(days=5)
    project.reschedule(mid, latest, "second slip", actor=ALICE)
    new_events(project)

    project.rebaseline("plan v3", actor=ALICE)

    [event] = new_events(project)
    assert isinstance(event, ProjectRebaselined)
    assert event.previous_baselines == {str(mid): LATER}
    assert event.baselines == {str(mid): latest}


def test_a_rebaseline_never_moves_the_original_baseline() -> None:
    project = new_project()
    mid = milestone(project, due=DUE)
    project.reschedule(mid, LATER, "slip", actor=ALICE)

    project.rebaseline("plan v2", actor=ALICE)

    state = project.milestone(mid)
    assert (state.original_baseline_due, state.baseline_due) == (DUE, LATER)


def test_a_rebaseline_leaves_achieved_and_cancelled_milestones_alone() -> None:
    project = new_project()
    done, _ = achieved(project, due=DUE)
    dropped = cancelled_milestone(project)
    open_one = milestone(project, due=LATER, name="Open")

    project.rebaseline("plan v2", actor=ALICE)

    [event] = new_events(project)
    assert isinstance(event, ProjectRebaselined)
    assert set(event.baselines) == {str(open_one)}
    assert str(done) not in event.previous_baselines
    assert str(dropped) not in event.previous_baselines


def test_a_rebaseline_needs_a_reason() -> None:
    project = new_project()
    milestone(project)

    with pytest.raises(InvalidValueError):
        project.rebaseline("", actor=ALICE)
