"""The schedule, alignment and project-list views as a user reads them, on a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from psycopg import Connection
from psycopg_pool import ConnectionPool

from application.access import Principal
from application.ledger import Ledger
from application.results import CommandResult
from domain.entities import DeliverableKind
from domain.project import Project
from domain.roles import ProjectRole
from projections import all_ddl, all_views
from projections.projects import list_projects
from projections.runner import ProjectionRunner
from projections.schedule import get_alignment, get_schedule
from tests.commanding import run_as

# A fixed "now" for health: the views answer relative to the day it falls on.
NOW = datetime(2030, 6, 15, 12, 0, tzinfo=UTC)
TODAY = NOW.date()

Pool = ConnectionPool[Connection[Any]]


@pytest.fixture(scope="module")
def pool(database_url: str) -> Iterator[Pool]:
    with ConnectionPool[Connection[Any]](database_url, min_size=1, max_size=3) as opened:
        with opened.connection() as conn:
            for statement in all_ddl():
                conn.execute(statement)
        yield opened


@pytest.fixture
def runner(ledger: Ledger, pool: Pool) -> Iterator[ProjectionRunner]:
    built = ProjectionRunner(ledger, pool, all_views())
    try:
        yield built
    finally:
        built.stop()


class Plan:
    """Drives one project through the ledger's commands, as its manager."""

    def __init__(self, ledger: Ledger, *, timezone: str = "UTC", risk_window_days: int = 7):
        self.ledger = ledger
        self.manager = f"manager-{uuid4().hex[:8]}"
        self.reviewer = f"reviewer-{uuid4().hex[:8]}"
        created = ledger.create_project(
            Principal(self.manager),
            name=f"Project {uuid4().hex[:6]}",
            timezone=timezone,
            risk_window_days=risk_window_days,
        )
        self.id = created.project_id
        self.last = created
        self.run(lambda p: p.set_member(self.reviewer, ProjectRole.REVIEWER, actor=self.manager))

    def run(
        self, act: Callable[[Project], dict[str, UUID] | None], actor: str | None = None
    ) -> CommandResult:
        self.last = run_as(
            self.ledger,
            # Roles are the ledger's concern (tested there); every actor here is a member.
            self.id,
            act,
            actor=actor or self.manager,
            needs=ProjectRole.VIEWER,
        )
        return self.last

    def _created(self, act: Callable[[Project], UUID]) -> UUID:
        return self.run(lambda p: {"id": act(p)}).ids["id"]

    def phase(self, name: str) -> UUID:
        return self._created(lambda p: p.add_phase(name, actor=self.manager))

    def deliverable(self, title: str, phase_id: UUID, *, criteria: int = 1) -> UUID:
        did = self._created(
            lambda p: p.define_deliverable(title=title, phase_id=phase_id, actor=self.manager)
        )
        for n in range(criteria):
            self.criterion(did, f"criterion {n}")
        return did

    def criterion(self, deliverable_id: UUID, text: str) -> UUID:
        return self._created(lambda p: p.add_criterion(deliverable_id, text, actor=self.manager))

    def evidence(self, deliverable_id: UUID, criterion_id: UUID, evidence: str) -> None:
        self.run(
            lambda p: p.record_evidence(deliverable_id, criterion_id, evidence, actor=self.manager)
        )

    def approve(self, deliverable_id: UUID) -> None:
        """Meet every criterion, submit as the manager, approve as the reviewer."""

        def meet_and_submit(p: Project) -> None:
            for criterion in p.deliverable(deliverable_id).criteria.values():
                p.record_evidence(deliverable_id, criterion.id, "https://e/1", actor=self.manager)
            p.submit(deliverable_id, actor=self.manager)

        self.run(meet_and_submit)
        self.run(lambda p: p.approve(deliverable_id, actor=self.reviewer), actor=self.reviewer)

    def milestone(
        self, name: str, phase_id: UUID, due: date, deliverables: tuple[UUID, ...] = ()
    ) -> UUID:
        return self._created(
            lambda p: p.define_milestone(
                name=name,
                phase_id=phase_id,
                due=due,
                deliverable_ids=list(deliverables),
                actor=self.manager,
            )
        )


