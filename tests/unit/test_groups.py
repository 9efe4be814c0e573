"""Named groups in a quorum (R26): given a project's groups and a deliverable's quorum, when
reviewers approve, then the round completes only with N distinct reviewers and a member of
each required group among them."""

from __future__ import annotations

from uuid import UUID

import pytest

from domain.entities import DeliverableState
from domain.errors import InvalidValueError, RuleViolationError
from domain.events import (
    DeliverableApprovalSigned,
    DeliverableApproved,
    DeliverableQuorumSet,
    GroupMembersSet,
    ProjectEvent,
)
from domain.project import Project
from domain.retrospective import retrospective
from domain.roles import ProjectRole

from .helpers import ALICE, BOB, CAROL, draft, new_events, new_project, rules

DAVE, ERIN = "dave", "erin"  # more reviewers


def _project() -> Project:
    """Given: reviewers carol, dave and erin; group QA of erin, group Legal of dave."""
    project = new_project()
    for who in (DAVE, ERIN):
        project.set_member(who, ProjectRole.REVIEWER, actor=ALICE)
    project.set_group("QA", [ERIN], actor=ALICE)
    project.set_group("Legal", [DAVE], actor=ALICE)
    new_events(project)
    return project


def _in_review(project: Project, quorum: int, groups: list[str]) -> UUID:
    did = draft(project)
    project.set_required_approvals(did, quorum, groups, actor=ALICE)
    project.submit(did, actor=BOB)
    new_events(project)
    return did


def test_setting_a_group_records_its_members_and_the_ones_before() -> None:
    project = _project()

    project.set_group("QA", [ERIN, CAROL], actor=ALICE)

    [event] = new_events(project)
    assert isinstance(event, GroupMembersSet)
    assert (event.name, event.members, event.previous_members) == ("QA", [ERIN, CAROL], [ERIN])
    assert project.groups["QA"] == [ERIN, CAROL]


def test_setting_the_same_members_in_another_order_records_nothing() -> None:
    project = _project()
    project.set_group("QA", [ERIN, CAROL], actor=ALICE)
    new_events(project)

    project.set_group("QA", [CAROL, ERIN], actor=ALICE)

    assert new_events(project) == []


def test_a_group_of_a_stranger_is_refused_and_records_nothing() -> None:
    project = _project()

    with pytest.raises(RuleViolationError) as refused:
        project.set_group("QA", [ERIN, "mallory"], actor=ALICE)

    assert rules(refused) == ["R26"]
    assert new_events(project) == []
    assert project.groups["QA"] == [ERIN]


@pytest.mark.parametrize("members", [[], [ERIN, ERIN]])
def test_an_empty_group_or_a_member_twice_is_an_invalid_value(members: list[str]) -> None:
    project = _project()

    with pytest.raises(InvalidValueError):
        project.set_group("QA", members, actor=ALICE)


def test_a_quorum_naming_an_unknown_group_is_refused() -> None:
    project = _project()
    did = draft(project)

    with pytest.raises(RuleViolationError) as refused:
        project.set_required_approvals(did, 1, ["QA", "Ops"], actor=ALICE)

    assert rules(refused) == ["R26"]
    assert project.deliverable(did).required_groups == []


def test_a_quorum_with_groups_records_them_with_the_ones_before() -> None:
    project = _project()
    did = draft(project)

    project.set_required_approvals(did, 2, ["QA"], actor=ALICE)

    [event] = new_events(project)
    assert isinstance(event, DeliverableQuorumSet)
    assert (event.required_groups, event.previous_required_groups) == (["QA"], [])


def test_n_approvals_without_a_required_group_leave_it_in_review() -> None:
    project = _project()
    did = _in_review(project, 2, ["QA"])

    project.approve(did, actor=CAROL)
    project.approve(did, actor=DAVE)

    events = new_events(project)
    assert [type(e) for e in events] == [DeliverableApprovalSigned, DeliverableApprovalSigned]
    assert project.deliverable(did).state is DeliverableState.IN_REVIEW
    assert project.deliverable(did).approvals == [CAROL, DAVE]


