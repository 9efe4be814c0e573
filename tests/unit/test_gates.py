"""Phase gates (R24, R25): given phases in order, one with an exit gate, when a decision is
recorded or a condition closed, then the next phase's milestones may or may not be achieved."""

from __future__ import annotations

import copy
from uuid import UUID

import pytest

from domain.entities import GateDecisionKind, SignatureMeaning
from domain.errors import EntityNotFoundError, InvalidValueError, RuleViolationError
from domain.events import GateConditionClosed, GateDecided, PhaseExitGateSet, PhasesReordered
from domain.gates import decision_digest, decision_document
from domain.project import Project
from domain.retrospective import retrospective
from domain.roles import ProjectRole

from .helpers import ALICE, BOB, CAROL, DUE, new_events, new_project, phase_id

GO, CONDITIONAL = GateDecisionKind.GO, GateDecisionKind.CONDITIONAL
HOLD, NO_GO = GateDecisionKind.HOLD, GateDecisionKind.NO_GO


def _gated() -> tuple[Project, UUID, UUID]:
    """Design (with an exit gate, one deliverable submitted by BOB) then Build, whose
    milestone is ready to be achieved but for the gate: (project, design, build milestone)."""
    project = new_project()
    design = phase_id(project)
    build = project.add_phase("Build", actor=ALICE)
    project.set_exit_gate(design, True, actor=ALICE)
    spec = _approved_in(project, design, "Spec")
    code = _approved_in(project, build, "Code")
    project.define_milestone(
        name="Design done", phase_id=design, due=DUE, deliverable_ids=[spec], actor=ALICE
    )
    mid = project.define_milestone(
        name="Build done", phase_id=build, due=DUE, deliverable_ids=[code], actor=ALICE
    )
    new_events(project)
    return project, design, mid


def _approved_in(project: Project, phase: UUID, title: str) -> UUID:
    did = project.define_deliverable(title=title, phase_id=phase, actor=BOB)
    cid = project.add_criterion(did, "done", actor=BOB)
    project.record_evidence(did, cid, f"https://example.org/{title}", actor=BOB)
    project.submit(did, actor=BOB)
    project.approve(did, actor=CAROL)
    return did


def _decide(project: Project, phase: UUID, kind: GateDecisionKind, **extra: object) -> UUID:
    fields: dict[str, object] = {"participants": [BOB, CAROL], "reason": "design review held"}
    fields.update(extra)
    decision = project.decide_gate(phase, kind, actor=ALICE, **fields)  # type: ignore[arg-type]
    new_events(project)
    return decision


def _r24(error: pytest.ExceptionInfo[RuleViolationError]) -> list[dict[str, object]]:
    return [dict(v.details) for v in error.value.violations if v.rule == "R24"]


def test_phases_are_ordered_as_they_were_added() -> None:
    project = new_project()
    project.add_phase("Build", actor=ALICE)
    project.add_phase("Test", actor=ALICE)

    assert [p.name for p in project.phases_in_order()] == ["Design", "Build", "Test"]


def test_reordering_names_every_phase_once_and_records_the_order_before() -> None:
    project = new_project()
    design = phase_id(project)
    build = project.add_phase("Build", actor=ALICE)
    new_events(project)

    project.reorder_phases([build, design], actor=ALICE)

    [event] = new_events(project)
    assert isinstance(event, PhasesReordered)
    assert (event.phase_ids, event.previous_phase_ids) == ([build, design], [design, build])
    assert [p.name for p in project.phases_in_order()] == ["Build", "Design"]
    with pytest.raises(InvalidValueError):
        project.reorder_phases([build], actor=ALICE)
    with pytest.raises(InvalidValueError):
        project.reorder_phases([build, build], actor=ALICE)
    project.reorder_phases([build, design], actor=ALICE)
    assert new_events(project) == []


def test_a_gate_without_a_decision_blocks_the_next_phase() -> None:
    project, design, mid = _gated()

    with pytest.raises(RuleViolationError) as refused:
        project.achieve(mid, actor=ALICE)

    assert _r24(refused) == [{"phase_id": str(design), "phase": "Design", "gate": "missing"}]
    assert new_events(project) == []


def test_a_phase_without_an_exit_gate_does_not_block() -> None:
    project, design, mid = _gated()
    project.set_exit_gate(design, False, actor=ALICE)
    [event] = new_events(project)
    assert isinstance(event, PhaseExitGateSet)
    assert event.required is False

    project.achieve(mid, actor=ALICE)

    assert project.milestone(mid).achieved


def test_the_gate_holds_back_only_later_phases() -> None:
    project, design, _ = _gated()
    [own] = [m for m in project.milestones.values() if m.phase_id == design]

    project.achieve(own.id, actor=ALICE)

    assert project.milestone(own.id).achieved


