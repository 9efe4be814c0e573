"""Property-based: random command sequences by alice, bob and carol never break the model's rules.

Each step runs one command on a copy of the project, as the Ledger does, and keeps the copy only
if the command succeeds; a DomainError is a fine outcome, any other exception is a failure.
Commands pick their deliverable or milestone from the current state by index; with `aim` they
pick among those the command could succeed on, so that deep states (achievements) are reached.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from copy import deepcopy
from datetime import UTC, date, timedelta
from functools import partial
from typing import TypeVar
from uuid import UUID

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from domain import rules
from domain.entities import Deliverable, DeliverableState, GateDecisionKind, Milestone
from domain.errors import DomainError
from domain.events import (
    DeliverableApprovalSigned,
    DeliverableApproved,
    DeliverableRejected,
    DeliverableReopened,
    GateDecided,
    MilestoneAchieved,
    MilestoneReopened,
    ProjectEvent,
    ProjectRebaselined,
)
from domain.gates import gate_blockers, gate_state, ordered
from domain.project import Project
from domain.roles import ProjectRole

from .helpers import ALICE, BOB, CAROL, new_events

T = TypeVar("T")
START = date(2026, 12, 1)
DRAFT, IN_REVIEW, APPROVED = (
    DeliverableState.DRAFT,
    DeliverableState.IN_REVIEW,
    DeliverableState.APPROVED,
)

principals = st.sampled_from([ALICE, BOB, CAROL])
reasons = st.sampled_from(["because", "scope changed", " "])  # a blank reason is refused
days = st.integers(min_value=-5, max_value=40).map(lambda n: START + timedelta(days=n))
evidence = st.sampled_from(["https://example.org/a", "notes v2", "x" * 2_001])
index = st.integers(min_value=0, max_value=50)
aim = st.booleans()
rarely = st.integers(0, 3).map(lambda n: n == 0)  # cancelling everything early hides the rest
group_names = st.sampled_from(["QA", "Legal"])
# R26: mostly groups the project may have, sometimes one it never has, or one named twice
# (both refused).
no_groups: list[str] = []
required_groups = st.lists(
    st.sampled_from(["QA", "Legal", "QA", "Legal", "Ops"]), min_size=1, max_size=2
) | st.just(no_groups)
SIGNING = (
    DeliverableApprovalSigned,
    DeliverableApproved,
    DeliverableRejected,
    DeliverableReopened,
    MilestoneAchieved,
    MilestoneReopened,
)


def record(project: Project, *, did: UUID, cid: UUID) -> None:
    project.record_evidence(did, cid, "https://a.example", actor=BOB)


def _text(project: Project) -> str:
    """Everything the project holds, as text (entities' reprs show every field)."""
    return repr(sorted((k, v) for k, v in vars(project).items() if k != "_pending_events"))


def _go(project: Project, *, phase_id: UUID) -> None:
    project.decide_gate(phase_id, GateDecisionKind.GO, [CAROL], "passed", actor=ALICE)


def nth(items: Sequence[T], n: int) -> T:
    return items[n % len(items)]


def has_deliverables(machine: ProjectCommands) -> bool:
    return bool(machine.project.deliverables)


def has_milestones(machine: ProjectCommands) -> bool:
    return bool(machine.project.milestones)


class ProjectCommands(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        project = Project.create(name="Invariants", actor=ALICE)
        self.phase_ids = [project.add_phase(n, actor=ALICE) for n in ("Design", "Build", "Run")]
        project.set_member(BOB, ProjectRole.CONTRIBUTOR, actor=ALICE)
        project.set_member(CAROL, ProjectRole.REVIEWER, actor=ALICE)
        project.set_group("QA", [ALICE, CAROL], actor=ALICE)  # R26: one group from the start
        self.history: list[ProjectEvent] = new_events(project)
        self.last_events: list[ProjectEvent] = list(self.history)
        # Each event of the last step with the project just before its command.
        self.last_moments: list[tuple[ProjectEvent, Project]] = []
        self.project = project
        self.previous = deepcopy(project)

    # --- running commands --------------------------------------------------------------------

    def begin_step(self) -> None:
        """The invariants compare the project before and after each step."""
        self.previous = deepcopy(self.project)
        self.last_events = []
        # The state the step starts from, as plain text: a command acts on a copy that shares
        # unchanged entities with it (copy-on-write), and must leave it exactly as it was.
        self.before = self.project
        self.before_text = _text(self.project)
        self.last_moments = []

    def attempt(self, command: Callable[[Project], T]) -> T | None:
        """Runs one command as the Ledger would: on a copy, kept only when it succeeds."""
        candidate = deepcopy(self.project)
        try:
            result = command(candidate)
        except DomainError:
            return None
        events = new_events(candidate)
        self.last_moments.extend((event, self.project) for event in events)
        self.last_events.extend(events)
        self.history.extend(events)
        self.project = candidate
        return result

    def step(self, command: Callable[[Project], object]) -> None:
        """A step of one command."""
        self.begin_step()
        self.attempt(command)

    def deliverable(self, n: int, aim: bool, *states: DeliverableState) -> Deliverable:
        every = list(self.project.deliverables.values())
        wanted = [d for d in every if d.state in states] if aim else []
        return nth(wanted or every, n)

    def milestone(self, n: int, wanted: Callable[[Milestone], bool] | None = None) -> Milestone:
        every = list(self.project.milestones.values())
        return nth([m for m in every if wanted(m)] if wanted else every, n)

    # --- deliverables ------------------------------------------------------------------------

    @rule(phase=st.integers(0, 2), who=principals)
    def define_deliverable(self, phase: int, who: str) -> None:
        pid = self.phase_ids[phase]
        self.step(lambda p: p.define_deliverable(title="D", phase_id=pid, actor=who))

    @rule(
        phase=st.integers(0, 2),
        criteria=st.integers(1, 2),
        groups=st.sampled_from([[], [], ["QA"], ["QA", "Legal"]]),
    )
    def define_deliverable_ready_for_review(
        self, phase: int, criteria: int, groups: list[str]
    ) -> None:
        """A step of several commands by BOB, so that submissions and reviews happen often;
        some need an approval from a group (R26: refused when the project has no such
        group, and the deliverable then needs none)."""
        self.begin_step()
        pid = self.phase_ids[phase]
        did = self.attempt(lambda p: p.define_deliverable(title="R", phase_id=pid, actor=BOB))
        assert did is not None
        for _ in range(criteria):
            cid = self.attempt(lambda p: p.add_criterion(did, "criterion", actor=BOB))
            assert cid is not None
            self.attempt(partial(record, did=did, cid=cid))
        if groups:
            self.attempt(lambda p: p.set_required_approvals(did, 1, groups, actor=ALICE))

    @precondition(has_deliverables)
    @rule(n=index, who=principals)
    def advance_deliverable(self, n: int, who: str) -> None:
        """The next command on the way to approval, whatever state the deliverable is in."""
        d = self.deliverable(n, True, DRAFT, IN_REVIEW)
        unmet = [c for c in d.criteria.values() if not c.met]
        if d.state is IN_REVIEW:
            self.step(lambda p: p.approve(d.id, actor=who))
        elif not d.criteria:
            self.step(lambda p: p.add_criterion(d.id, "criterion", actor=who))
        elif unmet:
            self.step(
                lambda p: p.record_evidence(d.id, unmet[0].id, "https://b.example", actor=who)
            )
        else:
            self.step(lambda p: p.submit(d.id, actor=who))

    @precondition(has_deliverables)
    @rule(n=index, title=st.sampled_from(["D", "D2", ""]), who=principals)
    def retitle(self, n: int, title: str, who: str) -> None:
        did = self.deliverable(n, False).id
        self.step(lambda p: p.update_deliverable(did, title=title, actor=who))

    @precondition(has_deliverables)
    @rule(n=index, aim=aim, who=principals)
    def add_criterion(self, n: int, aim: bool, who: str) -> None:
        did = self.deliverable(n, aim, DRAFT).id
        self.step(lambda p: p.add_criterion(did, "criterion", actor=who))

    @precondition(has_deliverables)
    @rule(n=index, c=index, aim=aim, text=evidence, who=principals)
    def record_evidence(self, n: int, c: int, aim: bool, text: str, who: str) -> None:
        deliverable = self.deliverable(n, aim, DRAFT)
        if not deliverable.criteria:
            return
        did, cid = deliverable.id, nth(list(deliverable.criteria.values()), c).id
        self.step(lambda p: p.record_evidence(did, cid, text, actor=who))

    @precondition(has_deliverables)
    @rule(n=index, aim=aim, who=principals)
    def submit(self, n: int, aim: bool, who: str) -> None:
        every = list(self.project.deliverables.values())
        ready = [
            d
            for d in every
            if d.state is DRAFT and d.criteria and d.criteria_met == len(d.criteria)
        ]
        did = nth(ready if aim and ready else every, n).id
        self.step(lambda p: p.submit(did, actor=who))

    @precondition(has_deliverables)
    @rule(n=index, aim=aim, who=principals)
    def approve(self, n: int, aim: bool, who: str) -> None:
        did = self.deliverable(n, aim, IN_REVIEW).id
        self.step(lambda p: p.approve(did, actor=who))

    @precondition(has_deliverables)
    @rule(n=index, aim=aim, quorum=st.sampled_from([0, 1, 2, 2, 3]), groups=required_groups)
    def set_required_approvals(self, n: int, aim: bool, quorum: int, groups: list[str]) -> None:
        did = self.deliverable(n, aim, DRAFT).id
        self.step(lambda p: p.set_required_approvals(did, quorum, groups, actor=ALICE))

    @rule(
        name=group_names,
        members=st.lists(principals, min_size=1, max_size=2) | st.just([]) | st.just(["mallory"]),
    )
    def set_group(self, name: str, members: list[str]) -> None:
        self.step(lambda p: p.set_group(name, members, actor=ALICE))

    @precondition(has_deliverables)
    @rule(n=index, aim=aim, who=principals, reason=reasons)
    def reject(self, n: int, aim: bool, who: str, reason: str) -> None:
        did = self.deliverable(n, aim, IN_REVIEW).id
        self.step(lambda p: p.reject(did, reason, actor=who))

    @precondition(has_deliverables)
    @rule(n=index, aim=aim, reason=reasons)
    def reopen_deliverable(self, n: int, aim: bool, reason: str) -> None:
        did = self.deliverable(n, aim, IN_REVIEW, APPROVED).id
        self.step(lambda p: p.reopen_deliverable(did, reason, actor=ALICE))

    @precondition(has_deliverables)
    @rule(n=index, reason=reasons, rarely=rarely)
    def cancel_deliverable(self, n: int, reason: str, rarely: bool) -> None:
        if not rarely:
            return
        did = self.deliverable(n, False).id
        self.step(lambda p: p.cancel_deliverable(did, reason, actor=ALICE))

    # --- milestones --------------------------------------------------------------------------

    @rule(phase=st.integers(0, 2), due=days, picks=st.lists(index, max_size=3))
    def define_milestone(self, phase: int, due: date, picks: list[int]) -> None:
        pid = self.phase_ids[phase]
        every = list(self.project.deliverables)
        linked = [UUID(nth(every, n)) for n in picks] if every else []
        self.step(
            lambda p: p.define_milestone(
                name="M", phase_id=pid, due=due, deliverable_ids=linked, actor=ALICE
            )
        )

    @precondition(lambda self: has_milestones(self) and has_deliverables(self))
    @rule(m=index, n=index, aim=aim)
    def link(self, m: int, n: int, aim: bool) -> None:
        mid = self.milestone(m).id
        did = self.deliverable(n, aim, APPROVED).id
        self.step(lambda p: p.link(mid, did, actor=ALICE))

    @precondition(lambda self: has_milestones(self) and has_deliverables(self))
    @rule(m=index, n=index, aim=aim)
    def unlink(self, m: int, n: int, aim: bool) -> None:
        milestone = self.milestone(m)
        linked = milestone.deliverable_ids
        did = nth(linked, n) if aim and linked else self.deliverable(n, False).id
        self.step(lambda p: p.unlink(milestone.id, did, actor=ALICE))

    @precondition(has_milestones)
    @rule(m=index, n=index, who=principals)
    def advance_milestone(self, m: int, n: int, who: str) -> None:
        """The next command on the way to achieving an open milestone."""
        milestones = list(self.project.milestones.values())
        milestone = nth([x for x in milestones if x.open] or milestones, n)
        live = [d for d in self.project.linked_deliverables(milestone) if not d.cancelled]
        blocking = [d for d in live if d.state is not APPROVED]
        approved = [d for d in self.project.deliverables.values() if d.state is APPROVED]
        if blocking:
            self.step(lambda p: p.unlink(milestone.id, blocking[0].id, actor=ALICE))
        elif not live and approved:
            did = nth(approved, m).id
            self.step(lambda p: p.link(milestone.id, did, actor=ALICE))
        else:
            self.step(lambda p: p.achieve(milestone.id, actor=who))

    @precondition(has_milestones)
    @rule(m=index, n=index, who=principals)
    def pass_the_gates_and_achieve(self, m: int, n: int, who: str) -> None:
        """A step of several commands: a go at each gate that holds an open milestone back
        (R24) and nothing else does, then its achievement."""
        waiting = [
            x
            for x in self.project.milestones.values()
            if x.open
            and self.project.gate_blockers(x)
            and {v.rule for v in self.project.achievement_blockers(x)} == {"R24"}
        ]
        if not waiting:
            return
        milestone = nth(waiting, m)
        self.begin_step()
        for blocker in self.project.gate_blockers(milestone):
            go = partial(_go, phase_id=UUID(str(blocker.details["phase_id"])))
            self.attempt(go)
        self.attempt(lambda p: p.achieve(milestone.id, actor=who))

    @rule(phase=st.integers(0, 2), due=days)
    def achieve_a_fresh_milestone(self, phase: int, due: date) -> None:
        """A step of several commands: an approved deliverable, a milestone of `phase` linking
        it, and an attempt to achieve it, which only the gates before the phase (R24) decide."""
        pid = self.phase_ids[phase]
        self.begin_step()
        did = self.attempt(lambda p: p.define_deliverable(title="F", phase_id=pid, actor=BOB))
        assert did is not None
        cid = self.attempt(lambda p: p.add_criterion(did, "criterion", actor=BOB))
        assert cid is not None
        self.attempt(partial(record, did=did, cid=cid))
        self.attempt(lambda p: p.submit(did, actor=BOB))
        self.attempt(lambda p: p.approve(did, actor=CAROL))
        mid = self.attempt(
            lambda p: p.define_milestone(
                name="F", phase_id=pid, due=due, deliverable_ids=[did], actor=ALICE
            )
        )
        assert mid is not None
        self.attempt(lambda p: p.achieve(mid, actor=ALICE))

    @precondition(has_milestones)
    @rule(m=index, due=days, reason=reasons)
    def reschedule(self, m: int, due: date, reason: str) -> None:
        mid = self.milestone(m).id
        self.step(lambda p: p.reschedule(mid, due, reason, actor=ALICE))

    @precondition(has_milestones)
    @rule(m=index, aim=aim, who=principals)
    def achieve(self, m: int, aim: bool, who: str) -> None:
        def achievable(milestone: Milestone) -> bool:
            return milestone.open and not self.project.achievement_blockers(milestone)

        mid = self.milestone(m, achievable if aim and self._any(achievable) else None).id
        self.step(lambda p: p.achieve(mid, actor=who))

    @precondition(has_milestones)
    @rule(m=index, aim=aim, reason=reasons)
    def reopen_milestone(self, m: int, aim: bool, reason: str) -> None:
        def achieved(milestone: Milestone) -> bool:
            return milestone.achieved

        mid = self.milestone(m, achieved if aim and self._any(achieved) else None).id
        self.step(lambda p: p.reopen_milestone(mid, reason, actor=ALICE))

    @precondition(has_milestones)
    @rule(m=index, reason=reasons, rarely=rarely)
    def cancel_milestone(self, m: int, reason: str, rarely: bool) -> None:
        if not rarely:
            return
        mid = self.milestone(m).id
        self.step(lambda p: p.cancel_milestone(mid, reason, actor=ALICE))

    @precondition(has_milestones)
    @rule(m=index, n=index, lag=st.sampled_from([0, 2, 400]))
    def add_dependency(self, m: int, n: int, lag: int) -> None:
        mid, pid = self.milestone(m).id, self.milestone(n).id
        self.step(lambda p: p.add_dependency(mid, pid, lag, actor=ALICE))

    @precondition(has_milestones)
    @rule(m=index, n=index, aim=aim)
    def remove_dependency(self, m: int, n: int, aim: bool) -> None:
        milestone = self.milestone(m)
        chosen = list(milestone.predecessors) if aim else []
        pid = UUID(nth(chosen, n)) if chosen else self.milestone(n).id
        self.step(lambda p: p.remove_dependency(milestone.id, pid, actor=ALICE))

    @precondition(has_milestones)
    @rule(reason=reasons, name=st.sampled_from([None, "Plan", "PLAN", "Other"]))
    def rebaseline(self, reason: str, name: str | None) -> None:
        self.step(lambda p: p.rebaseline(reason, name=name, actor=ALICE))

    # --- phase gates (R24, R25) ----------------------------------------------------------------

    @rule(phase=st.integers(0, 2), required=st.sampled_from([True, True, False]))
    def set_exit_gate(self, phase: int, required: bool) -> None:
        pid = self.phase_ids[phase]
        self.step(lambda p: p.set_exit_gate(pid, required, actor=ALICE))

    @rule(order=st.permutations([0, 1, 2]), rarely=rarely)
    def reorder_phases(self, order: list[int], rarely: bool) -> None:
        if not rarely:
            return
        ids = [self.phase_ids[n] for n in order]
        self.step(lambda p: p.reorder_phases(ids, actor=ALICE))

    @rule(
        phase=st.integers(0, 2),
        aim=aim,
        kind=st.sampled_from(list(GateDecisionKind)),
        people=st.lists(principals, min_size=0, max_size=3),
        conditions=st.integers(0, 2),
    )
    def decide_gate(
        self, phase: int, aim: bool, kind: GateDecisionKind, people: list[str], conditions: int
    ) -> None:
        """With `aim`: the phase given an exit gate first, conditions only when conditional,
        carol taking part."""
        pid = self.phase_ids[phase]
        self.begin_step()
        if aim:
            self.attempt(lambda p: p.set_exit_gate(pid, True, actor=ALICE))
            conditions = max(1, conditions) if kind is GateDecisionKind.CONDITIONAL else 0
            people = [*people, CAROL]
        texts = [f"condition {n}" for n in range(conditions)]
        self.attempt(lambda p: p.decide_gate(pid, kind, people, "gate review", texts, actor=ALICE))

    @rule(phase=st.integers(0, 2), c=index, aim=aim, who=principals)
    def close_gate_condition(self, phase: int, c: int, aim: bool, who: str) -> None:
        decided = [p for p in self.project.phases.values() if p.decision is not None]
        if not decided:
            return
        chosen = nth(decided, phase)
        decision = chosen.decision
        assert decision is not None
        conditions = decision.open_conditions if aim else list(decision.conditions.values())
        if not conditions:
            return
        cid = nth(conditions, c).id
        self.step(lambda p: p.close_gate_condition(chosen.id, cid, "met", actor=who))

    def _any(self, wanted: Callable[[Milestone], bool]) -> bool:
        return any(wanted(m) for m in self.project.milestones.values())

    # --- invariants --------------------------------------------------------------------------

    @invariant()
    def no_achieved_milestone_rests_on_an_unapproved_deliverable(self) -> None:
        for m in self.project.milestones.values():
            if m.achieved:
                live = [d for d in self.project.linked_deliverables(m) if not d.cancelled]
                assert live, f"achieved milestone {m.id} has no live deliverable"
                assert all(d.state is APPROVED for d in live)
                assert m.achieved_at is not None
                assert m.achieved_by
            else:
                assert (m.achieved_at, m.achieved_by) == (None, None)

    @invariant()
    def every_approval_stands_on_its_quorum_of_distinct_reviewers(self) -> None:
        """R5 for each signer, R21: approved only with the quorum from distinct reviewers, none
        the submitter; in review with fewer; a draft (after a veto, R22) with none."""
        for d in self.project.deliverables.values():
            assert 1 <= d.required_approvals <= 20
            assert len(set(d.approvals)) == len(d.approvals)
            assert d.submitted_by not in d.approvals or d.state is DRAFT
            if d.state is APPROVED:
                assert len(d.approvals) >= d.required_approvals
                assert d.required_groups or len(d.approvals) == d.required_approvals
            elif d.state is IN_REVIEW:
                assert d.required_groups or len(d.approvals) < d.required_approvals
            elif d.state is DRAFT:
                assert d.approvals == []

    @invariant()
    def a_round_completes_exactly_when_its_quorum_and_groups_are_met(self) -> None:
        """R26: an approval completes the round only when the distinct signers number the
        quorum and each required group has a member among them, as each signer's groups were
        when it approved; an approval that leaves it in review does not meet both."""
        for event, then in self.last_moments:  # the project just before each command
            if not isinstance(event, DeliverableApproved | DeliverableApprovalSigned):
                continue
            before = then.deliverables[str(event.deliverable_id)]
            stands_for = {who: before.approval_groups[who] for who in before.approvals}
            groups = then.groups.items()
            stands_for[event.actor] = [g for g, members in groups if event.actor in members]
            required = event.required_groups or []
            met = rules.quorum_met(stands_for, event.required_approvals, required)
            assert met is isinstance(event, DeliverableApproved)

    @invariant()
    def groups_hold_members_of_the_project_and_quorums_name_groups_it_has(self) -> None:
        for name, members in self.project.groups.items():
            assert members, f"group {name} is empty"
            assert len(set(members)) == len(members)
            if name not in self.previous.groups or members != self.previous.groups[name]:
                assert all(self.project.role_of(m) is not None for m in members)
        for d in self.project.deliverables.values():
            assert all(g in self.project.groups for g in d.required_groups)

    @invariant()
    def every_signature_records_its_manifestation(self) -> None:
        """R27: meaning, printed name and a SHA-256 of what was signed, on every signing
        event."""
        for event in self.last_events:
            if isinstance(event, SIGNING):
                assert event.meaning in ("review", "approval", "responsibility", "authorship")
                assert event.signer_name == event.actor  # no printed name given here
                assert event.signed_digest is not None
                assert len(event.signed_digest) == 64

    @invariant()
    def a_quorum_changes_only_on_a_draft(self) -> None:
        for key, before in self.previous.deliverables.items():
            if before.state is not DRAFT:
                now = self.project.deliverables[key]
                assert now.required_approvals == before.required_approvals
                assert now.required_groups == before.required_groups

    @invariant()
    def no_achieved_milestone_waits_for_an_open_predecessor(self) -> None:
        for m in self.project.milestones.values():
            if m.achieved:
                assert all(not p.open for p in self.project.predecessors(m))
            assert all(0 <= lag <= 365 for lag in m.predecessors.values())

    @invariant()
    def no_milestone_is_achieved_past_a_gate_that_was_blocking_then(self) -> None:
        """R24: when a milestone was achieved, every phase before its own (in the order then)
        with an exit gate had a go, or a conditional decision with every condition closed."""
        for event, then in self.last_moments:
            if isinstance(event, MilestoneAchieved):
                phases = list(then.phases.values())
                milestone = then.milestone(event.milestone_id)
                assert gate_blockers(phases, milestone) == []
                earlier = ordered(phases)
                own = [p.id for p in earlier].index(milestone.phase_id)
                for phase in earlier[:own]:
                    state = gate_state(phase)
                    assert state in ("none", "go", "conditional"), state

    @invariant()
    def every_gate_decision_has_an_independent_participant(self) -> None:
        """R25: a decision's independent participants took part and submitted none of the
        phase's deliverables; only a conditional decision has conditions."""
        for event, then in self.last_moments:
            if isinstance(event, GateDecided):
                phase = then.phase(event.phase_id)
                assert phase.exit_gate
                submitters = {
                    who
                    for d in then.deliverables.values()
                    if d.phase_id == phase.id
                    for who in d.ever_submitted_by
                }
                assert event.independent
                assert set(event.independent) <= set(event.participants)
                assert not set(event.independent) & submitters
                conditional = event.decision == GateDecisionKind.CONDITIONAL.value
                assert bool(event.conditions) == conditional
        for phase in self.project.phases.values():
            assert phase.exit_gate or phase.decision is None
        positions = sorted(p.position for p in self.project.phases.values())
        assert positions == sorted(set(positions))

    @invariant()
    def baseline_names_are_unique_whatever_the_case(self) -> None:
        names = [n.casefold() for n in self.project.baseline_versions]
        assert len(names) == len(set(names))

    @invariant()
    def dependencies_form_no_cycle(self) -> None:
        graph = {key: m.predecessors for key, m in self.project.milestones.items()}
        done: set[str] = set()
        for start in graph:
            on_path: set[str] = set()
            stack: list[tuple[str, bool]] = [(start, False)]
            while stack:
                key, leaving = stack.pop()
                if leaving:
                    on_path.discard(key)
                    done.add(key)
                    continue
                assert key not in on_path, f"cycle through {key}"
                if key in done:
                    continue
                on_path.add(key)
                stack.append((key, True))
                stack.extend((p, False) for p in graph[key])

    @invariant()
    def evidence_never_changes_unless_the_deliverable_was_a_draft(self) -> None:
        for key, before in self.previous.deliverables.items():
            if before.state is not DRAFT:
                assert self.project.deliverables[key].criteria == before.criteria

    @invariant()
    def baselines_move_only_on_a_rebaseline(self) -> None:
        rebaselined = any(isinstance(e, ProjectRebaselined) for e in self.last_events)
        for key, before in self.previous.milestones.items():
            now = self.project.milestones[key]
            assert now.original_baseline_due == before.original_baseline_due
            if not rebaselined:
                assert now.baseline_due == before.baseline_due
            assert now.slip_days == (now.due - now.baseline_due).days

    @invariant()
    def nothing_is_deleted_and_cancelled_stays_cancelled(self) -> None:
        for key, d in self.previous.deliverables.items():
            assert key in self.project.deliverables
            if d.cancelled:
                assert self.project.deliverables[key].cancelled
        for key, m in self.previous.milestones.items():
            assert key in self.project.milestones
            if not m.open and not m.achieved:
                assert not self.project.milestones[key].open
                assert not self.project.milestones[key].achieved

    @invariant()
    def a_command_leaves_the_state_it_copied_as_it_was(self) -> None:
        if hasattr(self, "before"):
            assert _text(self.before) == self.before_text
            assert _text(self.previous) == self.before_text

    @invariant()
    def a_step_without_events_changes_nothing(self) -> None:
        if not self.last_events:
            assert self.project == self.previous

    @invariant()
    def replaying_every_event_rebuilds_the_same_project(self) -> None:
        replayed: Project | None = None
        for event in self.history:
            replayed = event.mutate(replayed)
        assert replayed == self.project

    @invariant()
    def every_event_says_who_and_when_in_utc(self) -> None:
        for event in self.last_events:
            assert event.actor.strip()
            assert event.occurred_at.tzinfo is not None
            assert event.occurred_at.utcoffset() == timedelta(0)
            assert event.occurred_at.astimezone(UTC) == event.occurred_at


ProjectCommands.TestCase.settings = settings(
    max_examples=100, stateful_step_count=50, deadline=None
)
test_random_commands_keep_the_project_consistent = ProjectCommands.TestCase
