"""The scale run's COPY-speed bulk (`bench.scale_load`) stores what the service would have: a
chain `milestones verify` accepts, snapshots byte for byte the ledger's, confirmed as-of rows,
and a log the service appends to afterwards."""

from __future__ import annotations

from uuid import UUID

import psycopg
import pytest

from api.bootstrap import Container
from api.checkpoints import Checkpoints
from bench import scale_load
from domain.events import ProjectEvent
from domain.project import Project

PER_PROJECT = 250  # snapshots at versions 100 and 200
PROJECTS = 3
TOTAL = PER_PROJECT * PROJECTS + PER_PROJECT // 2  # the last project's only at 100


@pytest.fixture(scope="module")
def loaded(container: Container, upgraded_database: str) -> list[UUID]:
    # The last project is cut short, as a total that is not a multiple of the project size
    # leaves it (a project is a whole number of deliverable lives: at least PER_PROJECT).
    return scale_load.load(
        container.ledger, upgraded_database, TOTAL, events_per_project=PER_PROJECT
    )


def _replayed(container: Container, project_id: UUID, version: int | None = None) -> Project:
    project: Project | None = None
    for event in container.ledger.events.get(project_id, lte=version):
        assert isinstance(event, ProjectEvent)
        project = event.mutate(project)
    assert project is not None
    return project


def test_the_loaded_log_verifies_with_its_snapshots_and_as_of_rows(
    container: Container, loaded: list[UUID]
) -> None:
    checkpoints = Checkpoints.of(container)

    audit = checkpoints.audit()
    derived = checkpoints.check_derived()

    assert audit.chain.ok
    assert derived.ok
    assert derived.snapshots_checked >= 2 * PROJECTS + 1  # each signed
    assert derived.as_of_rows_checked == 0  # every loaded as-of row is confirmed


def test_each_cloned_snapshot_is_the_bytes_the_ledger_writes_for_the_replayed_project(
    container: Container, loaded: list[UUID]
) -> None:
    snapshots = container.ledger.snapshots
    assert snapshots is not None
    stored_all = [s for pid in loaded for s in snapshots.recorder.select_events(pid)]
    # One every 100 events, as the service snapshots, the cut-short project's too.
    assert [s.originator_version for s in stored_all] == [100, 200] * PROJECTS + [100]
    for stored in stored_all:
        project = _replayed(container, UUID(str(stored.originator_id)), stored.originator_version)
        taken = snapshots.mapper.to_domain_event(stored)
        assert isinstance(taken, Project.Snapshot)

        topic, state = scale_load.snapshot(container.ledger, project, taken.timestamp)

        assert (stored.originator_version, stored.topic) == (project.version, topic)
        assert stored.state == state


def test_clones_are_distinct_projects_with_their_own_ids(
    container: Container, loaded: list[UUID]
) -> None:
    projects = [_replayed(container, pid) for pid in loaded]

    assert [p.id for p in projects] == loaded
    deliverables = [set(p.deliverables) for p in projects]
    assert all(not (a & b) for i, a in enumerate(deliverables) for b in deliverables[i + 1 :])
    assert sum(p.version for p in projects) == TOTAL
    assert projects[-1].version < projects[0].version


def test_the_service_appends_after_the_loaded_log_and_it_still_verifies(
    container: Container, loaded: list[UUID], upgraded_database: str
) -> None:
    with psycopg.connect(upgraded_database) as conn:
        row = conn.execute("SELECT max(notification_id) FROM ledger_events").fetchone()
    assert row is not None
    head = int(row[0])
    created = Project.create(name="after the bulk", actor="bench-manager")

    container.ledger.save(created)

    events = container.ledger.recorder.select_notifications(start=head + 1, limit=10)
    assert [e.id for e in events] == [head + 1]
    assert Checkpoints.of(container).audit().chain.ok