def schedule_of(
    runner: ProjectionRunner, pool: Pool, plan: Plan, now: datetime = NOW
) -> dict[str, Any]:
    runner.catch_up()
    with pool.connection() as conn:
        schedule = get_schedule(conn, plan.id, now)
    assert schedule is not None
    return schedule


def milestones_of(schedule: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["name"]: m for phase in schedule["phases"] for m in phase["milestones"]}


def alignment_of(runner: ProjectionRunner, pool: Pool, plan: Plan) -> dict[str, Any]:
    runner.catch_up()
    with pool.connection() as conn:
        alignment = get_alignment(conn, plan.id)
    assert alignment is not None
    return alignment


def projects_of(
    runner: ProjectionRunner, pool: Pool, principal: str, *, read_all: bool = False
) -> dict[UUID, dict[str, Any]]:
    """Every project the principal reads, following the pages as a client follows the Link."""
    runner.catch_up()
    listed: dict[UUID, dict[str, Any]] = {}
    after: tuple[str, UUID] | None = None
    with pool.connection() as conn:
        while page := list_projects(conn, principal, read_all, after=after):
            listed.update((p["id"], p) for p in page)
            after = (page[-1]["name"], page[-1]["id"])
    return listed


# --- schedule ----------------------------------------------------------------------------


def test_schedule_lists_phases_in_order_and_milestones_by_due_then_name(
    ledger: Ledger, pool: Pool, runner: ProjectionRunner
) -> None:
    plan = Plan(ledger)
    build = plan.phase("Build")
    design = plan.phase("Design")
    plan.milestone("Zeta", build, date(2030, 7, 1))
    plan.milestone("Alpha", build, date(2030, 7, 1))
    plan.milestone("First", build, date(2030, 6, 20))

    schedule = schedule_of(runner, pool, plan)

    assert [p["name"] for p in schedule["phases"]] == ["Build", "Design"]
    assert [p["id"] for p in schedule["phases"]] == [build, design]
    assert [m["name"] for m in schedule["phases"][0]["milestones"]] == ["First", "Alpha", "Zeta"]
    assert schedule["phases"][1]["milestones"] == []
    assert schedule["version"] == plan.last.version
    assert schedule["position"] == plan.last.position
    assert schedule["today"] == TODAY


def test_reschedule_keeps_the_baseline_and_reports_the_slip(
    ledger: Ledger, pool: Pool, runner: ProjectionRunner
) -> None:
    plan = Plan(ledger)
    phase = plan.phase("Build")
    mid = plan.milestone("Beta", phase, date(2030, 9, 1))
    plan.run(lambda p: p.reschedule(mid, date(2030, 9, 11), "vendor late", actor=plan.manager))

    beta = milestones_of(schedule_of(runner, pool, plan))["Beta"]

    assert beta["due"] == date(2030, 9, 11)
    assert beta["baseline_due"] == date(2030, 9, 1)
    assert beta["original_baseline_due"] == date(2030, 9, 1)
    assert beta["slip_days"] == 10


def test_rebaseline_moves_the_baseline_to_the_due_and_keeps_the_original(
    ledger: Ledger, pool: Pool, runner: ProjectionRunner
) -> None:
    plan = Plan(ledger)
    phase = plan.phase("Build")
    mid = plan.milestone("Beta", phase, date(2030, 9, 1))
    plan.run(lambda p: p.reschedule(mid, date(2030, 9, 11), "vendor late", actor=plan.manager))
    plan.run(lambda p: p.rebaseline("new contract", actor=plan.manager))
    plan.run(lambda p: p.reschedule(mid, date(2030, 9, 8), "caught up", actor=plan.manager))

    beta = milestones_of(schedule_of(runner, pool, plan))["Beta"]

    assert beta["baseline_due"] == date(2030, 9, 11)
    assert beta["original_baseline_due"] == date(2030, 9, 1)
    assert beta["slip_days"] == -3


