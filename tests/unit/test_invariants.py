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

from domain.entities import Deliverable, DeliverableState, Milestone
from domain.errors import DomainError
from domain.events import ProjectEvent, ProjectRebaselined
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


def record(project: Project, *, did: UUID, cid: UUID) -> None:
    project.record_evidence(did, cid, "https://a.example", actor=BOB)


def _text(project: Project) -> str:
    """Everything the project holds, as text (entities' reprs show every field)."""
    return repr(sorted((k, v) for k, v in vars(project).items() if k != "_pending_events"))


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
        self.history: list[ProjectEvent] = new_events(project)
        self.last_events: list[ProjectEvent] = list(self.history)
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

    def attempt(self, command: Callable[[Project], T]) -> T | None:
        """Runs one command as the Ledger would: on a copy, kept only when it succeeds."""
        candidate = deepcopy(self.project)
        try:
            result = command(candidate)
        except DomainError:
            return None
        events = new_events(candidate)
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

    @rule(phase=st.integers(0, 2), criteria=st.integers(1, 2))
    def define_deliverable_ready_for_review(self, phase: int, criteria: int) -> None:
        """A step of several commands by BOB, so that submissions and reviews happen often."""
        self.begin_step()
        pid = self.phase_ids[phase]
        did = self.attempt(lambda p: p.define_deliverable(title="R", phase_id=pid, actor=BOB))
        assert did is not None
        for _ in range(criteria):
            cid = self.attempt(lambda p: p.add_criterion(did, "criterion", actor=BOB))
            assert cid is not None
            self.attempt(partial(record, did=did, cid=cid))

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
    @rule(n=index, aim=aim, quorum=st.sampled_from([0, 1, 2, 2, 3]))
    def set_required_approvals(self, n: int, aim: bool, quorum: int) -> None:
        did = self.deliverable(n, aim, DRAFT).id
        self.step(lambda p: p.set_required_approvals(did, quorum, actor=ALICE))

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
                assert len(d.approvals) == d.required_approvals
            elif d.state is IN_REVIEW:
                assert len(d.approvals) < d.required_approvals
            elif d.state is DRAFT:
                assert d.approvals == []

    @invariant()
    def a_quorum_changes_only_on_a_draft(self) -> None:
        for key, before in self.previous.deliverables.items():
            if before.state is not DRAFT:
                assert self.project.deliverables[key].required_approvals == (
                    before.required_approvals
                )

    @invariant()
    def no_achieved_milestone_waits_for_an_open_predecessor(self) -> None:
        for m in self.project.milestones.values():
            if m.achieved:
                assert all(not p.open for p in self.project.predecessors(m))
            assert all(0 <= lag <= 365 for lag in m.predecessors.values())

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
