"""The retrospective attributes each reschedule's days to their cause: the milestone's own, or
a predecessor's slip (with the chain)."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from domain.project import Project
from domain.retrospective import retrospective

from .helpers import ALICE, DUE, new_events


def test_a_slip_pushed_by_a_predecessor_is_attributed_to_it_with_the_chain() -> None:
    project = Project.create(name="Chain", actor=ALICE)
    phase = project.add_phase("Build", actor=ALICE)

    def milestone(name: str, days: int) -> UUID:
        return project.define_milestone(
            name=name,
            phase_id=phase,
            due=DUE + timedelta(days=days),
            deliverable_ids=[],
            actor=ALICE,
        )

    a, b, c = milestone("A", 0), milestone("B", 5), milestone("C", 20)
    project.add_dependency(b, a, 2, actor=ALICE)
    project.add_dependency(c, b, 10, actor=ALICE)
    project.reschedule(a, DUE + timedelta(days=10), "supplier late", actor=ALICE)
    # B is now forecast at +12: moved to +14, 7 days of it A's, 2 its own.
    project.reschedule(b, DUE + timedelta(days=14), "follows A, and a test rig", actor=ALICE)
    # C is now forecast at +24: moved there, all of it B's doing (B is on its own due date
    # now, so the chain stops at B; B's own causes say how much of that was A's).
    project.reschedule(c, DUE + timedelta(days=24), "follows B", actor=ALICE)

    retro = retrospective(new_events(project))

    shown = {m.name: m for m in retro.milestones}
    assert [(s.cause, s.days, s.chain) for s in shown["A"].slip_causes] == [("reschedule", 10, ())]
    assert [(s.cause, s.days, s.chain) for s in shown["B"].slip_causes] == [
        ("predecessor", 7, (a,)),
        ("reschedule", 2, ()),
    ]
    assert [(s.cause, s.days, s.chain) for s in shown["C"].slip_causes] == [
        ("predecessor", 4, (b,)),
    ]
    for m in retro.milestones:
        assert sum(m.slip_days_by_cause.values()) == m.slip_days_from_original
    assert retro.totals.slip_days_by_cause == {"reschedule": 12, "predecessor": 11}


def test_pulling_a_milestone_in_is_its_own_reschedule() -> None:
    project = Project.create(name="Early", actor=ALICE)
    phase = project.add_phase("Build", actor=ALICE)
    mid = project.define_milestone(
        name="M", phase_id=phase, due=DUE, deliverable_ids=[], actor=ALICE
    )
    project.reschedule(mid, DUE - timedelta(days=3), "ahead of plan", actor=ALICE)

    [m] = retrospective(new_events(project)).milestones

    assert [(s.cause, s.days) for s in m.slip_causes] == [("reschedule", -3)]
