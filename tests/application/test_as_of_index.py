"""`?as_of=` believes the as-of index only where the events bear it out (issue 13, finding 4).

The index is a derived record the application role may append to; here its rows are forged in
the in-memory store (tests/integration/test_hostile_trust.py does it on PostgreSQL, as that
role).
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import pytest

from adapters.memory import FACTORY_TOPIC as MEMORY
from adapters.memory import MemoryLedgerRecorder
from application.access import Principal
from application.ledger import Ledger
from domain.errors import ProjectNotFoundError

from .conftest import ALICE, as_

LONG_AGO = datetime(2001, 1, 1, tzinfo=UTC)


@pytest.fixture
def ledger() -> Ledger:
    return Ledger(env={"PERSISTENCE_MODULE": MEMORY})


def forge_row(ledger: Ledger, pid: UUID, version: int, at: datetime) -> None:
    """What a forged INSERT into the as-of index leaves in the store."""
    store = ledger.store
    assert isinstance(store, MemoryLedgerRecorder)
    store._as_of[pid].append((at, version))


def three_versions(ledger: Ledger) -> UUID:
    pid = ledger.create_project(Principal(ALICE), name="Apollo").project_id
    ledger.add_phase(as_(ledger, pid, ALICE), "Design")
    ledger.add_phase(as_(ledger, pid, ALICE), "Build")
    return pid


def test_a_row_naming_a_version_no_event_has_makes_no_past_state(ledger: Ledger) -> None:
    pid = three_versions(ledger)
    forge_row(ledger, pid, 999, LONG_AGO)  # the row

    with pytest.raises(ProjectNotFoundError):
        ledger.project_as_of(as_(ledger, pid, ALICE), LONG_AGO)
    assert ledger.project_as_of(as_(ledger, pid, ALICE), datetime.now(UTC)).version == 3


def test_a_row_that_antedates_its_event_makes_no_past_state(ledger: Ledger) -> None:
    pid = three_versions(ledger)
    forge_row(ledger, pid, 3, LONG_AGO)

    with pytest.raises(ProjectNotFoundError):
        ledger.project_as_of(as_(ledger, pid, ALICE), LONG_AGO)


def test_without_forged_rows_the_index_answers_each_version_at_its_time(ledger: Ledger) -> None:
    pid = three_versions(ledger)
    times = [event.timestamp for event, _ in ledger.project_events(as_(ledger, pid, ALICE))]

    versions = [ledger.version_at(pid, at) for at in times]

    assert versions == [1, 2, 3]