def test_no_go_blocks_the_next_phase_and_a_later_go_unblocks_it() -> None:
    project, design, mid = _gated()
    _decide(project, design, NO_GO)

    with pytest.raises(RuleViolationError) as refused:
        project.achieve(mid, actor=ALICE)
    assert _r24(refused)[0]["gate"] == "no_go"

    _decide(project, design, GO)
    project.achieve(mid, actor=ALICE)
    assert project.milestone(mid).achieved


def test_hold_blocks_the_next_phase() -> None:
    project, design, mid = _gated()
    _decide(project, design, HOLD)

    with pytest.raises(RuleViolationError) as refused:
        project.achieve(mid, actor=ALICE)

    assert _r24(refused)[0]["gate"] == "hold"


def test_conditional_blocks_until_its_last_condition_is_closed() -> None:
    project, design, mid = _gated()
    _decide(project, design, CONDITIONAL, conditions=["fix the risk log", "sign the FMEA"])
    decision = project.phase(design).decision
    assert decision is not None
    first, last = decision.conditions.values()

    project.close_gate_condition(design, first.id, "risk log updated", actor=ALICE)
    with pytest.raises(RuleViolationError) as refused:
        project.achieve(mid, actor=ALICE)
    assert _r24(refused)[0]["gate"] == "conditional_open"
    assert "1 open condition" in refused.value.violations[0].message

    new_events(project)
    project.close_gate_condition(design, last.id, "FMEA signed by QA", actor=CAROL)
    [closed] = new_events(project)
    assert isinstance(closed, GateConditionClosed)
    assert (closed.actor, closed.how, closed.condition_id) == (CAROL, "FMEA signed by QA", last.id)
    project.achieve(mid, actor=ALICE)
    assert project.milestone(mid).achieved


def test_a_condition_closes_once() -> None:
    project, design, _ = _gated()
    _decide(project, design, CONDITIONAL, conditions=["fix the risk log"])
    decision = project.phase(design).decision
    assert decision is not None
    [condition] = decision.conditions.values()
    project.close_gate_condition(design, condition.id, "done", actor=ALICE)
    new_events(project)

    with pytest.raises(RuleViolationError):
        project.close_gate_condition(design, condition.id, "again", actor=ALICE)
    with pytest.raises(EntityNotFoundError):
        project.close_gate_condition(design, design, "no such condition", actor=ALICE)
    assert new_events(project) == []


def test_a_gate_with_no_independent_participant_is_refused() -> None:
    project, design, _ = _gated()

    with pytest.raises(RuleViolationError) as refused:
        project.decide_gate(design, GO, [BOB], "only the author", actor=ALICE)

    assert [v.rule for v in refused.value.violations] == ["R25"]
    assert "independent" in refused.value.violations[0].message
    assert new_events(project) == []


def test_an_earlier_submitter_is_not_independent_after_someone_else_resubmits() -> None:
    project, design, _ = _gated()
    [spec] = [d for d in project.deliverables.values() if d.phase_id == design]
    project.reopen_deliverable(spec.id, "one more look", actor=ALICE)
    project.submit(spec.id, actor=ALICE)
    new_events(project)

    with pytest.raises(RuleViolationError):
        project.decide_gate(design, GO, [BOB, ALICE], "both submitted it", actor=ALICE)


def test_a_decision_records_participants_the_independent_ones_and_its_signature() -> None:
    project, design, _ = _gated()

    project.decide_gate(
        design,
        GO,
        [BOB, CAROL],
        "all exit criteria met",
        meaning=SignatureMeaning.RESPONSIBILITY,
        signer_name="Alice Anders",
        actor=ALICE,
    )

    [event] = new_events(project)
    assert isinstance(event, GateDecided)
    assert (event.participants, event.independent) == ([BOB, CAROL], [CAROL])
    assert (event.meaning, event.signer_name) == ("responsibility", "Alice Anders")
    document = decision_document(design, GO, [], [BOB, CAROL], "all exit criteria met")
    assert event.signed_digest == decision_digest(document)
    assert len(event.signed_digest) == 64


def test_a_participant_must_be_a_member() -> None:
    project, design, _ = _gated()

    with pytest.raises(RuleViolationError) as refused:
        project.decide_gate(design, GO, [CAROL, "mallory"], "review", actor=ALICE)

    assert refused.value.violations[0].details["participants"] == ["mallory"]


def test_conditions_belong_to_conditional_decisions_only() -> None:
    project, design, _ = _gated()

    with pytest.raises(InvalidValueError):
        project.decide_gate(design, CONDITIONAL, [CAROL], "review", actor=ALICE)
    with pytest.raises(InvalidValueError):
        project.decide_gate(design, GO, [CAROL], "review", ["a condition"], actor=ALICE)
    assert new_events(project) == []


def test_a_phase_without_an_exit_gate_takes_no_decision() -> None:
    project = new_project()

    with pytest.raises(RuleViolationError):
        project.decide_gate(phase_id(project), GO, [CAROL], "review", actor=ALICE)


