"""R19: named baselines, and the slip of each milestone against any of them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.baselines import baselines, named, slip_against
from domain.errors import InvalidValueError, RuleViolationError
from domain.events import ProjectRebaselined

from .helpers import ALICE, DUE, milestone, new_events, new_project, rules


def test_a_rebaseline_is_saved_under_its_name_with_its_reason() -> None:
    project = new_project()
    mid = milestone(project)

    project.rebaseline("contract signed", name="Contract", actor=ALICE)

    [event] = new_events(project)
    assert isinstance(event, ProjectRebaselined)
    assert (event.name, event.reason, event.baselines) == (
        "Contract",
        "contract signed",
        {str(mid): DUE},
    )
    assert project.baseline_versions == {"Contract": project.version}


def test_a_baseline_name_is_the_projects_only_one_whatever_the_case() -> None:
    project = new_project()
    milestone(project)
    project.rebaseline("first", name="Q3 plan", actor=ALICE)
    new_events(project)

    with pytest.raises(RuleViolationError) as refused:
        project.rebaseline("again", name="q3 PLAN", actor=ALICE)

    assert rules(refused) == ["R19"]
    assert new_events(project) == []


def test_a_baseline_name_is_a_name() -> None:
    project = new_project()

    with pytest.raises(InvalidValueError, match="name"):
        project.rebaseline("why", name="  ", actor=ALICE)


def test_slip_is_reported_against_any_named_baseline() -> None:
    project = new_project()
    mid = milestone(project)
    project.rebaseline("signed", name="Contract", actor=ALICE)
    project.reschedule(mid, DUE + timedelta(days=4), "late supplier", actor=ALICE)
    project.rebaseline("replanned", name="Replan", actor=ALICE)
    project.reschedule(mid, DUE + timedelta(days=6), "rework", actor=ALICE)
    found = baselines(new_events(project))

    contract, replan = named(found, "contract"), named(found, "Replan")

    assert contract is not None
    assert replan is not None
    due_now = project.milestone(mid).due
    assert [slip_against(e, due_now) for e in contract.entries] == [6]
    assert [slip_against(e, due_now) for e in replan.entries] == [2]
    assert project.milestone(mid).slip_days == 2  # the current baseline is the last one
    assert named(found, "nothing") is None
