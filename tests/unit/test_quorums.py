"""Approval quorums (R21) and the veto (R22): given a deliverable, when reviewers sign, then."""

from __future__ import annotations

from uuid import UUID

import pytest

from domain.entities import DeliverableState, SignatureMeaning
from domain.errors import InvalidValueError, RuleViolationError
from domain.events import (
    DeliverableApprovalSigned,
    DeliverableApproved,
    DeliverableQuorumSet,
    DeliverableRejected,
)
from domain.project import Project
from domain.retrospective import retrospective
from domain.roles import ProjectRole

from .helpers import ALICE, BOB, CAROL, draft, new_events, new_project, rules

DAVE = "dave"  # a second reviewer


def _project() -> Project:
    project = new_project()
    project.set_member(DAVE, ProjectRole.REVIEWER, actor=ALICE)
    new_events(project)
    return project


def _in_review_needing(project: Project, quorum: int) -> UUID:
    did = draft(project)
    project.set_required_approvals(did, quorum, actor=ALICE)
    project.submit(did, actor=BOB)
    new_events(project)
    return did


def test_a_deliverable_needs_one_approval_unless_told_otherwise() -> None:
    project = _project()
    did = draft(project)

    assert project.deliverable(did).required_approvals == 1


def test_setting_a_quorum_on_a_draft_records_it_with_the_one_before() -> None:
    project = _project()
    did = draft(project)

    project.set_required_approvals(did, 2, actor=ALICE)

    [event] = new_events(project)
    assert isinstance(event, DeliverableQuorumSet)
    assert (event.required_approvals, event.previous_required_approvals) == (2, 1)
    assert project.deliverable(did).required_approvals == 2


def test_setting_the_same_quorum_again_records_nothing() -> None:
    project = _project()
    did = draft(project)

    project.set_required_approvals(did, 1, actor=ALICE)

    assert new_events(project) == []


@pytest.mark.parametrize("quorum", [0, -1, 21])
def test_a_quorum_out_of_bounds_is_an_invalid_value(quorum: int) -> None:
    project = _project()
    did = draft(project)

    with pytest.raises(InvalidValueError):
        project.set_required_approvals(did, quorum, actor=ALICE)
    assert new_events(project) == []


def test_the_quorum_of_a_round_under_way_cannot_change() -> None:
    project = _project()
    did = _in_review_needing(project, 2)

    with pytest.raises(RuleViolationError) as refused:
        project.set_required_approvals(did, 1, actor=ALICE)

    assert rules(refused) == ["R21"]
    assert project.deliverable(did).required_approvals == 2
    assert new_events(project) == []


def test_quorum_two_with_one_approval_stays_in_review() -> None:
    project = _project()
    did = _in_review_needing(project, 2)

    project.approve(did, "fine by me", meaning=SignatureMeaning.REVIEW, actor=CAROL)

    [event] = new_events(project)
    assert isinstance(event, DeliverableApprovalSigned)
    assert (event.actor, event.meaning, event.required_approvals) == (CAROL, "review", 2)
    assert event.evidence_digests == [
        {"criterion_id": str(c.id), "artifact": None, "sha256": None}
        for c in project.deliverable(did).criteria.values()
    ]
    deliverable = project.deliverable(did)
    assert deliverable.state is DeliverableState.IN_REVIEW
    assert deliverable.approvals == [CAROL]


def test_the_second_distinct_reviewer_completes_the_quorum_and_the_event_names_both() -> None:
    project = _project()
    did = _in_review_needing(project, 2)
    project.approve(did, actor=CAROL)
    new_events(project)

    project.approve(did, actor=DAVE)

    [event] = new_events(project)
    assert isinstance(event, DeliverableApproved)
    assert (event.signers, event.required_approvals) == ([CAROL, DAVE], 2)
    assert project.deliverable(did).state is DeliverableState.APPROVED
    assert project.deliverable(did).approvals == [CAROL, DAVE]


def test_a_second_approval_by_the_submitter_is_refused() -> None:
    project = _project()
    did = _in_review_needing(project, 2)
    project.approve(did, actor=CAROL)
    new_events(project)

    with pytest.raises(RuleViolationError) as refused:
        project.approve(did, actor=BOB)

    assert rules(refused) == ["R5"]
    assert project.deliverable(did).state is DeliverableState.IN_REVIEW
    assert new_events(project) == []


def test_the_same_reviewer_cannot_approve_twice_in_a_round() -> None:
    project = _project()
    did = _in_review_needing(project, 2)
    project.approve(did, actor=CAROL)
    new_events(project)

    with pytest.raises(RuleViolationError) as refused:
        project.approve(did, actor=CAROL)

    assert rules(refused) == ["R21"]
    assert project.deliverable(did).approvals == [CAROL]
    assert new_events(project) == []


def test_a_veto_resets_the_round() -> None:
    project = _project()
    did = _in_review_needing(project, 2)
    project.approve(did, actor=CAROL)
    new_events(project)

    project.reject(did, "section 3 is wrong", actor=DAVE)

    [event] = new_events(project)
    assert isinstance(event, DeliverableRejected)
    deliverable = project.deliverable(did)
    assert deliverable.state is DeliverableState.DRAFT
    assert deliverable.approvals == []
    # The next round starts from nothing: CAROL's earlier approval does not count.
    project.submit(did, actor=BOB)
    project.approve(did, actor=CAROL)
    assert project.deliverable(did).state is DeliverableState.IN_REVIEW
    project.approve(did, actor=DAVE)
    assert project.deliverable(did).state is DeliverableState.APPROVED


def test_reopening_discards_the_approvals_of_the_round() -> None:
    project = _project()
    did = _in_review_needing(project, 2)
    project.approve(did, actor=CAROL)

    project.reopen_deliverable(did, "scope changed", actor=ALICE)

    assert project.deliverable(did).approvals == []
    assert project.deliverable(did).state is DeliverableState.DRAFT


def test_the_retrospective_shows_each_rounds_signers_and_how_it_ended() -> None:
    project = Project.create(name="Apollo", actor=ALICE)
    phase = project.add_phase("Design", actor=ALICE)
    did = project.define_deliverable(title="Spec", phase_id=phase, actor=BOB)
    cid = project.add_criterion(did, "has a summary", actor=BOB)
    project.record_evidence(did, cid, "https://example.org/spec", actor=BOB)
    project.set_required_approvals(did, 2, actor=ALICE)
    project.submit(did, actor=BOB)
    project.approve(did, actor=CAROL)
    project.reject(did, "missing figures", actor=DAVE)
    project.submit(did, actor=BOB)
    project.approve(did, actor=DAVE)
    project.approve(did, actor=CAROL)

    [review] = retrospective(new_events(project)).deliverables

    assert review.required_approvals == 2
    assert [(r.round, r.signers, r.outcome, r.vetoed_by) for r in review.rounds] == [
        (1, [CAROL], "rejected", DAVE),
        (2, [DAVE, CAROL], "approved", None),
    ]
    assert review.approved_by == CAROL
