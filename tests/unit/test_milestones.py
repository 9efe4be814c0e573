"""Milestones: definition, the evidence gate (R3), reopen (R8) and cancel (R10)."""

from __future__ import annotations

from dataclasses import fields

import pytest

from domain.entities import Milestone, MilestoneStatus
from domain.errors import InvalidValueError, RuleViolationError
from domain.events import MilestoneAchieved, MilestoneCancelled, MilestoneDefined, MilestoneReopened

from .helpers import (
    ALICE,
    DUE,
    achieved,
    approved,
    cancelled_deliverable,
    cancelled_milestone,
    draft,
    in_review,
    milestone,
    names,
    new_events,
    new_project,
    phase_id,
    rules,
)


def test_defining_a_milestone_records_its_due_date_as_its_baseline() -> None:
    project = new_project()
    did = draft(project)

    mid = project.define_milestone(
        name="Design done", phase_id=phase_id(project), due=DUE, deliverable_ids=[did], actor=ALICE
    )

    [event] = new_events(project)
    assert isinstance(event, MilestoneDefined)
    assert (event.milestone_id, event.due, event.deliverable_ids) == (mid, DUE, [did])
    state = project.milestone(mid)
    assert (state.due, state.baseline_due, state.original_baseline_due) == (DUE, DUE, DUE)
    assert state.status is MilestoneStatus.NOT_ACHIEVED


def test_a_milestone_may_be_defined_without_deliverables() -> None:
    project = new_project()

    mid = milestone(project)

    assert project.milestone(mid).deliverable_ids == []


def test_a_deliverable_listed_twice_is_linked_once() -> None:
    project = new_project()
    did = draft(project)

    project.define_milestone(
        name="M", phase_id=phase_id(project), due=DUE, deliverable_ids=[did, did], actor=ALICE
    )

    [event] = new_events(project)
    assert isinstance(event, MilestoneDefined)
    assert event.deliverable_ids == [did]


def test_a_milestone_cannot_link_an_unknown_deliverable() -> None:
    project = new_project()
    unknown = draft(new_project())

    with pytest.raises(InvalidValueError) as excinfo:
        milestone(project, unknown)

    assert excinfo.value.field_name == "deliverable_ids"


def test_a_milestone_cannot_be_defined_with_cancelled_deliverables_listing_each() -> None:
    project = new_project()
    first = cancelled_deliverable(project, title="A")
    second = cancelled_deliverable(project, title="B")
    live = draft(project, title="C")

    with pytest.raises(RuleViolationError) as excinfo:
        milestone(project, first, live, second)

    assert rules(excinfo) == ["R9", "R9"]
    assert [v.details["deliverable_id"] for v in excinfo.value.violations] == [
        str(first),
        str(second),
    ]


def test_a_milestone_stores_only_whether_it_is_achieved_never_its_progress_or_health() -> None:
    stored = {f.name for f in fields(Milestone)}

    assert {"status", "achieved_at", "achieved_by"} <= stored
    assert not stored & {"health", "progress", "risk", "percent_complete"}
    assert {s.value for s in MilestoneStatus} == {"not_achieved", "achieved", "cancelled"}


# --- R3 evidence gate ---------------------------------------------------------------------


def test_a_milestone_whose_linked_deliverables_are_all_approved_is_achieved() -> None:
    project = new_project()
    mid = milestone(project, approved(project, title="A"), approved(project, title="B"))

    project.achieve(mid, note="signed off", actor=ALICE)

    [event] = new_events(project)
    assert isinstance(event, MilestoneAchieved)
    assert (event.milestone_id, event.note) == (mid, "signed off")
    state = project.milestone(mid)
    assert state.achieved
    assert (state.achieved_at, state.achieved_by) == (event.occurred_at, ALICE)


def test_a_milestone_without_deliverables_cannot_be_achieved() -> None:
    project = new_project()
    mid = milestone(project)

    with pytest.raises(RuleViolationError) as excinfo:
        project.achieve(mid, actor=ALICE)

    assert rules(excinfo) == ["R3"]
    assert new_events(project) == []


def test_a_milestone_whose_only_deliverables_are_cancelled_cannot_be_achieved() -> None:
    project = new_project()
    did = draft(project)
    mid = milestone(project, did)
    project.cancel_deliverable(did, "descoped", actor=ALICE)
    new_events(project)

    with pytest.raises(RuleViolationError) as excinfo:
        project.achieve(mid, actor=ALICE)

    assert rules(excinfo) == ["R3"]
    assert "not cancelled" in excinfo.value.violations[0].message


def test_milestone_cannot_be_achieved_while_a_deliverable_is_in_review() -> None:
    project = new_project()
    did = in_review(project)
    mid = milestone(project, approved(project, title="Done"), did)

    with pytest.raises(RuleViolationError) as excinfo:
        project.achieve(mid, actor=ALICE)

    [violation] = excinfo.value.violations
    assert violation.rule == "R3"
    assert violation.details == {"deliverable_id": str(did), "state": "in_review"}


