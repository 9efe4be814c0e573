"""Project membership: roles recorded as events; a project always keeps a manager."""

from __future__ import annotations

import pytest

from domain.errors import EntityNotFoundError, InvalidValueError, RuleViolationError
from domain.events import MemberAdded, MemberRemoved, MemberRoleChanged
from domain.project import Project
from domain.roles import ProjectRole

from .helpers import ALICE, BOB, CAROL, new_events, new_project, rules


def test_the_creator_of_a_project_is_its_manager() -> None:
    project = Project.create(name="Apollo", actor=ALICE)

    assert project.role_of(ALICE) is ProjectRole.MANAGER


def test_adding_a_member_records_its_role() -> None:
    project = new_project()

    project.set_member("dave", ProjectRole.VIEWER, actor=ALICE)

    [event] = new_events(project)
    assert isinstance(event, MemberAdded)
    assert (event.principal, event.role) == ("dave", "viewer")
    assert project.role_of("dave") is ProjectRole.VIEWER


def test_changing_a_members_role_records_the_previous_role() -> None:
    project = new_project()

    project.set_member(BOB, ProjectRole.REVIEWER, actor=ALICE)

    [event] = new_events(project)
    assert isinstance(event, MemberRoleChanged)
    assert (event.principal, event.role, event.previous_role) == (BOB, "reviewer", "contributor")


def test_giving_a_member_the_role_it_has_changes_nothing() -> None:
    project = new_project()

    project.set_member(BOB, ProjectRole.CONTRIBUTOR, actor=ALICE)

    assert new_events(project) == []


def test_removing_a_member_records_it() -> None:
    project = new_project()

    project.remove_member(CAROL, actor=ALICE)

    [event] = new_events(project)
    assert isinstance(event, MemberRemoved)
    assert event.principal == CAROL
    assert project.role_of(CAROL) is None


def test_removing_a_principal_that_is_not_a_member_is_not_found() -> None:
    project = new_project()

    with pytest.raises(EntityNotFoundError) as excinfo:
        project.remove_member("dave", actor=ALICE)

    assert excinfo.value.kind == "member"


def test_the_last_manager_cannot_be_removed() -> None:
    project = new_project()

    with pytest.raises(RuleViolationError) as excinfo:
        project.remove_member(ALICE, actor=ALICE)

    assert rules(excinfo) == ["roles"]
    assert project.role_of(ALICE) is ProjectRole.MANAGER


def test_the_last_manager_cannot_be_demoted() -> None:
    project = new_project()

    with pytest.raises(RuleViolationError) as excinfo:
        project.set_member(ALICE, ProjectRole.REVIEWER, actor=ALICE)

    assert rules(excinfo) == ["roles"]


def test_a_manager_can_step_down_once_another_manager_exists() -> None:
    project = new_project()
    project.set_member(BOB, ProjectRole.MANAGER, actor=ALICE)
    new_events(project)

    project.set_member(ALICE, ProjectRole.VIEWER, actor=ALICE)
    project.remove_member(ALICE, actor=BOB)

    assert [type(e).__name__ for e in new_events(project)] == ["MemberRoleChanged", "MemberRemoved"]
    assert project.role_of(ALICE) is None


@pytest.mark.parametrize("principal", ["", "   ", "x" * 201])
def test_a_member_needs_a_valid_principal_name(principal: str) -> None:
    project = new_project()

    with pytest.raises(InvalidValueError):
        project.set_member(principal, ProjectRole.VIEWER, actor=ALICE)


@pytest.mark.parametrize(
    ("role", "needed", "allowed"),
    [
        (ProjectRole.VIEWER, ProjectRole.CONTRIBUTOR, False),
        (ProjectRole.CONTRIBUTOR, ProjectRole.CONTRIBUTOR, True),
        (ProjectRole.CONTRIBUTOR, ProjectRole.REVIEWER, False),
        (ProjectRole.REVIEWER, ProjectRole.CONTRIBUTOR, True),
        (ProjectRole.MANAGER, ProjectRole.REVIEWER, True),
        (ProjectRole.REVIEWER, ProjectRole.MANAGER, False),
    ],
)
def test_roles_are_cumulative(role: ProjectRole, needed: ProjectRole, allowed: bool) -> None:
    assert role.includes(needed) is allowed