@pytest.mark.parametrize(
    ("days_to_due", "approved", "health"),
    [
        (-1, True, "overdue"),
        (0, False, "at_risk"),
        (7, False, "at_risk"),
        (8, False, "on_track"),
        (3, True, "on_track"),
    ],
)
def test_health_of_an_open_milestone_depends_on_today_and_its_evidence(
    ledger: Ledger,
    pool: Pool,
    runner: ProjectionRunner,
    days_to_due: int,
    approved: bool,
    health: str,
) -> None:
    plan = Plan(ledger)
    phase = plan.phase("Build")
    did = plan.deliverable("Report", phase)
    if approved:
        plan.approve(did)
    plan.milestone("Gate", phase, TODAY + timedelta(days=days_to_due), (did,))

    assert milestones_of(schedule_of(runner, pool, plan))["Gate"]["health"] == health


def test_health_is_derived_at_read_time_so_it_changes_with_the_day(
    ledger: Ledger, pool: Pool, runner: ProjectionRunner
) -> None:
    plan = Plan(ledger)
    phase = plan.phase("Build")
    plan.milestone("Gate", phase, date(2030, 7, 1), (plan.deliverable("Report", phase),))

    def health_on(now: datetime) -> str:
        return str(milestones_of(schedule_of(runner, pool, plan, now))["Gate"]["health"])

    assert health_on(datetime(2030, 6, 1, tzinfo=UTC)) == "on_track"
    assert health_on(datetime(2030, 6, 28, tzinfo=UTC)) == "at_risk"
    assert health_on(datetime(2030, 7, 2, tzinfo=UTC)) == "overdue"


def test_health_uses_the_projects_time_zone(
    ledger: Ledger, pool: Pool, runner: ProjectionRunner
) -> None:
    plan = Plan(ledger, timezone="Pacific/Auckland")
    phase = plan.phase("Build")
    plan.milestone("Gate", phase, date(2030, 6, 15), (plan.deliverable("Report", phase),))

    # 13:00 UTC on the 15th is already the 16th in Auckland: the milestone is overdue there.
    schedule = schedule_of(runner, pool, plan, datetime(2030, 6, 15, 13, 0, tzinfo=UTC))

    assert schedule["today"] == date(2030, 6, 16)
    assert milestones_of(schedule)["Gate"]["health"] == "overdue"


def test_achieved_milestones_are_on_time_or_late_by_the_day_they_were_achieved(
    ledger: Ledger, pool: Pool, runner: ProjectionRunner
) -> None:
    plan = Plan(ledger)
    phase = plan.phase("Build")
    did = plan.deliverable("Report", phase)
    plan.approve(did)
    real_today = datetime.now(UTC).date()
    on_time = plan.milestone("On time", phase, real_today + timedelta(days=1), (did,))
    late = plan.milestone("Late", phase, real_today - timedelta(days=1), (did,))
    plan.run(lambda p: p.achieve(on_time, actor=plan.manager))
    plan.run(lambda p: p.achieve(late, actor=plan.manager))

    milestones = milestones_of(schedule_of(runner, pool, plan))

    assert milestones["On time"]["health"] == "achieved_on_time"
    assert milestones["Late"]["health"] == "achieved_late"
    assert milestones["Late"]["achieved"] is True
    assert milestones["Late"]["status"] == "achieved"
    assert milestones["Late"]["achieved_by"] == plan.manager
    achieved_at = milestones["Late"]["achieved_at"]
    assert achieved_at.tzinfo is not None
    assert abs(datetime.now(UTC) - achieved_at) < timedelta(minutes=5)


def test_reopened_milestone_is_no_longer_achieved(
    ledger: Ledger, pool: Pool, runner: ProjectionRunner
) -> None:
    plan = Plan(ledger)
    phase = plan.phase("Build")
    did = plan.deliverable("Report", phase)
    plan.approve(did)
    mid = plan.milestone("Gate", phase, TODAY + timedelta(days=30), (did,))
    plan.run(lambda p: p.achieve(mid, actor=plan.manager))
    plan.run(lambda p: p.reopen_milestone(mid, "evidence was wrong", actor=plan.manager))

    gate = milestones_of(schedule_of(runner, pool, plan))["Gate"]

    assert (gate["achieved"], gate["status"]) == (False, "not_achieved")
    assert (gate["achieved_at"], gate["achieved_by"]) == (None, None)
    assert gate["health"] == "on_track"


