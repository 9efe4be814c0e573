"""Links between milestones and the deliverables that prove them (R9)."""

from __future__ import annotations

import pytest

from domain.errors import EntityNotFoundError, RuleViolationError
from domain.events import DeliverableLinked, DeliverableUnlinked

from .helpers import (
    ALICE,
    achieved,
    approved,
    cancelled_deliverable,
    cancelled_milestone,
    draft,
    milestone,
    new_events,
    new_project,
    rules,
)


def test_linking_a_deliverable_to_an_open_milestone_records_the_link() -> None:
    project = new_project()
    did = draft(project)
    mid = milestone(project)

    project.link(mid, did, actor=ALICE)

    [event] = new_events(project)
    assert isinstance(event, DeliverableLinked)
    assert (event.milestone_id, event.deliverable_id) == (mid, did)
    assert project.milestone(mid).deliverable_ids == [did]


def test_a_deliverable_may_prove_several_milestones() -> None:
    project = new_project()
    did = draft(project)
    first = milestone(project, did, name="M1")
    second = milestone(project, name="M2")

    project.link(second, did, actor=ALICE)

    assert {m.id for m in project.milestones_linking(did)} == {first, second}


def test_linking_what_is_already_linked_changes_nothing() -> None:
    project = new_project()
    did = draft(project)
    mid = milestone(project, did)

    project.link(mid, did, actor=ALICE)

    assert new_events(project) == []
    assert project.milestone(mid).deliverable_ids == [did]


def test_unlinking_removes_the_link() -> None:
    project = new_project()
    did = draft(project)
    mid = milestone(project, did)

    project.unlink(mid, did, actor=ALICE)

    [event] = new_events(project)
    assert isinstance(event, DeliverableUnlinked)
    assert (event.milestone_id, event.deliverable_id) == (mid, did)
    assert project.milestone(mid).deliverable_ids == []


def test_unlinking_what_is_not_linked_changes_nothing() -> None:
    project = new_project()
    did = draft(project)
    mid = milestone(project)

    project.unlink(mid, did, actor=ALICE)

    assert new_events(project) == []


def test_a_cancelled_deliverable_cannot_be_linked() -> None:
    project = new_project()
    did = cancelled_deliverable(project)
    mid = milestone(project)

    with pytest.raises(RuleViolationError) as excinfo:
        project.link(mid, did, actor=ALICE)

    assert rules(excinfo) == ["R9"]
    assert new_events(project) == []


def test_a_cancelled_deliverable_can_be_unlinked_from_an_open_milestone() -> None:
    project = new_project()
    did = draft(project)
    mid = milestone(project, did)
    project.cancel_deliverable(did, "descoped", actor=ALICE)
    new_events(project)

    project.unlink(mid, did, actor=ALICE)

    assert project.milestone(mid).deliverable_ids == []


def test_no_deliverable_can_be_linked_to_an_achieved_milestone() -> None:
    project = new_project()
    mid, _ = achieved(project)
    other = approved(project, title="Other")

    with pytest.raises(RuleViolationError) as excinfo:
        project.link(mid, other, actor=ALICE)

    assert rules(excinfo) == ["R9"]
    assert excinfo.value.violations[0].details["status"] == "achieved"


def test_no_deliverable_can_be_unlinked_from_an_achieved_milestone() -> None:
    project = new_project()
    mid, did = achieved(project)

    with pytest.raises(RuleViolationError) as excinfo:
        project.unlink(mid, did, actor=ALICE)

    assert rules(excinfo) == ["R9"]
    assert project.milestone(mid).deliverable_ids == [did]


def test_no_deliverable_can_be_linked_to_a_cancelled_milestone() -> None:
    project = new_project()
    did = draft(project)
    mid = cancelled_milestone(project)

    with pytest.raises(RuleViolationError) as excinfo:
        project.link(mid, did, actor=ALICE)

    assert rules(excinfo) == ["R9"]
    assert excinfo.value.violations[0].details["status"] == "cancelled"


def test_no_deliverable_can_be_unlinked_from_a_cancelled_milestone() -> None:
    project = new_project()
    did = draft(project)
    mid = milestone(project, did)
    project.cancel_milestone(mid, "descoped", actor=ALICE)
    new_events(project)

    with pytest.raises(RuleViolationError) as excinfo:
        project.unlink(mid, did, actor=ALICE)

    assert rules(excinfo) == ["R9"]


def test_relinking_an_achieved_milestones_own_deliverable_changes_nothing() -> None:
    project = new_project()
    mid, did = achieved(project)

    project.link(mid, did, actor=ALICE)

    assert new_events(project) == []


def test_linking_to_an_unknown_milestone_is_not_found() -> None:
    project = new_project()
    did = draft(project)
    unknown = milestone(new_project())

    with pytest.raises(EntityNotFoundError) as excinfo:
        project.link(unknown, did, actor=ALICE)

    assert excinfo.value.kind == "milestone"