def test_the_approval_of_a_missing_groups_member_completes_the_round() -> None:
    project = _project()
    did = _in_review(project, 2, ["QA"])
    project.approve(did, actor=CAROL)
    project.approve(did, actor=DAVE)
    new_events(project)

    project.approve(did, actor=ERIN)

    [event] = new_events(project)
    assert isinstance(event, DeliverableApproved)
    assert (event.signers, event.required_groups) == ([CAROL, DAVE, ERIN], ["QA"])
    assert project.deliverable(did).state is DeliverableState.APPROVED


def test_one_approver_may_stand_for_several_groups_but_the_quorum_still_counts_people() -> None:
    project = _project()
    project.set_group("QA", [DAVE], actor=ALICE)
    did = _in_review(project, 2, ["QA", "Legal"])

    project.approve(did, actor=DAVE)  # both groups represented, one reviewer of two

    assert project.deliverable(did).state is DeliverableState.IN_REVIEW
    project.approve(did, actor=CAROL)
    assert project.deliverable(did).state is DeliverableState.APPROVED


def test_the_submitter_cannot_stand_for_a_group_r5() -> None:
    project = _project()
    project.set_group("QA", [BOB, ERIN], actor=ALICE)
    did = _in_review(project, 1, ["QA"])

    with pytest.raises(RuleViolationError) as refused:
        project.approve(did, actor=BOB)

    assert rules(refused) == ["R5"]
    project.approve(did, actor=ERIN)
    assert project.deliverable(did).state is DeliverableState.APPROVED


def test_required_groups_change_only_on_a_draft() -> None:
    project = _project()
    did = _in_review(project, 1, [])

    with pytest.raises(RuleViolationError) as refused:
        project.set_required_approvals(did, 1, ["QA"], actor=ALICE)

    assert rules(refused) == ["R21"]


def test_the_retrospective_lists_the_rounds_signatures_in_order() -> None:
    project = Project.create(name="Retro", actor=ALICE)
    for who, role in ((BOB, ProjectRole.CONTRIBUTOR), (CAROL, ProjectRole.REVIEWER)):
        project.set_member(who, role, actor=ALICE)
    project.set_member(ERIN, ProjectRole.REVIEWER, actor=ALICE)
    project.set_group("QA", [ERIN], actor=ALICE)
    phase = project.add_phase("Build", actor=ALICE)
    did = project.define_deliverable(title="Spec", phase_id=phase, actor=BOB)
    cid = project.add_criterion(did, "done", actor=BOB)
    project.record_evidence(did, cid, "https://e.example", actor=BOB)
    project.set_required_approvals(did, 1, ["QA"], actor=ALICE)
    project.submit(did, actor=BOB)

    project.approve(did, actor=CAROL, signer_name="Carol Danvers")
    project.approve(did, actor=ERIN)

    events = [e for e in project.collect_events() if isinstance(e, ProjectEvent)]
    [review] = retrospective(events).deliverables
    [round_1] = review.rounds
    assert (round_1.outcome, round_1.signers) == ("approved", [CAROL, ERIN])
    assert [(s.by, s.printed_name, s.meaning) for s in round_1.signatures] == [
        (CAROL, "Carol Danvers", "approval"),
        (ERIN, ERIN, "approval"),
    ]


def test_an_approval_counts_for_the_groups_its_reviewer_was_in_when_it_approved() -> None:
    """Given carol (in no group) approved a round that needs QA, when a manager then puts
    carol into QA and dave (not in QA) approves, then the round stays in review: carol's
    approval was not a QA member's when she gave it."""
    project = _project()
    did = _in_review(project, 2, ["QA"])
    project.approve(did, actor=CAROL)
    project.set_group("QA", [ERIN, CAROL], actor=ALICE)
    new_events(project)

    project.approve(did, actor=DAVE)

    [event] = new_events(project)
    assert isinstance(event, DeliverableApprovalSigned)
    assert project.deliverables[str(did)].state is DeliverableState.IN_REVIEW


def test_a_qa_approval_keeps_counting_after_its_reviewer_leaves_the_group() -> None:
    """Given erin approved as QA's member, when erin leaves QA and dave approves, then the
    round completes: erin was in QA when she approved."""
    project = _project()
    did = _in_review(project, 2, ["QA"])
    project.approve(did, actor=ERIN)
    project.set_group("QA", [CAROL], actor=ALICE)
    new_events(project)

    project.approve(did, actor=DAVE)

    [event] = new_events(project)
    assert isinstance(event, DeliverableApproved)
    assert project.deliverables[str(did)].state is DeliverableState.APPROVED
