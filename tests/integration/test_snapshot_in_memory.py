"""A snapshot is taken of the project just saved, not of a rebuild from the store (issue 18),
and holds exactly what a replay of the project's events gives.

The library snapshots by rebuilding the project from the store (its previous snapshot decoded,
then the events since); the ledger snapshots the state it has just recorded when the save's last
event reached the interval, and falls back to the rebuild when a save crossed it earlier.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Snapshot

from application.access import Principal
from application.ledger import Ledger
from application.ports import AsOfEntry
from domain.events import ProjectEvent
from domain.project import Project
from tests.commanding import run_as

MANAGER = "snap-alice"


def _replayed_state(ledger: Ledger, pid: UUID, version: int) -> dict[str, Any]:
    """The snapshot state a replay of the events up to `version` gives, through the store's
    encoding and back (as a stored snapshot is read)."""
    project: Project | None = None
    for event in ledger.events.get(pid, lte=version):
        assert isinstance(event, ProjectEvent)
        project = event.mutate(project)
    assert project is not None
    snapshot = Project.Snapshot.take(project)
    decoded = ledger.mapper.to_domain_event(ledger.mapper.to_stored_event(snapshot))
    assert isinstance(decoded, Snapshot)
    state: dict[str, Any] = decoded.state
    return state


def _stored_states(ledger: Ledger, pid: UUID) -> dict[int, dict[str, Any]]:
    assert ledger.snapshots is not None
    snapshots = list(ledger.snapshots.get(pid))
    assert all(isinstance(s, Snapshot) for s in snapshots)
    return {s.originator_version: s.state for s in snapshots if isinstance(s, Snapshot)}


def _define(project: Project, n: int) -> None:
    phase = next(iter(project.phases.values())).id
    if n % 2 and project.deliverables:
        did = project.deliverables[list(project.deliverables)[-1]].id
        project.update_deliverable(did, title=f"Renamed {n}", actor=MANAGER)
    else:
        project.define_deliverable(title=f"D{n}", phase_id=phase, actor=MANAGER)


def test_commands_snapshot_the_state_they_saved(ledger: Ledger) -> None:
    pid = ledger.create_project(Principal(MANAGER), name="Snapshots").project_id
    run_as(ledger, pid, lambda p: p.add_phase("Build", actor=MANAGER), actor=MANAGER)
    for n in range(205):

        def act(project: Project, n: int = n) -> None:
            _define(project, n)

        run_as(ledger, pid, act, actor=MANAGER)
    stored = _stored_states(ledger, pid)
    assert sorted(stored) == [100, 200]
    for version, state in stored.items():
        assert state == _replayed_state(ledger, pid, version)
    assert ledger.load(pid, 207) == ledger.load(pid)


def test_a_save_that_crosses_the_interval_early_snapshots_the_rebuilt_state(
    ledger: Ledger,
) -> None:
    project = Project.create(name="Bulk", actor=MANAGER)
    project.add_phase("Build", actor=MANAGER)
    for n in range(150):  # one save of 152 events: version 100 is not the last
        _define(project, n)
    pending = list(project.pending_events)
    ledger.save(
        project,
        as_of=[AsOfEntry(e.originator_id, e.originator_version, e.timestamp) for e in pending],
    )
    stored = _stored_states(ledger, project.id)
    assert sorted(stored) == [100]
    assert stored[100] == _replayed_state(ledger, project.id, 100)
