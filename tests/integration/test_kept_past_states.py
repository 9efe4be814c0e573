"""Reads of the past from kept states answer what the store's events say (issue 18).

`Ledger.state_at` keeps every past state it rebuilds (`application.past`) and replays later
versions from the nearest one; these tests read every version of a project of ~260 events (two
snapshots) in a shuffled order, twice, through two ledgers standing for two processes, and
compare each answer with the store's own rebuild (snapshot + tail, `Ledger.load(pid, version)`).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from uuid import UUID

import pytest

from adapters.postgres.database import eventsourcing_env
from api.settings import Settings
from application.access import Principal
from application.ledger import Ledger
from domain.project import Project
from tests.commanding import run_as

MANAGER = "past-alice"


@pytest.fixture(scope="module")
def there(database_url: str, ledger: Ledger) -> Iterator[Ledger]:
    env = eventsourcing_env(database_url, Settings(pool_size=2, pool_max_overflow=2))
    built = Ledger(env=env)
    try:
        yield built
    finally:
        built.close()


def _grown(ledger: Ledger, commands: int) -> UUID:
    pid = ledger.create_project(Principal(MANAGER), name="Past states").project_id
    run_as(ledger, pid, lambda p: p.add_phase("Build", actor=MANAGER), actor=MANAGER)
    for n in range(commands):

        def act(project: Project, n: int = n) -> None:
            phase = next(iter(project.phases.values())).id
            if n % 3 and project.deliverables:
                key = list(project.deliverables)[n % len(project.deliverables)]
                did = project.deliverables[key].id
                project.update_deliverable(did, title=f"Renamed {n}", actor=MANAGER)
            else:
                project.define_deliverable(title=f"D{n}", phase_id=phase, actor=MANAGER)

        run_as(ledger, pid, act, actor=MANAGER)
    return pid


def _plain(project: Project) -> str:
    return repr(sorted((k, v) for k, v in vars(project).items() if k != "_pending_events"))


def test_every_version_read_from_kept_states_is_the_stores(ledger: Ledger, there: Ledger) -> None:
    pid = _grown(ledger, 260)
    last = ledger.load(pid).version
    truth = {v: _plain(ledger.load(pid, v)) for v in range(1, last + 1)}
    versions = list(truth)
    random.Random(3).shuffle(versions)
    for reader in (ledger, there):  # `ledger` holds the project in its cache, `there` not
        for version in versions + versions:
            state = reader.state_at(pid, version)
            assert state.version == version
            assert _plain(state) == truth[version], version
        assert reader.past.hits >= len(versions)
        assert reader.past.replays > 0


def test_a_kept_state_is_not_changed_by_what_a_reader_does_with_its_copy(ledger: Ledger) -> None:
    pid = _grown(ledger, 20)
    first = ledger.state_at(pid, 10)
    truth = _plain(first)
    key = next(iter(first.deliverables))
    first.deliverable_to_change(key).title = "scribbled"
    first.members["intruder"] = "manager"
    assert _plain(ledger.state_at(pid, 10)) == truth