def test_cancelled_milestone_shows_as_cancelled(
    ledger: Ledger, pool: Pool, runner: ProjectionRunner
) -> None:
    plan = Plan(ledger)
    phase = plan.phase("Build")
    mid = plan.milestone("Gate", phase, TODAY - timedelta(days=3))
    plan.run(lambda p: p.cancel_milestone(mid, "descoped", actor=plan.manager))

    gate = milestones_of(schedule_of(runner, pool, plan))["Gate"]

    assert (gate["status"], gate["achieved"], gate["health"]) == ("cancelled", False, "cancelled")


def test_criteria_met_counts_each_criterion_once_even_when_evidence_is_recorded_again(
    ledger: Ledger, pool: Pool, runner: ProjectionRunner
) -> None:
    plan = Plan(ledger)
    phase = plan.phase("Build")
    did = plan.deliverable("Report", phase, criteria=0)
    first = plan.criterion(did, "includes methodology")
    second = plan.criterion(did, "peer reviewed")
    plan.criterion(did, "signed off")
    plan.milestone("Gate", phase, TODAY + timedelta(days=30), (did,))
    plan.evidence(did, first, "https://e/1")
    plan.evidence(did, first, "https://e/1-corrected")
    plan.evidence(did, second, "review notes")

    (report,) = milestones_of(schedule_of(runner, pool, plan))["Gate"]["deliverables"]

    assert report == {
        "id": did,
        "title": "Report",
        "state": "draft",
        "criteria_met": 2,
        "criteria_total": 3,
        "required_approvals": 1,
        "approvals": [],
    }


def test_linked_deliverables_show_their_state_in_link_order(
    ledger: Ledger, pool: Pool, runner: ProjectionRunner
) -> None:
    plan = Plan(ledger)
    phase = plan.phase("Build")
    approved = plan.deliverable("Approved one", phase)
    plan.approve(approved)
    submitted = plan.deliverable("Submitted one", phase)
    unlinked = plan.deliverable("Unlinked later", phase)
    mid = plan.milestone("Gate", phase, TODAY + timedelta(days=3), (approved, unlinked))
    plan.run(lambda p: p.link(mid, submitted, actor=plan.manager))
    plan.run(lambda p: p.unlink(mid, unlinked, actor=plan.manager))
    plan.approve(submitted)
    plan.run(lambda p: p.reopen_deliverable(submitted, "typo", actor=plan.manager))
    plan.run(lambda p: p.update_deliverable(submitted, title="Resubmitted", actor=plan.manager))

    gate = milestones_of(schedule_of(runner, pool, plan))["Gate"]

    assert [(d["title"], d["state"]) for d in gate["deliverables"]] == [
        ("Approved one", "approved"),
        ("Resubmitted", "draft"),
    ]
    assert gate["health"] == "at_risk"  # R3 would refuse it: one linked deliverable is a draft


def test_a_cancelled_linked_deliverable_does_not_block_the_milestone(
    ledger: Ledger, pool: Pool, runner: ProjectionRunner
) -> None:
    plan = Plan(ledger)
    phase = plan.phase("Build")
    approved = plan.deliverable("Approved", phase)
    plan.approve(approved)
    dropped = plan.deliverable("Dropped", phase)
    plan.milestone("Gate", phase, TODAY + timedelta(days=3), (approved, dropped))
    plan.run(lambda p: p.cancel_deliverable(dropped, "not needed", actor=plan.manager))

    gate = milestones_of(schedule_of(runner, pool, plan))["Gate"]

    assert gate["health"] == "on_track"
    assert [d["state"] for d in gate["deliverables"]] == ["approved", "cancelled"]


def test_unknown_project_has_no_schedule_and_no_alignment(pool: Pool) -> None:
    with pool.connection() as conn:
        assert get_schedule(conn, uuid4(), NOW) is None
        assert get_alignment(conn, uuid4()) is None


# --- alignment (R11) ---------------------------------------------------------------------