def test_the_achievement_refusal_lists_every_blocking_deliverable() -> None:
    project = new_project()
    in_draft = draft(project, title="Draft")
    reviewing = in_review(project, title="Reviewing")
    mid = milestone(project, in_draft, approved(project, title="Done"), reviewing)

    with pytest.raises(RuleViolationError) as excinfo:
        project.achieve(mid, actor=ALICE)

    assert rules(excinfo) == ["R3", "R3"]
    assert [
        (v.details["deliverable_id"], v.details["state"]) for v in excinfo.value.violations
    ] == [
        (str(in_draft), "draft"),
        (str(reviewing), "in_review"),
    ]


def test_a_cancelled_deliverable_does_not_block_achievement() -> None:
    project = new_project()
    dropped = draft(project, title="Dropped")
    mid = milestone(project, approved(project), dropped)
    project.cancel_deliverable(dropped, "descoped", actor=ALICE)
    new_events(project)

    project.achieve(mid, actor=ALICE)

    assert names(new_events(project)) == ["MilestoneAchieved"]


def test_an_achieved_milestone_cannot_be_achieved_again() -> None:
    project = new_project()
    mid, _ = achieved(project)

    with pytest.raises(RuleViolationError) as excinfo:
        project.achieve(mid, actor=ALICE)

    assert rules(excinfo) == ["R3"]


def test_a_cancelled_milestone_cannot_be_achieved() -> None:
    project = new_project()
    mid = cancelled_milestone(project)

    with pytest.raises(RuleViolationError):
        project.achieve(mid, actor=ALICE)


# --- R8 reopen ----------------------------------------------------------------------------


def test_an_achieved_milestone_is_reopened_with_a_reason() -> None:
    project = new_project()
    mid, _ = achieved(project)

    project.reopen_milestone(mid, "evidence was wrong", actor=ALICE)

    [event] = new_events(project)
    assert isinstance(event, MilestoneReopened)
    assert (event.milestone_id, event.reason) == (mid, "evidence was wrong")
    state = project.milestone(mid)
    assert (state.status, state.achieved_at, state.achieved_by) == (
        MilestoneStatus.NOT_ACHIEVED,
        None,
        None,
    )


@pytest.mark.parametrize("reason", ["", "\t\n "])
def test_reopening_a_milestone_needs_a_reason(reason: str) -> None:
    project = new_project()
    mid, _ = achieved(project)

    with pytest.raises(InvalidValueError):
        project.reopen_milestone(mid, reason, actor=ALICE)

    assert project.milestone(mid).achieved


def test_a_milestone_that_is_not_achieved_cannot_be_reopened() -> None:
    project = new_project()
    mid = milestone(project)

    with pytest.raises(RuleViolationError) as excinfo:
        project.reopen_milestone(mid, "why not", actor=ALICE)

    assert rules(excinfo) == ["R8"]


def test_a_cancelled_milestone_cannot_be_reopened() -> None:
    project = new_project()
    mid = cancelled_milestone(project)

    with pytest.raises(RuleViolationError) as excinfo:
        project.reopen_milestone(mid, "revive", actor=ALICE)

    assert rules(excinfo) == ["R8"]


# --- R10 cancel ---------------------------------------------------------------------------


def test_an_open_milestone_is_cancelled_with_a_reason_and_kept() -> None:
    project = new_project()
    mid = milestone(project, name="Kick-off")

    project.cancel_milestone(mid, "descoped", actor=ALICE)

    [event] = new_events(project)
    assert isinstance(event, MilestoneCancelled)
    assert (event.milestone_id, event.reason) == (mid, "descoped")
    assert project.milestone(mid).status is MilestoneStatus.CANCELLED
    assert project.milestone(mid).name == "Kick-off"


def test_an_achieved_milestone_must_be_reopened_before_it_is_cancelled() -> None:
    project = new_project()
    mid, _ = achieved(project)

    with pytest.raises(RuleViolationError) as excinfo:
        project.cancel_milestone(mid, "descoped", actor=ALICE)

    assert rules(excinfo) == ["R10"]
    assert "reopen it first" in excinfo.value.violations[0].message


def test_a_cancelled_milestone_stays_cancelled() -> None:
    project = new_project()
    mid = cancelled_milestone(project)

    with pytest.raises(RuleViolationError) as excinfo:
        project.cancel_milestone(mid, "again", actor=ALICE)

    assert rules(excinfo) == ["R10"]


def test_cancelling_a_milestone_needs_a_reason() -> None:
    project = new_project()
    mid = milestone(project)

    with pytest.raises(InvalidValueError):
        project.cancel_milestone(mid, "", actor=ALICE)


def test_a_deliverable_proving_an_achieved_milestone_cannot_be_cancelled() -> None:
    project = new_project()
    mid, did = achieved(project)

    with pytest.raises(RuleViolationError) as excinfo:
        project.cancel_deliverable(did, "descoped", actor=ALICE)

    assert rules(excinfo) == ["R10"]
    assert excinfo.value.violations[0].details["milestone_id"] == str(mid)


def test_a_cancelled_milestone_does_not_stop_its_deliverable_being_cancelled() -> None:
    project = new_project()
    did = approved(project)
    mid = milestone(project, did)
    project.cancel_milestone(mid, "descoped", actor=ALICE)
    new_events(project)

    project.cancel_deliverable(did, "descoped too", actor=ALICE)

    assert names(new_events(project)) == ["DeliverableCancelled"]
