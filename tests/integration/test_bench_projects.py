"""The benchmark's grown projects leave the store as the service's saves would: it snapshots
states it replays in memory (`bench.workload.GrownProject`), so each snapshot must be exactly
the state the stored events replay to, or `as_of` and `size_ratio` would measure a project the
service could never have written."""

from __future__ import annotations

from typing import Any

from eventsourcing.application import project_aggregate

from api.bootstrap import Container
from bench import as_of
from domain.project import Project


def _state(project: Project | None) -> dict[str, Any]:
    assert project is not None
    state = dict(project.__dict__)
    del state["_pending_events"]
    return state


def test_every_snapshot_of_a_grown_project_is_the_state_its_events_replay_to(
    container: Container,
) -> None:
    ledger = container.ledger
    assert ledger.snapshots is not None
    project_id, _ = as_of.long_history_project(ledger, 450, "Bench snapshots")
    events = list(ledger.events.get(project_id))

    snapshots = [
        next(iter(ledger.snapshots.get(project_id, lte=version, desc=True, limit=1)))
        for version in (100, 200, 300, 400)
    ]

    assert [snapshot.originator_version for snapshot in snapshots] == [100, 200, 300, 400]
    for snapshot in snapshots:
        replayed = project_aggregate(None, events[: snapshot.originator_version])
        assert _state(project_aggregate(None, [snapshot])) == _state(replayed)
