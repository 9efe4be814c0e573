"""The Ledger application service over in-memory persistence: roles, versions, no-ops, storage."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from uuid import UUID, uuid4

import pytest
from eventsourcing.application import Repository

from application.ledger import CommandResult, Ledger
from domain.entities import DeliverableKind, DeliverableState, MilestoneStatus
from domain.errors import (
    InvalidValueError,
    PermissionDeniedError,
    ProjectNotFoundError,
    RuleViolationError,
    VersionMismatchError,
)
from domain.project import Project
from domain.roles import ProjectRole

from .helpers import ALICE, BOB, CAROL, DUE

MANAGER, CONTRIBUTOR, REVIEWER = ProjectRole.MANAGER, ProjectRole.CONTRIBUTOR, ProjectRole.REVIEWER


def in_memory_ledger(**env: str) -> Ledger:
    return Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo", **env})


@pytest.fixture
def ledger() -> Iterator[Ledger]:
    app = in_memory_ledger()
    yield app
    app.close()


def new_project(ledger: Ledger) -> UUID:
    """A project managed by ALICE, with BOB contributor, CAROL reviewer and DAVE viewer."""
    pid = ledger.create_project(name="Apollo", actor=ALICE).project_id

    def add_members(p: Project) -> None:
        p.set_member(BOB, CONTRIBUTOR, actor=ALICE)
        p.set_member(CAROL, REVIEWER, actor=ALICE)
        p.set_member("dave", ProjectRole.VIEWER, actor=ALICE)

    ledger.execute(pid, add_members, actor=ALICE, needs=MANAGER)
    return pid


def add_phase(ledger: Ledger, pid: UUID) -> UUID:
    result = ledger.execute(
        pid, lambda p: {"phase_id": p.add_phase("Design", actor=ALICE)}, actor=ALICE, needs=MANAGER
    )
    return result.ids["phase_id"]


def as_manager(
    ledger: Ledger,
    pid: UUID,
    act: Callable[[Project], object],
    *,
    expected_version: int | None = None,
) -> CommandResult:
    """Runs `act` as ALICE, the manager, ignoring what it returns."""

    def command(project: Project) -> None:
        act(project)

    return ledger.execute(
        pid, command, actor=ALICE, needs=MANAGER, expected_version=expected_version
    )


def version_of(ledger: Ledger, pid: UUID) -> int:
    return ledger.get_project(pid, reader=ALICE).version


def test_creating_a_project_makes_the_creator_its_manager() -> None:
    ledger = in_memory_ledger()

    result = ledger.create_project(name="Apollo", timezone="Europe/Paris", actor=ALICE)

    project = ledger.get_project(result.project_id, reader=ALICE)
    assert (result.version, result.changed) == (1, True)
    assert result.ids == {"project_id": result.project_id}
    assert result.position is not None
    assert project.role_of(ALICE) is MANAGER
    assert project.timezone == "Europe/Paris"


def test_a_command_answers_the_new_version_and_a_later_position(ledger: Ledger) -> None:
    created = ledger.create_project(name="Apollo", actor=ALICE)

    result = ledger.execute(
        created.project_id,
        lambda p: {"phase_id": p.add_phase("Design", actor=ALICE)},
        actor=ALICE,
        needs=MANAGER,
    )

    assert result.version == 2
    assert result.position is not None
    assert created.position is not None
    assert result.position > created.position
    assert set(result.ids) == {"phase_id"}


def test_an_unknown_project_is_not_found(ledger: Ledger) -> None:
    with pytest.raises(ProjectNotFoundError):
        ledger.get_project(uuid4(), reader=ALICE)


def test_a_principal_without_a_role_does_not_see_the_project(ledger: Ledger) -> None:
    pid = new_project(ledger)

    with pytest.raises(ProjectNotFoundError):
        ledger.get_project(pid, reader="mallory")


def test_a_reader_of_every_project_sees_it_without_a_role(ledger: Ledger) -> None:
    pid = new_project(ledger)

    project = ledger.get_project(pid, reader="auditor", read_all=True)

    assert project.id == pid


def test_a_command_from_a_principal_without_a_role_is_not_found(ledger: Ledger) -> None:
    pid = new_project(ledger)

    with pytest.raises(ProjectNotFoundError):
        ledger.execute(pid, lambda p: None, actor="mallory", needs=ProjectRole.VIEWER)


def test_a_viewer_cannot_do_what_a_contributor_does(ledger: Ledger) -> None:
    pid = new_project(ledger)
    phase = add_phase(ledger, pid)

    with pytest.raises(PermissionDeniedError):
        ledger.execute(
            pid,
            lambda p: {"id": p.define_deliverable(title="Spec", phase_id=phase, actor="dave")},
            actor="dave",
            needs=CONTRIBUTOR,
        )

    assert ledger.get_project(pid, reader=ALICE).deliverables == {}


def test_a_contributor_cannot_do_what_a_manager_does(ledger: Ledger) -> None:
    pid = new_project(ledger)

    with pytest.raises(PermissionDeniedError):
        ledger.execute(pid, lambda p: p.rebaseline("why", actor=BOB), actor=BOB, needs=MANAGER)


def test_a_higher_role_may_do_what_a_lower_one_does(ledger: Ledger) -> None:
    pid = new_project(ledger)
    phase = add_phase(ledger, pid)

    result = ledger.execute(
        pid,
        lambda p: {"id": p.define_deliverable(title="Spec", phase_id=phase, actor=ALICE)},
        actor=ALICE,
        needs=CONTRIBUTOR,
    )

    assert result.changed


def test_a_command_at_the_expected_version_applies(ledger: Ledger) -> None:
    pid = new_project(ledger)
    current = version_of(ledger, pid)

    result = as_manager(
        ledger, pid, lambda p: p.rebaseline("plan", actor=ALICE), expected_version=current
    )

    assert result.version == current + 1


def test_a_command_at_another_version_is_refused_and_writes_nothing(ledger: Ledger) -> None:
    pid = new_project(ledger)
    current = version_of(ledger, pid)

    with pytest.raises(VersionMismatchError) as excinfo:
        as_manager(
            ledger, pid, lambda p: p.rebaseline("plan", actor=ALICE), expected_version=current - 1
        )

    assert (excinfo.value.expected, excinfo.value.actual) == (current - 1, current)
    assert version_of(ledger, pid) == current


def test_a_clash_without_an_expected_version_is_retried_on_fresh_state(ledger: Ledger) -> None:
    pid = new_project(ledger)
    current = version_of(ledger, pid)
    attempts: list[int] = []

    def rebaseline_after_a_concurrent_write(p: Project) -> None:
        attempts.append(p.version)
        if len(attempts) == 1:  # another writer gets in between our read and our write
            as_manager(ledger, pid, lambda q: q.add_phase("Build", actor=ALICE))
        p.rebaseline("plan", actor=ALICE)

    result = ledger.execute(pid, rebaseline_after_a_concurrent_write, actor=ALICE, needs=MANAGER)

    assert attempts == [current, current + 1]
    assert result.version == current + 2
    assert len(ledger.get_project(pid, reader=ALICE).phases) == 1


def test_a_clash_with_an_expected_version_is_a_version_mismatch(ledger: Ledger) -> None:
    pid = new_project(ledger)

    def rebaseline_after_a_concurrent_write(p: Project) -> None:
        as_manager(ledger, pid, lambda q: q.add_phase("Build", actor=ALICE))
        p.rebaseline("plan", actor=ALICE)

    with pytest.raises(VersionMismatchError):
        as_manager(
            ledger,
            pid,
            rebaseline_after_a_concurrent_write,
            expected_version=version_of(ledger, pid),
        )


def test_a_command_that_changes_nothing_writes_no_event(ledger: Ledger) -> None:
    pid = new_project(ledger)
    current = version_of(ledger, pid)

    result = ledger.execute(
        pid, lambda p: p.set_member(BOB, CONTRIBUTOR, actor=ALICE), actor=ALICE, needs=MANAGER
    )

    assert (result.changed, result.position, result.version) == (False, None, current)
    assert version_of(ledger, pid) == current


def test_a_refused_command_writes_nothing(ledger: Ledger) -> None:
    pid = new_project(ledger)
    current = version_of(ledger, pid)

    with pytest.raises(RuleViolationError):
        ledger.execute(
            pid, lambda p: p.remove_member(ALICE, actor=ALICE), actor=ALICE, needs=MANAGER
        )

    assert version_of(ledger, pid) == current


def test_a_refused_edit_writes_none_of_its_fields(ledger: Ledger) -> None:
    pid = new_project(ledger)
    phase = add_phase(ledger, pid)
    did = ledger.execute(
        pid,
        lambda p: {"id": p.define_deliverable(title="Spec", phase_id=phase, actor=BOB)},
        actor=BOB,
        needs=CONTRIBUTOR,
    ).ids["id"]
    current = version_of(ledger, pid)

    with pytest.raises(InvalidValueError):
        ledger.execute(
            pid,
            lambda p: p.update_deliverable(did, title="New", description="d" * 10_001, actor=BOB),
            actor=BOB,
            needs=CONTRIBUTOR,
        )

    project = ledger.get_project(pid, reader=BOB)
    assert project.deliverable(did).title == "Spec"
    assert project.version == current


# --- storage: events and snapshots through the transcoder ----------------------------------


def busy_project(ledger: Ledger, *, extra_events: int = 0) -> UUID:
    """A project that has seen every kind of event, plus `extra_events` re-baselines."""
    pid = new_project(ledger)
    phase = add_phase(ledger, pid)

    def contribute(p: Project) -> dict[str, UUID]:
        did = p.define_deliverable(title="Spec", phase_id=phase, owner=BOB, actor=BOB)
        p.update_deliverable(
            did,
            title="Spec v2",
            description="all of it",
            owner=None,
            kind=DeliverableKind.SOFTWARE,
            actor=BOB,
        )
        p.add_phase("Build", actor=ALICE)
        cid = p.add_criterion(did, "complete", actor=BOB)
        p.record_evidence(did, cid, "first", actor=BOB)
        p.record_evidence(did, cid, "https://example.org/spec", "b" * 64, actor=BOB)
        p.submit(did, note="ready", actor=BOB)
        p.reject(did, "typo", actor=CAROL)
        p.submit(did, actor=BOB)
        p.approve(did, comment="good", actor=CAROL)
        dropped = p.define_deliverable(title="Dropped", phase_id=phase, actor=BOB)
        p.cancel_deliverable(dropped, "descoped", actor=ALICE)
        m1 = p.define_milestone(
            name="M1", phase_id=phase, due=DUE, deliverable_ids=[did], actor=ALICE
        )
        m2 = p.define_milestone(name="M2", phase_id=phase, due=DUE, deliverable_ids=[], actor=ALICE)
        p.link(m2, did, actor=ALICE)
        p.unlink(m2, did, actor=ALICE)
        p.reschedule(m1, DUE + timedelta(days=3), "late", actor=ALICE)
        p.rebaseline("plan v2", actor=ALICE)
        p.achieve(m1, actor=ALICE)
        p.reopen_milestone(m1, "recheck", actor=ALICE)
        p.achieve(m1, note="again", actor=ALICE)
        p.cancel_milestone(m2, "not needed", actor=ALICE)
        p.set_member(BOB, REVIEWER, actor=ALICE)
        p.remove_member("dave", actor=ALICE)
        return {"deliverable_id": did, "milestone_id": m1}

    as_manager(ledger, pid, contribute)
    for _ in range(extra_events):
        as_manager(ledger, pid, lambda p: p.rebaseline("plan again", actor=ALICE))
    return pid


def test_every_event_survives_the_round_trip_through_storage(ledger: Ledger) -> None:
    pid = busy_project(ledger)
    live = ledger.get_project(pid, reader=ALICE)

    replayed: Project = Repository(ledger.events).get(
        pid
    )  # no cache, no snapshot: decoded events only

    assert replayed == live
    [m1, m2] = replayed.milestones.values()
    assert (m1.status, m2.status) == (MilestoneStatus.ACHIEVED, MilestoneStatus.CANCELLED)
    assert (m1.due, m1.baseline_due, m1.original_baseline_due) == (
        DUE + timedelta(days=3),
        DUE + timedelta(days=3),
        DUE,
    )
    assert isinstance(m1.due, date)


def test_a_snapshot_is_taken_every_hundred_events(ledger: Ledger) -> None:
    pid = busy_project(ledger, extra_events=100)

    assert ledger.snapshots is not None
    snapshots = list(ledger.snapshots.get(pid))
    assert [s.originator_version for s in snapshots] == [100]
    assert ledger.get_project(pid, reader=ALICE).version > 100


def test_a_project_restored_from_its_snapshot_equals_the_live_one(ledger: Ledger) -> None:
    pid = busy_project(ledger)
    ledger.take_snapshot(pid)
    live = ledger.get_project(pid, reader=ALICE)

    restored: Project = Repository(ledger.events, snapshot_store=ledger.snapshots).get(pid)

    assert restored == live
    [deliverable, dropped] = restored.deliverables.values()
    assert (deliverable.state, dropped.state) == (
        DeliverableState.APPROVED,
        DeliverableState.CANCELLED,
    )
    assert deliverable.kind is DeliverableKind.SOFTWARE
    [criterion] = deliverable.criteria.values()
    assert criterion.evidence is not None
    assert criterion.evidence.sha256 == "b" * 64
    assert all(isinstance(m.status, MilestoneStatus) for m in restored.milestones.values())


def test_a_project_restored_from_its_snapshot_keeps_its_members_roles(ledger: Ledger) -> None:
    pid = busy_project(ledger)
    ledger.take_snapshot(pid)

    restored: Project = Repository(ledger.events, snapshot_store=ledger.snapshots).get(pid)

    assert restored.role_of(ALICE) is MANAGER


def test_commands_still_apply_after_a_snapshot_when_the_project_is_loaded_from_storage() -> None:
    ledger = in_memory_ledger(AGGREGATE_CACHE_MAXSIZE="")  # no cache: as a fresh process would
    pid = busy_project(ledger, extra_events=100)

    result = as_manager(ledger, pid, lambda p: p.rebaseline("after snapshot", actor=ALICE))

    assert result.changed
