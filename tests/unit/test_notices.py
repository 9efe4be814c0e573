"""R20 notices, derived from a project's today: due soon (R12's at risk) and overdue."""

from __future__ import annotations

from datetime import timedelta

from domain.notices import DUE_SOON, OVERDUE, notices

from .helpers import (
    ALICE,
    DUE,
    achieved,
    approved,
    cancelled_milestone,
    draft,
    milestone,
    new_events,
    new_project,
)


def test_a_milestone_due_within_the_window_and_not_achievable_is_due_soon() -> None:
    project = new_project(risk_window_days=7)
    mid = milestone(project, draft(project))

    found = notices(project, DUE - timedelta(days=7))

    assert [(n.kind, n.milestone_id, n.due) for n in found] == [(DUE_SOON, mid, DUE)]


def test_a_milestone_achievable_today_raises_no_notice_before_its_due_date() -> None:
    project = new_project(risk_window_days=7)
    milestone(project, approved(project))

    assert notices(project, DUE - timedelta(days=1)) == []


def test_a_milestone_outside_the_window_raises_no_notice() -> None:
    project = new_project(risk_window_days=7)
    milestone(project, draft(project))

    assert notices(project, DUE - timedelta(days=8)) == []


def test_a_milestone_past_its_due_date_is_overdue_even_when_achievable() -> None:
    project = new_project()
    milestone(project, approved(project))

    assert [n.kind for n in notices(project, DUE + timedelta(days=1))] == [OVERDUE]


def test_achieved_and_cancelled_milestones_raise_nothing() -> None:
    project = new_project()
    achieved(project)
    cancelled_milestone(project)

    assert notices(project, DUE + timedelta(days=30)) == []


def test_a_reschedule_gives_the_notice_a_new_key() -> None:
    project = new_project()
    mid = milestone(project, draft(project))
    before = notices(project, DUE)[0].key
    project.reschedule(mid, DUE + timedelta(days=3), "vendor late", actor=ALICE)
    new_events(project)

    after = notices(project, DUE + timedelta(days=1))[0].key

    assert before == (mid, DUE, DUE_SOON)
    assert after == (mid, DUE + timedelta(days=3), DUE_SOON)
