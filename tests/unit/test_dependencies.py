"""Dependencies between milestones: finish-to-finish with a lag (R16), no cycle (R16), and a
milestone waiting for its open predecessors (R17)."""

from __future__ import annotations

from copy import deepcopy
from itertools import pairwise
from uuid import UUID

import pytest

from domain.errors import EntityNotFoundError, InvalidValueError, RuleViolationError
from domain.events import (
    MilestoneDependencyAdded,
    MilestoneDependencyLagChanged,
    MilestoneDependencyRemoved,
)
from domain.project import Project
from domain.rules import dependency_cycle

from .helpers import ALICE, approved, milestone, names, new_events, new_project, rules


def ready(project: Project, name: str) -> UUID:
    """An open milestone that R3 would let be achieved (one approved deliverable)."""
    return milestone(project, approved(project, title=f"{name} proof"), name=name)


def test_a_dependency_records_its_predecessor_and_lag() -> None:
    project = new_project()
    design, build = ready(project, "Design"), ready(project, "Build")

    project.add_dependency(build, design, 3, actor=ALICE)

    [event] = new_events(project)
    assert isinstance(event, MilestoneDependencyAdded)
    assert (event.milestone_id, event.predecessor_id, event.lag_days) == (build, design, 3)
    assert project.milestone(build).predecessors == {str(design): 3}


def test_setting_a_dependency_again_with_another_lag_changes_only_its_lag() -> None:
    project = new_project()
    design, build = ready(project, "Design"), ready(project, "Build")
    project.add_dependency(build, design, 3, actor=ALICE)
    new_events(project)

    project.add_dependency(build, design, 3, actor=ALICE)
    assert new_events(project) == []
    project.add_dependency(build, design, 5, actor=ALICE)

    [event] = new_events(project)
    assert isinstance(event, MilestoneDependencyLagChanged)
    assert (event.lag_days, event.previous_lag_days) == (5, 3)
    assert project.milestone(build).predecessors == {str(design): 5}


def test_removing_a_dependency_releases_the_milestone() -> None:
    project = new_project()
    design, build = ready(project, "Design"), ready(project, "Build")
    project.add_dependency(build, design, actor=ALICE)
    new_events(project)

    project.remove_dependency(build, design, actor=ALICE)
    project.remove_dependency(build, design, actor=ALICE)  # nothing left to remove

    assert names(new_events(project)) == ["MilestoneDependencyRemoved"]
    project.achieve(build, actor=ALICE)
    assert project.milestone(build).achieved


def test_a_lag_outside_0_to_365_days_is_refused() -> None:
    project = new_project()
    design, build = ready(project, "Design"), ready(project, "Build")

    for lag in (-1, 366):
        with pytest.raises(InvalidValueError, match="lag_days"):
            project.add_dependency(build, design, lag, actor=ALICE)

    assert new_events(project) == []


def test_a_predecessor_from_another_project_is_not_found() -> None:
    project, other = new_project(), new_project()
    build, elsewhere = ready(project, "Build"), ready(other, "Elsewhere")

    with pytest.raises(EntityNotFoundError):
        project.add_dependency(build, elsewhere, actor=ALICE)


def test_a_milestone_cannot_depend_on_itself() -> None:
    project = new_project()
    design = ready(project, "Design")

    with pytest.raises(RuleViolationError) as refused:
        project.add_dependency(design, design, actor=ALICE)

    assert rules(refused) == ["R16"]
    assert refused.value.violations[0].details["cycle"] == [str(design), str(design)]


def test_a_dependency_that_closes_a_cycle_is_refused_naming_the_cycle() -> None:
    project = new_project()
    a, b, c = ready(project, "A"), ready(project, "B"), ready(project, "C")
    project.add_dependency(b, a, actor=ALICE)
    project.add_dependency(c, b, actor=ALICE)
    new_events(project)

    with pytest.raises(RuleViolationError) as refused:
        project.add_dependency(a, c, actor=ALICE)

    assert rules(refused) == ["R16"]
    [violation] = refused.value.violations
    assert violation.details["cycle"] == [str(a), str(c), str(b), str(a)]
    assert "'A' → 'C' → 'B' → 'A'" in violation.message
    assert new_events(project) == []


