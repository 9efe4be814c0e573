"""Deliverables: definition, edits, submission (R4), review (R5), reopen and cancel (R10)."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

import pytest

from domain.entities import DeliverableKind, DeliverableState
from domain.errors import EntityNotFoundError, InvalidValueError, RuleViolationError
from domain.events import (
    DeliverableApproved,
    DeliverableCancelled,
    DeliverableDefined,
    DeliverableRejected,
    DeliverableReopened,
    DeliverableSubmitted,
)
from domain.project import Project

from .helpers import (
    ALICE,
    BOB,
    CAROL,
    approved,
    cancelled_deliverable,
    draft,
    in_review,
    names,
    new_events,
    new_project,
    phase_id,
    rules,
)


def test_defining_a_deliverable_records_it_as_a_draft_in_its_phase() -> None:
    project = new_project()

    did = project.define_deliverable(
        title="Design report",
        phase_id=phase_id(project),
        kind=DeliverableKind.REPORT,
        owner=BOB,
        actor=BOB,
    )

    [event] = new_events(project)
    assert isinstance(event, DeliverableDefined)
    assert (event.deliverable_id, event.title, event.kind, event.owner) == (
        did,
        "Design report",
        "report",
        BOB,
    )
    assert project.deliverable(did).state is DeliverableState.DRAFT


def test_a_deliverable_cannot_be_defined_in_an_unknown_phase() -> None:
    project = new_project()
    other = new_project()

    with pytest.raises(InvalidValueError) as excinfo:
        project.define_deliverable(title="X", phase_id=phase_id(other), actor=BOB)

    assert excinfo.value.field_name == "phase_id"
    assert new_events(project) == []


def test_an_unknown_deliverable_is_not_found() -> None:
    project = new_project()
    other = new_project()
    did = draft(other)

    with pytest.raises(EntityNotFoundError):
        project.submit(did, actor=BOB)


def test_an_edit_records_one_named_event_per_field_that_changes() -> None:
    project = new_project()
    did = draft(project)

    project.update_deliverable(
        did,
        title="Spec v2",
        description="longer",
        owner=CAROL,
        kind=DeliverableKind.DOCUMENT,
        actor=BOB,
    )

    assert names(new_events(project)) == [
        "DeliverableRetitled",
        "DeliverableDescribed",
        "DeliverableOwnerAssigned",
        "DeliverableKindChanged",
    ]


def test_an_edit_that_changes_nothing_records_no_event() -> None:
    project = new_project()
    did = draft(project, title="Spec")

    project.update_deliverable(did, title="Spec", kind=DeliverableKind.OTHER, actor=BOB)

    assert new_events(project) == []


def test_moving_a_deliverable_to_another_phase_is_its_own_event() -> None:
    project = new_project()
    project.add_phase("Build", actor=ALICE)
    new_events(project)
    did = draft(project)

    project.update_deliverable(did, phase_id=phase_id(project, 1), actor=BOB)

    assert names(new_events(project)) == ["DeliverableMovedToPhase"]
    assert project.deliverable(did).phase_id == phase_id(project, 1)


def test_a_cancelled_deliverable_cannot_be_edited() -> None:
    project = new_project()
    did = cancelled_deliverable(project)

    with pytest.raises(RuleViolationError) as excinfo:
        project.update_deliverable(did, title="Revived", actor=BOB)

    assert rules(excinfo) == ["R10"]


# --- R4 submission gate -------------------------------------------------------------------


def test_a_deliverable_with_every_criterion_met_can_be_submitted() -> None:
    project = new_project()
    did = draft(project, criteria=2)

    project.submit(did, note="ready", actor=BOB)

    [event] = new_events(project)
    assert isinstance(event, DeliverableSubmitted)
    assert (event.deliverable_id, event.note, event.actor) == (did, "ready", BOB)
    assert project.deliverable(did).state is DeliverableState.IN_REVIEW


def test_a_deliverable_without_criteria_cannot_be_submitted() -> None:
    project = new_project()
    did = draft(project, criteria=0)

    with pytest.raises(RuleViolationError) as excinfo:
        project.submit(did, actor=BOB)

    assert rules(excinfo) == ["R4"]
    assert new_events(project) == []


def test_submission_is_refused_listing_every_criterion_without_evidence() -> None:
    project = new_project()
    did = draft(project, criteria=3, met=False)
    met = next(iter(project.deliverable(did).criteria.values()))
    project.record_evidence(did, met.id, "https://example.org/one", actor=BOB)
    new_events(project)

    with pytest.raises(RuleViolationError) as excinfo:
        project.submit(did, actor=BOB)

    assert rules(excinfo) == ["R4", "R4"]
    unmet = {v.details["criterion_id"] for v in excinfo.value.violations}
    assert str(met.id) not in unmet


def test_a_deliverable_in_review_cannot_be_submitted_again() -> None:
    project = new_project()
    did = in_review(project)

    with pytest.raises(RuleViolationError) as excinfo:
        project.submit(did, actor=BOB)

    assert rules(excinfo) == ["R4"]


def test_a_cancelled_deliverable_cannot_be_submitted() -> None:
    project = new_project()
    did = cancelled_deliverable(project)

    with pytest.raises(RuleViolationError):
        project.submit(did, actor=BOB)


# --- R5 review ----------------------------------------------------------------------------


def test_a_reviewer_other_than_the_submitter_approves_a_deliverable_in_review() -> None:
    project = new_project()
    did = in_review(project, submitter=BOB)

    project.approve(did, comment="fine", actor=CAROL)

    [event] = new_events(project)
    assert isinstance(event, DeliverableApproved)
    assert (event.deliverable_id, event.comment, event.actor) == (did, "fine", CAROL)
    assert project.deliverable(did).state is DeliverableState.APPROVED


def test_the_submitter_cannot_approve_its_own_deliverable() -> None:
    project = new_project()
    did = in_review(project, submitter=BOB)

    with pytest.raises(RuleViolationError) as excinfo:
        project.approve(did, actor=BOB)

    assert rules(excinfo) == ["R5"]
    assert "separation of duties" in excinfo.value.violations[0].message


def test_the_submitter_cannot_reject_its_own_deliverable() -> None:
    project = new_project()
    did = in_review(project, submitter=BOB)

    with pytest.raises(RuleViolationError) as excinfo:
        project.reject(did, "not good enough", actor=BOB)

    assert rules(excinfo) == ["R5"]


def test_separation_of_duties_follows_the_latest_submitter() -> None:
    project = new_project()
    did = in_review(project, submitter=BOB)
    project.reject(did, "missing figures", actor=CAROL)
    project.submit(did, actor=CAROL)
    new_events(project)

    project.approve(did, actor=BOB)

    assert names(new_events(project)) == ["DeliverableApproved"]


def test_a_draft_deliverable_cannot_be_approved() -> None:
    project = new_project()
    did = draft(project)

    with pytest.raises(RuleViolationError) as excinfo:
        project.approve(did, actor=CAROL)

    assert rules(excinfo) == ["R5"]


def test_an_approved_deliverable_cannot_be_approved_again() -> None:
    project = new_project()
    did = approved(project)

    with pytest.raises(RuleViolationError) as excinfo:
        project.approve(did, actor=ALICE)

    assert rules(excinfo) == ["R5"]


def test_an_approved_deliverable_cannot_be_rejected() -> None:
    project = new_project()
    did = approved(project)

    with pytest.raises(RuleViolationError) as excinfo:
        project.reject(did, "changed my mind", actor=ALICE)

    assert rules(excinfo) == ["R5"]


def test_rejection_returns_the_deliverable_to_draft_with_its_reason() -> None:
    project = new_project()
    did = in_review(project)

    project.reject(did, "missing figures", actor=CAROL)

    [event] = new_events(project)
    assert isinstance(event, DeliverableRejected)
    assert (event.deliverable_id, event.reason) == (did, "missing figures")
    assert project.deliverable(did).state is DeliverableState.DRAFT


@pytest.mark.parametrize("reason", ["", "   "])
def test_rejection_needs_a_reason(reason: str) -> None:
    project = new_project()
    did = in_review(project)

    with pytest.raises(InvalidValueError) as excinfo:
        project.reject(did, reason, actor=CAROL)

    assert excinfo.value.field_name == "reason"
    assert project.deliverable(did).state is DeliverableState.IN_REVIEW


def test_each_submission_counts_a_review_round() -> None:
    project = new_project()
    did = in_review(project)
    project.reject(did, "missing figures", actor=CAROL)
    project.submit(did, actor=BOB)

    assert project.deliverable(did).review_rounds == 2


# --- reopen -------------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["in_review", "approved"])
def test_a_manager_reopens_a_deliverable_back_to_draft_with_a_reason(state: str) -> None:
    project = new_project()
    did = in_review(project) if state == "in_review" else approved(project)

    project.reopen_deliverable(did, "scope changed", actor=ALICE)

    [event] = new_events(project)
    assert isinstance(event, DeliverableReopened)
    assert (event.deliverable_id, event.reason, event.actor) == (did, "scope changed", ALICE)
    assert project.deliverable(did).state is DeliverableState.DRAFT


def test_a_draft_deliverable_cannot_be_reopened() -> None:
    project = new_project()
    did = draft(project)

    with pytest.raises(RuleViolationError) as excinfo:
        project.reopen_deliverable(did, "why not", actor=ALICE)

    assert rules(excinfo) == ["R6"]


def test_reopening_a_deliverable_needs_a_reason() -> None:
    project = new_project()
    did = approved(project)

    with pytest.raises(InvalidValueError):
        project.reopen_deliverable(did, " ", actor=ALICE)


# --- R10 cancel ---------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["draft", "in_review", "approved"])
def test_a_deliverable_not_proving_an_achieved_milestone_can_be_cancelled(state: str) -> None:
    project = new_project()
    given: dict[str, Callable[[Project], UUID]] = {
        "draft": draft,
        "in_review": in_review,
        "approved": approved,
    }
    did = given[state](project)

    project.cancel_deliverable(did, "descoped", actor=ALICE)

    [event] = new_events(project)
    assert isinstance(event, DeliverableCancelled)
    assert (event.deliverable_id, event.reason) == (did, "descoped")
    assert project.deliverable(did).state is DeliverableState.CANCELLED


def test_cancelling_keeps_the_deliverable_in_the_project() -> None:
    project = new_project()
    did = cancelled_deliverable(project, title="Old plan")

    assert project.deliverable(did).title == "Old plan"


def test_a_cancelled_deliverable_stays_cancelled() -> None:
    project = new_project()
    did = cancelled_deliverable(project)

    with pytest.raises(RuleViolationError) as excinfo:
        project.cancel_deliverable(did, "again", actor=ALICE)

    assert rules(excinfo) == ["R10"]


def test_a_cancelled_deliverable_cannot_be_reopened() -> None:
    project = new_project()
    did = cancelled_deliverable(project)

    with pytest.raises(RuleViolationError):
        project.reopen_deliverable(did, "revive", actor=ALICE)


def test_cancelling_a_deliverable_needs_a_reason() -> None:
    project = new_project()
    did = draft(project)

    with pytest.raises(InvalidValueError):
        project.cancel_deliverable(did, "", actor=ALICE)