def test_a_gate_with_a_decision_cannot_be_taken_away() -> None:
    project, design, _ = _gated()
    _decide(project, design, NO_GO)

    with pytest.raises(RuleViolationError) as refused:
        project.set_exit_gate(design, False, actor=ALICE)

    assert refused.value.violations[0].rule == "R25"


def test_every_earlier_gate_must_pass_not_only_the_one_just_before() -> None:
    project, _design, _ = _gated()
    test = project.add_phase("Test", actor=ALICE)
    did = _approved_in(project, test, "Report")
    mid = project.define_milestone(
        name="Tested", phase_id=test, due=DUE, deliverable_ids=[did], actor=ALICE
    )

    with pytest.raises(RuleViolationError) as refused:
        project.achieve(mid, actor=ALICE)

    assert [v["phase"] for v in _r24(refused)] == ["Design"]


def test_a_milestone_achieved_before_a_no_go_stays_achieved() -> None:
    project, design, mid = _gated()
    _decide(project, design, GO)
    project.achieve(mid, actor=ALICE)

    _decide(project, design, NO_GO)

    assert project.milestone(mid).achieved


def test_the_copy_a_command_works_on_holds_the_gates_apart() -> None:
    project, design, _ = _gated()
    _decide(project, design, CONDITIONAL, conditions=["fix it"])

    twin = copy.deepcopy(project)
    decision = twin.phase(design).decision
    assert decision is not None
    [condition] = decision.conditions.values()
    twin.close_gate_condition(design, condition.id, "fixed", actor=ALICE)

    original = project.phase(design).decision
    assert original is not None
    assert [c.open for c in original.conditions.values()] == [True]


def test_the_retrospective_shows_each_gate_decision_after_the_phases_last_milestone() -> None:
    project = Project.create(name="Apollo", actor=ALICE)
    project.set_member(BOB, ProjectRole.CONTRIBUTOR, actor=ALICE)
    project.set_member(CAROL, ProjectRole.REVIEWER, actor=ALICE)
    design = project.add_phase("Design", actor=ALICE)
    project.set_exit_gate(design, True, actor=ALICE)
    spec = _approved_in(project, design, "Spec")
    mid = project.define_milestone(
        name="Design done", phase_id=design, due=DUE, deliverable_ids=[spec], actor=ALICE
    )
    project.achieve(mid, actor=ALICE)
    project.decide_gate(design, CONDITIONAL, [BOB, CAROL], "held", ["fix it"], actor=ALICE)
    decision = project.phase(design).decision
    assert decision is not None
    [condition] = decision.conditions.values()
    project.close_gate_condition(design, condition.id, "fixed", actor=CAROL)

    [gate] = retrospective(new_events(project)).gates

    assert (gate.phase_id, gate.name) == (design, "Design")
    [record] = gate.decisions
    assert (record.decision, record.participants, record.independent) == (
        "conditional",
        [BOB, CAROL],
        [CAROL],
    )
    achieved_at = project.milestone(mid).achieved_at
    assert achieved_at is not None
    expected = round((record.at - achieved_at).total_seconds() / 86400, 2)
    assert record.days_from_last_milestone == expected
    assert [(c.text, c.by, c.how) for c in record.closings] == [("fix it", CAROL, "fixed")]


def test_the_retrospective_has_no_time_to_a_decision_taken_before_any_milestone() -> None:
    project = Project.create(name="Apollo", actor=ALICE)
    project.set_member(CAROL, ProjectRole.REVIEWER, actor=ALICE)
    design = project.add_phase("Design", actor=ALICE)
    project.add_phase("Ungated", actor=ALICE)
    project.set_exit_gate(design, True, actor=ALICE)
    project.decide_gate(design, HOLD, [CAROL], "not ready", actor=ALICE)

    [gate] = retrospective(new_events(project)).gates

    assert [d.days_from_last_milestone for d in gate.decisions] == [None]


def test_reordering_cannot_move_a_phase_before_a_gate_that_holds_it_back() -> None:
    """Given Design's gate decided no_go, when a manager moves Build before Design, then the
    reorder is refused (R24, nothing recorded) and Build's milestone stays blocked: a new
    order may not lift a decision that the gate's removal could not (review finding)."""
    project, design, mid = _gated()
    build = project.milestone(mid).phase_id
    _decide(project, design, NO_GO)

    with pytest.raises(RuleViolationError) as refused:
        project.reorder_phases([build, design], actor=ALICE)

    assert _r24(refused)[0]["gate"] == "no_go"
    assert new_events(project) == []
    with pytest.raises(RuleViolationError):
        project.achieve(mid, actor=ALICE)


def test_phases_may_be_reordered_around_a_gate_that_passes_or_is_undecided() -> None:
    project, design, mid = _gated()
    build = project.milestone(mid).phase_id

    project.reorder_phases([build, design], actor=ALICE)  # undecided: it could be taken away
    project.reorder_phases([design, build], actor=ALICE)
    _decide(project, design, GO)
    project.reorder_phases([build, design], actor=ALICE)

    assert [type(e) for e in new_events(project)] == [PhasesReordered]
