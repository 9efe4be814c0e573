"""Criteria and evidence: recorded on drafts, frozen in review and once approved (R6)."""

from __future__ import annotations

import pytest

from domain.entities import DeliverableState
from domain.errors import EntityNotFoundError, RuleViolationError
from domain.events import CriterionAdded, DeliverableReopened, EvidenceRecorded

from .helpers import (
    ALICE,
    BOB,
    CAROL,
    achieved,
    approved,
    cancelled_deliverable,
    draft,
    in_review,
    milestone,
    names,
    new_events,
    new_project,
    rules,
)

SHA = "a" * 64


def test_a_criterion_is_added_to_a_draft_deliverable_unmet() -> None:
    project = new_project()
    did = draft(project, criteria=0)

    cid = project.add_criterion(did, "includes methodology", actor=BOB)

    [event] = new_events(project)
    assert isinstance(event, CriterionAdded)
    assert (event.deliverable_id, event.criterion_id, event.text) == (
        did,
        cid,
        "includes methodology",
    )
    assert not project.criterion(did, cid).met


def test_recording_evidence_meets_the_criterion_and_says_who_recorded_it() -> None:
    project = new_project()
    did = draft(project, criteria=1, met=False)
    cid = next(iter(project.deliverable(did).criteria.values())).id

    project.record_evidence(did, cid, "https://example.org/report.pdf", SHA, actor=BOB)

    [event] = new_events(project)
    assert isinstance(event, EvidenceRecorded)
    assert (event.criterion_id, event.evidence, event.sha256) == (
        cid,
        "https://example.org/report.pdf",
        SHA,
    )
    evidence = project.criterion(did, cid).evidence
    assert evidence is not None
    assert (evidence.recorded_by, evidence.recorded_at) == (BOB, event.occurred_at)


def test_recording_evidence_again_on_a_draft_replaces_it_keeping_the_earlier_in_history() -> None:
    project = new_project()
    did = draft(project, criteria=1, met=False)
    cid = next(iter(project.deliverable(did).criteria.values())).id
    project.record_evidence(did, cid, "first draft", actor=BOB)

    project.record_evidence(did, cid, "second draft", actor=CAROL)

    first, second = new_events(project)
    assert isinstance(first, EvidenceRecorded)
    assert isinstance(second, EvidenceRecorded)
    assert (first.evidence, second.evidence) == ("first draft", "second draft")
    evidence = project.criterion(did, cid).evidence
    assert evidence is not None
    assert (evidence.evidence, evidence.recorded_by) == ("second draft", CAROL)


def test_evidence_for_an_unknown_criterion_is_not_found() -> None:
    project = new_project()
    did = draft(project)
    other = draft(project, title="Other")
    cid = next(iter(project.deliverable(other).criteria.values())).id

    with pytest.raises(EntityNotFoundError) as excinfo:
        project.record_evidence(did, cid, "x", actor=BOB)

    assert excinfo.value.kind == "criterion"


@pytest.mark.parametrize("state", ["in_review", "approved"])
def test_no_criterion_can_be_added_while_frozen(state: str) -> None:
    project = new_project()
    did = in_review(project) if state == "in_review" else approved(project)

    with pytest.raises(RuleViolationError) as excinfo:
        project.add_criterion(did, "one more thing", actor=BOB)

    assert rules(excinfo) == ["R6"]
    assert excinfo.value.violations[0].details["state"] == state
    assert new_events(project) == []


@pytest.mark.parametrize("state", ["in_review", "approved"])
def test_evidence_cannot_change_while_frozen(state: str) -> None:
    project = new_project()
    did = in_review(project) if state == "in_review" else approved(project)
    criterion = next(iter(project.deliverable(did).criteria.values()))
    before = criterion.evidence

    with pytest.raises(RuleViolationError) as excinfo:
        project.record_evidence(did, criterion.id, "swapped", actor=BOB)

    assert rules(excinfo) == ["R6"]
    assert project.criterion(did, criterion.id).evidence == before


def test_evidence_of_a_cancelled_deliverable_cannot_change() -> None:
    project = new_project()
    did = cancelled_deliverable(project)
    cid = next(iter(project.deliverable(did).criteria.values())).id

    with pytest.raises(RuleViolationError) as excinfo:
        project.record_evidence(did, cid, "late evidence", actor=BOB)

    assert rules(excinfo) == ["R10"]


def test_after_a_reopen_evidence_can_change_again() -> None:
    project = new_project()
    did = approved(project)
    cid = next(iter(project.deliverable(did).criteria.values())).id
    project.reopen_deliverable(did, "new data", actor=ALICE)
    new_events(project)

    project.record_evidence(did, cid, "updated", actor=BOB)

    assert names(new_events(project)) == ["EvidenceRecorded"]


def test_a_deliverable_proving_an_achieved_milestone_cannot_be_reopened() -> None:
    project = new_project()
    mid, did = achieved(project)

    with pytest.raises(RuleViolationError) as excinfo:
        project.reopen_deliverable(did, "new data", actor=ALICE)

    assert rules(excinfo) == ["R6"]
    assert excinfo.value.violations[0].details["milestone_id"] == str(mid)
    assert project.deliverable(did).state is DeliverableState.APPROVED


def test_the_reopen_refusal_lists_every_achieved_milestone_that_links_the_deliverable() -> None:
    project = new_project()
    mid, did = achieved(project)
    second = milestone(project, did, name="M2")
    project.achieve(second, actor=ALICE)
    new_events(project)

    with pytest.raises(RuleViolationError) as excinfo:
        project.reopen_deliverable(did, "new data", actor=ALICE)

    assert {v.details["milestone_id"] for v in excinfo.value.violations} == {
        str(mid),
        str(second),
    }


def test_a_deliverable_can_be_reopened_once_its_milestone_is_reopened() -> None:
    project = new_project()
    mid, did = achieved(project)
    project.reopen_milestone(mid, "evidence was wrong", actor=ALICE)
    new_events(project)

    project.reopen_deliverable(did, "evidence was wrong", actor=ALICE)

    [event] = new_events(project)
    assert isinstance(event, DeliverableReopened)


def test_a_deliverable_linked_only_to_open_milestones_can_be_reopened() -> None:
    project = new_project()
    did = approved(project)
    milestone(project, did)

    project.reopen_deliverable(did, "new data", actor=ALICE)

    assert names(new_events(project)) == ["DeliverableReopened"]
