"""The ledger's named commands: who may send them, versions, no-ops, retries, and storage.

Each test runs on the in-memory store and on PostgreSQL (see conftest.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.application import Repository

from application.access import Admission, GlobalRole, Principal
from application.ledger import Ledger
from application.results import CommandResult
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

from .conftest import ALICE, BOB, CAROL, DAVE, MakeLedger, as_, new_project

DUE = date(2026, 12, 15)


def add_phase(ledger: Ledger, pid: UUID, name: str = "Design") -> UUID:
    return ledger.add_phase(as_(ledger, pid, ALICE), name).ids["phase_id"]


def version_of(ledger: Ledger, pid: UUID) -> int:
    return ledger.load(pid).version


def at_version(admitted: Admission, version: int) -> Admission:
    """The admission of a command sent with `If-Match: "<version>"`."""
    return replace(admitted, expected_version=version)


def test_creating_a_project_makes_the_creator_its_manager(ledger: Ledger) -> None:
    result = ledger.create_project(Principal(ALICE), name="Apollo", timezone="Europe/Paris")

    project = ledger.load(result.project_id)
    assert (result.version, result.changed, result.created) == (1, True, "project_id")
    assert result.position is not None
    assert project.role_of(ALICE) is ProjectRole.MANAGER
    assert project.timezone == "Europe/Paris"


def test_an_auditor_cannot_create_a_project(ledger: Ledger) -> None:
    with pytest.raises(PermissionDeniedError):
        ledger.create_project(Principal("audrey", GlobalRole.AUDITOR), name="Apollo")


def test_a_command_answers_the_new_version_a_later_position_and_what_it_created(
    ledger: Ledger,
) -> None:
    created = ledger.create_project(Principal(ALICE), name="Apollo")

    result = ledger.add_phase(as_(ledger, created.project_id, ALICE), "Design")

    assert result.version == 2
    assert result.position is not None
    assert created.position is not None
    assert result.position > created.position
    assert (set(result.ids), result.created) == ({"phase_id"}, "phase_id")


def test_an_unknown_project_is_not_found(ledger: Ledger) -> None:
    with pytest.raises(ProjectNotFoundError):
        as_(ledger, uuid4(), ALICE)


def test_a_principal_without_a_role_is_not_let_in(ledger: Ledger) -> None:
    pid = new_project(ledger)

    with pytest.raises(ProjectNotFoundError):
        as_(ledger, pid, "mallory")


def test_a_reader_of_every_project_is_let_in_without_a_role(ledger: Ledger) -> None:
    pid = new_project(ledger)

    admitted = as_(ledger, pid, "audrey", GlobalRole.AUDITOR)

    assert admitted.project is not None
    assert admitted.project.id == pid


def test_an_auditor_let_in_to_read_cannot_send_a_command(ledger: Ledger) -> None:
    pid = new_project(ledger)
    auditor = as_(ledger, pid, "audrey", GlobalRole.AUDITOR)

    with pytest.raises(PermissionDeniedError):
        ledger.rebaseline(auditor, "plan")


def test_a_viewer_cannot_do_what_a_contributor_does(ledger: Ledger) -> None:
    pid = new_project(ledger)
    phase = add_phase(ledger, pid)

    with pytest.raises(PermissionDeniedError):
        ledger.define_deliverable(as_(ledger, pid, DAVE), "Spec", phase)

    assert ledger.load(pid).deliverables == {}


def test_a_contributor_cannot_do_what_a_manager_does(ledger: Ledger) -> None:
    pid = new_project(ledger)

    with pytest.raises(PermissionDeniedError):
        ledger.rebaseline(as_(ledger, pid, BOB), "why")


def test_a_higher_role_may_do_what_a_lower_one_does(ledger: Ledger) -> None:
    pid = new_project(ledger)
    phase = add_phase(ledger, pid)

    result = ledger.define_deliverable(as_(ledger, pid, ALICE), "Spec", phase)

    assert result.changed


def test_the_actor_of_every_event_is_the_admitted_principal(ledger: Ledger) -> None:
    pid = new_project(ledger)
    phase = add_phase(ledger, pid)

    ledger.define_deliverable(as_(ledger, pid, BOB), "Spec", phase)

    last = list(ledger.events.get(pid))[-1]
    assert last.actor == BOB  # type: ignore[attr-defined]


def test_a_member_removed_after_being_let_in_is_refused(ledger: Ledger) -> None:
    pid = new_project(ledger)
    bob = as_(ledger, pid, BOB)
    ledger.remove_member(as_(ledger, pid, ALICE), BOB)

    with pytest.raises(ProjectNotFoundError):
        ledger.define_deliverable(bob, "Spec", add_phase(ledger, pid))


def test_a_command_at_the_expected_version_applies(ledger: Ledger) -> None:
    pid = new_project(ledger)
    current = version_of(ledger, pid)

    result = ledger.rebaseline(at_version(as_(ledger, pid, ALICE), current), "plan")

    assert result.version == current + 1


def test_a_command_at_another_version_is_refused_and_writes_nothing(ledger: Ledger) -> None:
    pid = new_project(ledger)
    current = version_of(ledger, pid)

    with pytest.raises(VersionMismatchError) as excinfo:
        ledger.rebaseline(at_version(as_(ledger, pid, ALICE), current - 1), "plan")

    assert (excinfo.value.expected, excinfo.value.actual) == (current - 1, current)
    assert version_of(ledger, pid) == current


class Interleaved(Ledger):
    """A ledger in which another writer gets in between a command's read and its write, once:
    what another process does to a project this one is working on."""

    meanwhile: Callable[[], Any] | None = None
    reads: list[int]

    def load(self, project_id: UUID, version: int | None = None) -> Project:
        project = super().load(project_id, version)
        self.reads.append(project.version)
        if self.meanwhile is not None:
            meanwhile, self.meanwhile = self.meanwhile, None
            meanwhile()
        return project


def interleaved(make_ledger: MakeLedger) -> Interleaved:
    ledger = make_ledger()
    ledger.__class__ = Interleaved
    assert isinstance(ledger, Interleaved)
    ledger.reads = []
    return ledger


def test_a_clash_without_an_expected_version_is_retried_on_fresh_state(
    make_ledger: MakeLedger,
) -> None:
    ledger = interleaved(make_ledger)
    pid = new_project(ledger)
    current = version_of(ledger, pid)
    alice = Admission(Principal(ALICE), pid, ProjectRole.VIEWER, writes=False)  # nothing loaded
    ledger.reads.clear()
    ledger.meanwhile = lambda: add_phase(ledger, pid, "Build")

    result = ledger.rebaseline(alice, "plan")

    assert ledger.reads[0] == current
    assert ledger.reads[-1] == current + 1
    assert result.version == current + 2
    assert len(ledger.load(pid).phases) == 1


def test_a_clash_with_an_expected_version_is_a_version_mismatch(make_ledger: MakeLedger) -> None:
    ledger = interleaved(make_ledger)
    pid = new_project(ledger)
    current = version_of(ledger, pid)
    alice = Admission(Principal(ALICE), pid, ProjectRole.VIEWER, writes=False)
    ledger.meanwhile = lambda: add_phase(ledger, pid, "Build")

    with pytest.raises(VersionMismatchError):
        ledger.rebaseline(at_version(alice, current), "plan")

    assert version_of(ledger, pid) == current + 1


def test_a_command_that_changes_nothing_writes_no_event(ledger: Ledger) -> None:
    pid = new_project(ledger)
    current = version_of(ledger, pid)

    result = ledger.set_member(as_(ledger, pid, ALICE), BOB, ProjectRole.CONTRIBUTOR)

    assert (result.changed, result.position, result.version) == (False, None, current)
    assert version_of(ledger, pid) == current


def test_a_refused_command_writes_nothing(ledger: Ledger) -> None:
    pid = new_project(ledger)
    current = version_of(ledger, pid)

    with pytest.raises(RuleViolationError):
        ledger.remove_member(as_(ledger, pid, ALICE), ALICE)

    assert version_of(ledger, pid) == current


def test_a_refused_edit_writes_none_of_its_fields(ledger: Ledger) -> None:
    pid = new_project(ledger)
    phase = add_phase(ledger, pid)
    bob = as_(ledger, pid, BOB)
    did = ledger.define_deliverable(bob, "Spec", phase).ids["deliverable_id"]
    current = version_of(ledger, pid)

    with pytest.raises(InvalidValueError):
        ledger.update_deliverable(bob, did, title="New", description="d" * 10_001)

    project = ledger.load(pid)
    assert project.deliverable(did).title == "Spec"
    assert project.version == current


# --- storage: events and snapshots through the transcoder ----------------------------------


def busy_project(ledger: Ledger, *, extra_events: int = 0) -> UUID:
    """A project that has seen every kind of event, plus `extra_events` re-baselines."""
    pid = new_project(ledger)
    phase = add_phase(ledger, pid)
    alice, bob, carol = (as_(ledger, pid, name) for name in (ALICE, BOB, CAROL))
    did = ledger.define_deliverable(bob, "Spec", phase, owner=BOB).ids["deliverable_id"]
    ledger.update_deliverable(
        bob,
        did,
        title="Spec v2",
        description="all of it",
        owner=None,
        kind=DeliverableKind.SOFTWARE,
    )
    add_phase(ledger, pid, "Build")
    cid = ledger.add_criterion(bob, did, "complete").ids["criterion_id"]
    ledger.record_evidence(bob, did, cid, "first")
    ledger.record_evidence(bob, did, cid, "https://example.org/spec", "b" * 64)
    ledger.submit_deliverable(bob, did, note="ready")
    ledger.reject_deliverable(carol, did, "typo")
    ledger.submit_deliverable(bob, did)
    ledger.approve_deliverable(carol, did, comment="good")
    dropped = ledger.define_deliverable(bob, "Dropped", phase).ids["deliverable_id"]
    ledger.cancel_deliverable(alice, dropped, "descoped")
    m1 = ledger.define_milestone(alice, "M1", phase, DUE, [did]).ids["milestone_id"]
    m2 = ledger.define_milestone(alice, "M2", phase, DUE, []).ids["milestone_id"]
    ledger.link_deliverable(alice, m2, did)
    ledger.unlink_deliverable(alice, m2, did)
    ledger.reschedule_milestone(alice, m1, DUE + timedelta(days=3), "late")
    ledger.rebaseline(alice, "plan v2")
    ledger.achieve_milestone(alice, m1)
    ledger.reopen_milestone(alice, m1, "recheck")
    ledger.achieve_milestone(alice, m1, note="again")
    ledger.cancel_milestone(alice, m2, "not needed")
    ledger.set_member(alice, BOB, ProjectRole.REVIEWER)
    ledger.remove_member(alice, DAVE)
    for _ in range(extra_events):
        ledger.rebaseline(alice, "plan again")
    return pid


def test_every_event_survives_the_round_trip_through_storage(ledger: Ledger) -> None:
    pid = busy_project(ledger)
    live = ledger.load(pid)

    replayed: Project = Repository(ledger.events).get(pid)  # no cache, no snapshot

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
    assert ledger.load(pid).version > 100


def test_a_project_restored_from_its_snapshot_equals_the_live_one(ledger: Ledger) -> None:
    pid = busy_project(ledger)
    ledger.take_snapshot(pid)
    live = ledger.load(pid)

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
    assert restored.role_of(ALICE) is ProjectRole.MANAGER


def test_commands_still_apply_after_a_snapshot_when_the_project_is_loaded_from_storage(
    make_ledger: MakeLedger,
) -> None:
    ledger = make_ledger(AGGREGATE_CACHE_MAXSIZE="")  # no cache: as a fresh process would
    pid = busy_project(ledger, extra_events=100)

    result: CommandResult = ledger.rebaseline(as_(ledger, pid, ALICE), "after snapshot")

    assert result.changed
