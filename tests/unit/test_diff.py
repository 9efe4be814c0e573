"""The diff between two versions: what was added, removed and changed, and by which events."""

from __future__ import annotations

from copy import deepcopy
from datetime import timedelta

from domain.diff import diff
from domain.project import Project

from .helpers import ALICE, DUE, draft, milestone, new_events, new_project


def test_a_reschedule_is_a_changed_due_date_with_its_reason() -> None:
    project = new_project()
    mid = milestone(project, name="Handover")
    before = deepcopy(project)

    project.reschedule(mid, DUE + timedelta(days=3), "supplier late", actor=ALICE)
    [change] = diff(before, new_events(project))

    assert (change.kind, change.id, change.name, change.change) == (
        "milestone",
        str(mid),
        "Handover",
        "changed",
    )
    assert [(f.field, f.old, f.new) for f in change.fields] == [
        ("due", DUE.isoformat(), (DUE + timedelta(days=3)).isoformat())
    ]
    [cause] = change.causes
    assert (cause.type, cause.actor, cause.reason) == (
        "MilestoneRescheduled",
        ALICE,
        "supplier late",
    )


def test_added_and_removed_links_and_dependencies_are_listed() -> None:
    project = new_project()
    did = draft(project, title="Report")
    first, second = milestone(project, did, name="First"), milestone(project, name="Second")
    before = deepcopy(project)

    project.unlink(first, did, actor=ALICE)
    project.add_dependency(second, first, 2, actor=ALICE)
    changes = diff(before, new_events(project))

    assert [(c.kind, c.change, c.name) for c in changes] == [
        ("link", "removed", "First ↔ Report"),
        ("dependency", "added", "Second after First"),
    ]
    assert [(f.field, f.old, f.new) for f in changes[1].fields] == [("lag_days", None, 2)]


def test_a_change_undone_between_the_two_versions_is_not_listed() -> None:
    project = new_project()
    mid = milestone(project)
    before = deepcopy(project)

    project.reschedule(mid, DUE + timedelta(days=3), "maybe", actor=ALICE)
    project.reschedule(mid, DUE, "no", actor=ALICE)

    assert diff(before, new_events(project)) == []


def test_from_before_the_project_existed_everything_is_added() -> None:
    project = Project.create(name="Fresh", actor=ALICE)
    phase = project.add_phase("Design", actor=ALICE)
    did = project.define_deliverable(title="Spec", phase_id=phase, actor=ALICE)
    project.add_criterion(did, "has a summary", actor=ALICE)
    project.define_milestone(
        name="Done", phase_id=phase, due=DUE, deliverable_ids=[did], actor=ALICE
    )

    changes = diff(None, new_events(project))

    assert [(c.kind, c.change) for c in changes] == [
        ("milestone", "added"),
        ("deliverable", "added"),
        ("criterion", "added"),
        ("link", "added"),
    ]
    assert all(f.old is None for c in changes for f in c.fields)
