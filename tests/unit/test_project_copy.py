"""The copy a command works on: equal to `copy.deepcopy`'s, and independent of the original.

`Project.__deepcopy__` is written out for speed (the generic deepcopy was most of a command's
CPU time), and copies on write: deliverables and milestones stay shared until an event changes
one (issue 18: a command's cost must not grow with the project). These tests hold it to the
generic copy's result and to independence in both directions: commands on the copy leave the
original as it was, and events applied to the original (the cache's fast-forward) leave the copy.
"""

from __future__ import annotations

import copy
import dataclasses
import random
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from domain.entities import DeliverableKind, GateDecisionKind
from domain.project import Project
from domain.roles import ProjectRole

MANAGER, REVIEWER = "manager", "reviewer"


def _grown(cycles: int = 6) -> Project:
    """A project with every kind of entity and state: criteria, evidence, reviews, links."""
    rng = random.Random(5)
    project = Project.create(name="Copy me", actor=MANAGER)
    project.set_member(REVIEWER, ProjectRole.REVIEWER, actor=MANAGER)
    project.set_group("QA", [REVIEWER], actor=MANAGER)  # R26: groups are copied too
    phase = project.add_phase("Build", actor=MANAGER)
    for n in range(cycles):
        did = project.define_deliverable(
            title=f"D{n}", phase_id=phase, kind=DeliverableKind.REPORT, actor=MANAGER
        )
        cids = [project.add_criterion(did, f"c{i}", actor=MANAGER) for i in range(2)]
        for cid in cids:
            project.record_evidence(did, cid, f"https://e.example/{n}/{cid}", actor=MANAGER)
        mid = project.define_milestone(
            name=f"M{n}",
            phase_id=phase,
            due=date(2031, 1, 1) + timedelta(days=n),
            deliverable_ids=[did],
            actor=MANAGER,
        )
        if n % 2:
            project.set_required_approvals(did, 1, ["QA"], actor=MANAGER)
        if rng.random() < 0.7:
            project.submit(did, actor=MANAGER)
            project.approve(did, actor=REVIEWER)
            project.achieve(mid, actor=MANAGER)
    # Phase gates: an ordered phase with an exit gate, a conditional decision, a closed condition.
    test = project.add_phase("Test", actor=MANAGER)
    project.reorder_phases([test, phase], actor=MANAGER)
    project.set_exit_gate(phase, True, actor=MANAGER)
    project.decide_gate(
        phase, GateDecisionKind.CONDITIONAL, [REVIEWER], "review", ["c1", "c2"], actor=MANAGER
    )
    decision = project.phase(phase).decision
    assert decision is not None
    first = next(iter(decision.conditions.values()))
    project.close_gate_condition(phase, first.id, "done", actor=MANAGER)
    project.collect_events()
    return project


