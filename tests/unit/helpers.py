"""Given-builders for the domain tests: each puts a project into a named state through its commands.

Builders collect the events they cause, so a test's "then" sees only what its "when" produced.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from uuid import UUID

import pytest

from domain import validation
from domain.events import ProjectEvent
from domain.project import Project
from domain.roles import ProjectRole

ALICE = "alice"  # manager
BOB = "bob"  # contributor: defines, submits
CAROL = "carol"  # reviewer: approves, rejects
DUE = date(2026, 12, 15)


@contextmanager
def recorded_before_r15() -> Iterator[None]:
    """Commands take any character again, as before R15 (which refused only U+0000): for the
    events stored then, which must still load and render safely."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(validation, "name_characters", lambda field, value: value)
        patch.setattr(validation, "text_characters", lambda field, value: value)
        yield


def new_events(project: Project) -> list[ProjectEvent]:
    """The project's pending events (and clears them): what the last command did."""
    events = project.collect_events()
    assert all(isinstance(e, ProjectEvent) for e in events)
    return [e for e in events if isinstance(e, ProjectEvent)]


def names(events: Sequence[ProjectEvent]) -> list[str]:
    return [type(e).__name__ for e in events]


def new_project(*, timezone: str = "UTC", risk_window_days: int = 7) -> Project:
    """A project with one phase, ALICE as manager, BOB contributor and CAROL reviewer."""
    project = Project.create(
        name="Apollo", timezone=timezone, risk_window_days=risk_window_days, actor=ALICE
    )
    project.add_phase("Design", actor=ALICE)
    project.set_member(BOB, ProjectRole.CONTRIBUTOR, actor=ALICE)
    project.set_member(CAROL, ProjectRole.REVIEWER, actor=ALICE)
    new_events(project)
    return project


def phase_id(project: Project, index: int = 0) -> UUID:
    return list(project.phases.values())[index].id


def draft(project: Project, *, criteria: int = 1, met: bool = True, title: str = "Spec") -> UUID:
    """A draft deliverable with `criteria` criteria, each with evidence when `met`."""
    did = project.define_deliverable(title=title, phase_id=phase_id(project), actor=BOB)
    for n in range(criteria):
        cid = project.add_criterion(did, f"criterion {n}", actor=BOB)
        if met:
            project.record_evidence(did, cid, f"https://example.org/{title}/{n}", actor=BOB)
    new_events(project)
    return did


def in_review(project: Project, *, title: str = "Spec", submitter: str = BOB) -> UUID:
    did = draft(project, title=title)
    project.submit(did, actor=submitter)
    new_events(project)
    return did


def approved(project: Project, *, title: str = "Spec", reviewer: str = CAROL) -> UUID:
    did = in_review(project, title=title)
    project.approve(did, actor=reviewer)
    new_events(project)
    return did


def cancelled_deliverable(project: Project, *, title: str = "Spec") -> UUID:
    did = draft(project, title=title)
    project.cancel_deliverable(did, "no longer needed", actor=ALICE)
    new_events(project)
    return did


def milestone(project: Project, *deliverable_ids: UUID, due: date = DUE, name: str = "M1") -> UUID:
    mid = project.define_milestone(
        name=name,
        phase_id=phase_id(project),
        due=due,
        deliverable_ids=list(deliverable_ids),
        actor=ALICE,
    )
    new_events(project)
    return mid


def achieved(project: Project, *, due: date = DUE) -> tuple[UUID, UUID]:
    """An achieved milestone proven by one approved deliverable: (milestone id, deliverable id)."""
    did = approved(project)
    mid = milestone(project, did, due=due)
    project.achieve(mid, actor=ALICE)
    new_events(project)
    return mid, did


def cancelled_milestone(project: Project) -> UUID:
    mid = milestone(project)
    project.cancel_milestone(mid, "descoped", actor=ALICE)
    new_events(project)
    return mid


def rules(excinfo: pytest.ExceptionInfo[Exception]) -> list[str]:
    """The rule of every violation a refused command reported."""
    return [v.rule for v in getattr(excinfo.value, "violations", [])]