def test_a_long_cycle_is_refused_and_a_long_chain_is_not() -> None:
    project = new_project()
    chain = [ready(project, f"M{n}") for n in range(300)]
    for earlier, later in pairwise(chain):
        project.add_dependency(later, earlier, actor=ALICE)
    new_events(project)

    with pytest.raises(RuleViolationError) as refused:
        project.add_dependency(chain[0], chain[-1], actor=ALICE)

    cycle = refused.value.violations[0].details["cycle"]
    assert cycle == [str(chain[0]), *(str(m) for m in reversed(chain[1:])), str(chain[0])]
    project.add_dependency(chain[-1], chain[0], actor=ALICE)  # a shortcut closes no cycle
    assert names(new_events(project)) == ["MilestoneDependencyAdded"]


def test_the_cycle_search_finds_a_cycle_through_a_diamond() -> None:
    graph = {"d": {"b": 0, "c": 0}, "b": {"a": 0}, "c": {"a": 0}}

    assert dependency_cycle(graph, "a", "d") in (["a", "d", "b", "a"], ["a", "d", "c", "a"])
    assert dependency_cycle(graph, "d", "a") == []


def test_a_milestone_cannot_be_achieved_while_a_predecessor_is_open() -> None:
    project = new_project()
    design, build = ready(project, "Design"), ready(project, "Build")
    project.add_dependency(build, design, actor=ALICE)
    new_events(project)

    with pytest.raises(RuleViolationError) as refused:
        project.achieve(build, actor=ALICE)

    assert rules(refused) == ["R17"]
    [violation] = refused.value.violations
    assert violation.details["predecessor_id"] == str(design)
    assert "'Design'" in violation.message
    assert not project.milestone(build).achieved


def test_achieving_the_predecessor_first_lets_the_milestone_be_achieved() -> None:
    project = new_project()
    design, build = ready(project, "Design"), ready(project, "Build")
    project.add_dependency(build, design, actor=ALICE)

    project.achieve(design, actor=ALICE)
    project.achieve(build, actor=ALICE)

    assert project.milestone(build).achieved


def test_cancelling_a_predecessor_releases_its_successor() -> None:
    project = new_project()
    design, build = ready(project, "Design"), ready(project, "Build")
    project.add_dependency(build, design, actor=ALICE)

    project.cancel_milestone(design, "descoped", actor=ALICE)
    project.achieve(build, actor=ALICE)

    assert project.milestone(build).achieved


def test_a_cancelled_milestone_cannot_become_a_predecessor() -> None:
    project = new_project()
    design, build = ready(project, "Design"), ready(project, "Build")
    project.cancel_milestone(design, "descoped", actor=ALICE)

    with pytest.raises(RuleViolationError) as refused:
        project.add_dependency(build, design, actor=ALICE)

    assert rules(refused) == ["R16"]


def test_dependencies_of_an_achieved_milestone_cannot_change() -> None:
    project = new_project()
    design, build = ready(project, "Design"), ready(project, "Build")
    project.achieve(build, actor=ALICE)

    with pytest.raises(RuleViolationError) as refused:
        project.add_dependency(build, design, actor=ALICE)

    assert rules(refused) == ["R16"]


def test_a_predecessor_of_an_achieved_milestone_cannot_be_reopened() -> None:
    project = new_project()
    design, build = ready(project, "Design"), ready(project, "Build")
    project.add_dependency(build, design, actor=ALICE)
    project.achieve(design, actor=ALICE)
    project.achieve(build, actor=ALICE)
    new_events(project)
    before = deepcopy(project)

    with pytest.raises(RuleViolationError) as refused:
        project.reopen_milestone(design, "found a flaw", actor=ALICE)

    assert rules(refused) == ["R17"]
    assert refused.value.violations[0].details["successor_id"] == str(build)
    assert project == before
    project.reopen_milestone(build, "found a flaw upstream", actor=ALICE)
    project.reopen_milestone(design, "found a flaw", actor=ALICE)
    assert not project.milestone(design).achieved


def test_a_removed_dependency_leaves_no_predecessor() -> None:
    project = new_project()
    design, build = ready(project, "Design"), ready(project, "Build")
    project.add_dependency(build, design, 2, actor=ALICE)
    project.remove_dependency(build, design, actor=ALICE)

    events = new_events(project)

    assert isinstance(events[-1], MilestoneDependencyRemoved)
    assert project.milestone(build).predecessors == {}