def test_project_with_every_milestone_proven_and_every_deliverable_timed_is_aligned(
    ledger: Ledger, pool: Pool, runner: ProjectionRunner
) -> None:
    plan = Plan(ledger)
    phase = plan.phase("Build")
    plan.milestone("Gate", phase, TODAY, (plan.deliverable("Report", phase),))

    assert alignment_of(runner, pool, plan) == {
        "aligned": True,
        "milestones_without_deliverables": [],
        "deliverables_without_milestones": [],
        "deliverables_without_criteria": [],
        "milestones_late_by_forecast": [],
    }


def test_alignment_reports_activity_without_evidence_and_evidence_without_timing(
    ledger: Ledger, pool: Pool, runner: ProjectionRunner
) -> None:
    plan = Plan(ledger)
    phase = plan.phase("Build")
    bare = plan.milestone("Bare", phase, TODAY)
    untimed = plan.deliverable("Untimed", phase)
    vague = plan.deliverable("Vague", phase, criteria=0)
    plan.milestone("Gate", phase, TODAY, (vague,))

    alignment = alignment_of(runner, pool, plan)

    assert alignment["aligned"] is False
    assert alignment["milestones_without_deliverables"] == [
        {"id": bare, "name": "Bare", "phase_id": phase}
    ]
    assert alignment["deliverables_without_milestones"] == [
        {"id": untimed, "title": "Untimed", "phase_id": phase}
    ]
    assert alignment["deliverables_without_criteria"] == [
        {"id": vague, "title": "Vague", "phase_id": phase}
    ]


def test_cancelled_milestones_and_deliverables_are_left_out_of_alignment(
    ledger: Ledger, pool: Pool, runner: ProjectionRunner
) -> None:
    plan = Plan(ledger)
    phase = plan.phase("Build")
    bare = plan.milestone("Bare", phase, TODAY)
    untimed = plan.deliverable("Untimed", phase, criteria=0)
    plan.run(lambda p: p.cancel_milestone(bare, "descoped", actor=plan.manager))
    plan.run(lambda p: p.cancel_deliverable(untimed, "descoped", actor=plan.manager))

    assert alignment_of(runner, pool, plan)["aligned"] is True


def test_links_to_cancelled_things_do_not_count_for_alignment(
    ledger: Ledger, pool: Pool, runner: ProjectionRunner
) -> None:
    plan = Plan(ledger)
    phase = plan.phase("Build")
    dropped = plan.deliverable("Dropped", phase)
    only_dropped = plan.milestone("Proven by a cancelled deliverable", phase, TODAY, (dropped,))
    orphan = plan.deliverable("Timed by a cancelled milestone", phase)
    cancelled = plan.milestone("Cancelled", phase, TODAY, (orphan,))
    plan.run(lambda p: p.cancel_deliverable(dropped, "not needed", actor=plan.manager))
    plan.run(lambda p: p.cancel_milestone(cancelled, "descoped", actor=plan.manager))

    alignment = alignment_of(runner, pool, plan)

    assert [m["id"] for m in alignment["milestones_without_deliverables"]] == [only_dropped]
    assert [d["id"] for d in alignment["deliverables_without_milestones"]] == [orphan]


def test_alignment_shows_a_deliverables_current_title_and_phase(
    ledger: Ledger, pool: Pool, runner: ProjectionRunner
) -> None:
    plan = Plan(ledger)
    design = plan.phase("Design")
    build = plan.phase("Build")
    did = plan.deliverable("Draft title", design)
    plan.run(
        lambda p: p.update_deliverable(
            did,
            title="Final title",
            phase_id=build,
            kind=DeliverableKind.REPORT,
            owner="someone",
            description="now described",
            actor=plan.manager,
        )
    )

    (item,) = alignment_of(runner, pool, plan)["deliverables_without_milestones"]

    assert item == {"id": did, "title": "Final title", "phase_id": build}


# --- project list ------------------------------------------------------------------------


def test_project_list_shows_only_the_projects_the_principal_is_a_member_of(
    ledger: Ledger, pool: Pool, runner: ProjectionRunner
) -> None:
    mine, theirs = Plan(ledger), Plan(ledger)
    viewer = f"viewer-{uuid4().hex[:8]}"
    theirs.run(lambda p: p.set_member(viewer, ProjectRole.VIEWER, actor=theirs.manager))

    assert set(projects_of(runner, pool, mine.manager)) == {mine.id}
    assert projects_of(runner, pool, viewer)[theirs.id]["role"] == "viewer"
    assert projects_of(runner, pool, f"stranger-{uuid4().hex[:8]}") == {}