def _state(value: Any) -> Any:
    """Plain data for comparing two projects (entities as dicts, containers recursively)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _state(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {key: _state(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_state(item) for item in value]
    return value


def _project_state(project: Project) -> dict[str, Any]:
    return {name: _state(value) for name, value in vars(project).items()}


def test_the_copy_equals_what_the_generic_deepcopy_makes() -> None:
    project = _grown()
    fast = copy.deepcopy(project)
    generic = copy.copy(project)  # then deep-copy its attributes the generic way
    generic.__dict__.update({k: copy.deepcopy(v) for k, v in vars(project).items()})
    assert _project_state(fast) == _project_state(generic) == _project_state(project)
    assert type(fast) is Project


def test_no_mutable_part_but_an_unchanged_entity_is_shared_with_the_original() -> None:
    project = _grown()
    fast = copy.deepcopy(project)
    immutable = (str, int, float, bool, type(None), date, UUID)
    entities = ("deliverables[", "milestones[")

    def shared(a: Any, b: Any, path: str) -> list[str]:
        found = []
        if a is b and path.startswith(entities) and path.count("[") == 1:
            return []  # copied on write: shared until an event changes it
        if (
            a is b
            and not isinstance(a, immutable)
            and not _frozen(a)
            and type(a).__name__ != "UUID"
        ):
            found.append(path)
        if isinstance(a, dict):
            for key in a:
                found += shared(a[key], b[key], f"{path}[{key!r}]")
        elif isinstance(a, list):
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                found += shared(x, y, f"{path}[{i}]")
        elif dataclasses.is_dataclass(a):
            for f in dataclasses.fields(a):
                found += shared(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
        return found

    assert [
        path
        for name in vars(project)
        for path in shared(vars(project)[name], vars(fast)[name], name)
    ] == []


def _frozen(value: Any) -> bool:
    params = getattr(type(value), "__dataclass_params__", None)
    return bool(params and params.frozen)


def test_commands_on_the_copy_leave_the_original_as_it_was() -> None:
    project = _grown()
    before = _project_state(project)
    work = copy.deepcopy(project)
    did = next(d.id for d in work.deliverables.values() if d.state.value == "draft")
    mid = next(m.id for m in work.milestones.values() if not m.achieved)
    cid = next(iter(work.deliverables[str(did)].criteria.values())).id
    work.record_evidence(did, cid, "https://e.example/replaced", actor=MANAGER)
    work.add_criterion(did, "one more", actor=MANAGER)
    work.reschedule(mid, date(2032, 1, 1), "late", actor=MANAGER)
    work.set_member("someone", ProjectRole.VIEWER, actor=MANAGER)
    work.add_phase("Rollout", actor=MANAGER)
    assert work.pending_events
    assert not project.pending_events
    assert _project_state(project) == before


def _dump(project: Project) -> str:
    return repr({k: v for k, v in sorted(vars(project).items()) if k != "_pending_events"})


def _work(project: Project) -> None:
    """Commands that change existing deliverables and milestones in every way events do."""
    draft = next(d for d in project.deliverables.values() if d.state.value == "draft")
    approved = next(d for d in project.deliverables.values() if d.state.value == "approved")
    achieved = next(m for m in project.milestones.values() if m.achieved)
    open_ = next(m for m in project.milestones.values() if not m.achieved)
    cid = next(iter(draft.criteria.values())).id
    project.record_evidence(draft.id, cid, "https://e.example/again", actor=MANAGER)
    project.update_deliverable(draft.id, title="Retitled", actor=MANAGER)
    project.submit(draft.id, actor=MANAGER)
    project.reject(draft.id, "not yet", actor=REVIEWER)
    project.reopen_milestone(achieved.id, "a gap", actor=MANAGER)
    project.reopen_deliverable(approved.id, "a gap", actor=MANAGER)
    project.reschedule(open_.id, date(2033, 3, 3), "late", actor=MANAGER)
    project.add_dependency(open_.id, achieved.id, 2, actor=MANAGER)
    project.rebaseline("new plan", name="B2", actor=MANAGER)


def test_events_on_either_side_leave_the_other_as_it_was() -> None:
    project = _grown(10)
    original = _dump(project)
    work = copy.deepcopy(project)
    _work(work)
    assert _dump(project) == original  # the command's copy changed; the cache did not
    changed = _dump(work)
    # The other way round: the cached project fast-forwarded while a copy is in a command.
    _work(project)
    project.collect_events()
    assert _dump(work) == changed


def test_a_copy_of_a_copy_is_independent_of_both() -> None:
    first = _grown(10)
    second = copy.deepcopy(first)
    second.update_deliverable(
        next(iter(second.deliverables.values())).id, title="2nd", actor=MANAGER
    )
    second.collect_events()
    third = copy.deepcopy(second)
    dumps = (_dump(first), _dump(second))
    _work(third)
    assert (_dump(first), _dump(second)) == dumps
    _work(second)
    assert _dump(first) == dumps[0]
    assert _dump(third) != _dump(second)


def test_the_copy_replays_to_the_same_state_as_the_events() -> None:
    """A copy that shares entities ends in the state its events say (the snapshot it would
    write equals a replay's)."""
    project = _grown(10)
    work = copy.deepcopy(project)
    _work(work)
    pending = work.collect_events()
    replayed = copy.copy(project)  # with every attribute deep-copied the generic way
    replayed.__dict__.update({k: copy.deepcopy(v) for k, v in vars(project).items()})
    for event in pending:
        event.mutate(replayed)
    assert _dump(replayed) == _dump(work)