def test_read_all_lists_every_project(ledger: Ledger, pool: Pool, runner: ProjectionRunner) -> None:
    first, second = Plan(ledger), Plan(ledger)

    listed = projects_of(runner, pool, f"auditor-{uuid4().hex[:8]}", read_all=True)

    assert {first.id, second.id} <= set(listed)
    assert listed[first.id]["role"] is None


def test_members_whose_role_changes_or_who_are_removed_are_listed_accordingly(
    ledger: Ledger, pool: Pool, runner: ProjectionRunner
) -> None:
    plan = Plan(ledger)
    helper = f"helper-{uuid4().hex[:8]}"
    plan.run(lambda p: p.set_member(helper, ProjectRole.VIEWER, actor=plan.manager))
    plan.run(lambda p: p.set_member(helper, ProjectRole.CONTRIBUTOR, actor=plan.manager))
    assert projects_of(runner, pool, helper)[plan.id]["role"] == "contributor"

    plan.run(lambda p: p.remove_member(helper, actor=plan.manager))

    assert projects_of(runner, pool, helper) == {}


def test_project_list_shows_version_counts_by_state_and_the_next_due_milestone(
    ledger: Ledger, pool: Pool, runner: ProjectionRunner
) -> None:
    plan = Plan(ledger)
    phase = plan.phase("Build")
    approved = plan.deliverable("Approved", phase)
    plan.approve(approved)
    reopened = plan.deliverable("Reopened", phase)
    plan.approve(reopened)
    plan.run(lambda p: p.reopen_deliverable(reopened, "typo", actor=plan.manager))
    in_review = plan.deliverable("In review", phase)
    plan.run(
        lambda p: p.record_evidence(
            in_review, _only_criterion(p, in_review), "x", actor=plan.manager
        )
    )
    plan.run(lambda p: p.submit(in_review, actor=plan.manager))
    dropped = plan.deliverable("Dropped", phase)
    plan.run(lambda p: p.cancel_deliverable(dropped, "not needed", actor=plan.manager))
    achieved = plan.milestone("Achieved", phase, TODAY - timedelta(days=9), (approved,))
    plan.run(lambda p: p.achieve(achieved, actor=plan.manager))
    cancelled = plan.milestone("Cancelled", phase, TODAY - timedelta(days=5))
    plan.run(lambda p: p.cancel_milestone(cancelled, "descoped", actor=plan.manager))
    later = plan.milestone("Later", phase, TODAY + timedelta(days=20))
    plan.milestone("Sooner", phase, TODAY + timedelta(days=10))

    project = projects_of(runner, pool, plan.manager)[plan.id]

    assert project["version"] == plan.last.version
    assert project["position"] == plan.last.position
    assert project["role"] == "manager"
    assert project["counts"] == {
        "deliverables": {"draft": 1, "in_review": 1, "approved": 1, "cancelled": 1},
        "milestones": {"not_achieved": 2, "achieved": 1, "cancelled": 1},
    }
    sooner = project["next_due_milestone"]
    assert (sooner["name"], sooner["due"]) == ("Sooner", TODAY + timedelta(days=10))

    plan.run(lambda p: p.cancel_milestone(sooner["id"], "descoped", actor=plan.manager))

    assert projects_of(runner, pool, plan.manager)[plan.id]["next_due_milestone"]["id"] == later


def test_new_project_has_zero_counts_and_no_next_milestone(
    ledger: Ledger, pool: Pool, runner: ProjectionRunner
) -> None:
    plan = Plan(ledger)

    project = projects_of(runner, pool, plan.manager)[plan.id]

    assert project["counts"]["deliverables"] == dict.fromkeys(
        ["draft", "in_review", "approved", "cancelled"], 0
    )
    assert project["next_due_milestone"] is None
    assert project["created_at"] <= project["updated_at"]


def _only_criterion(project: Project, deliverable_id: UUID) -> UUID:
    (criterion,) = project.deliverable(deliverable_id).criteria.values()
    return criterion.id
