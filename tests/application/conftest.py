"""The application's tests run twice: on the in-memory store (milliseconds, no database) and on
PostgreSQL (the session's database, upgraded), through the same ports (`application.ports`).

`make_ledger(**env)` builds a ledger on the store of the test's parameter; a test that needs a
process without a cache, say, passes `AGGREGATE_CACHE_MAXSIZE=""`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from uuid import UUID

import pytest

from adapters.memory import FACTORY_TOPIC as MEMORY
from adapters.postgres.database import eventsourcing_env
from api.settings import Settings
from application.access import Admission, GlobalRole, Principal
from application.ledger import Ledger
from domain.roles import ProjectRole

MakeLedger = Callable[..., Ledger]

ALICE, BOB, CAROL, DAVE = "alice", "bob", "carol", "dave"  # manager, contributor, reviewer, viewer


@pytest.fixture(
    params=["memory", pytest.param("postgres", marks=pytest.mark.integration)],
)
def make_ledger(request: pytest.FixtureRequest) -> Iterator[MakeLedger]:
    built: list[Ledger] = []

    def make(**env: str) -> Ledger:
        if request.param == "memory":
            base = {"PERSISTENCE_MODULE": MEMORY}
        else:
            url = request.getfixturevalue("upgraded_database")
            base = eventsourcing_env(url, Settings(pool_size=2, pool_max_overflow=2))
        ledger = Ledger(env={**base, **env})
        built.append(ledger)
        return ledger

    yield make
    for ledger in built:
        ledger.close()


@pytest.fixture
def ledger(make_ledger: MakeLedger) -> Ledger:
    return make_ledger()


def as_(ledger: Ledger, pid: UUID, name: str, role: GlobalRole = GlobalRole.MEMBER) -> Admission:
    """`name` let in to the project (as a reader: each command checks its own role)."""
    return ledger.admit(pid, Principal(name, role))


def new_project(ledger: Ledger) -> UUID:
    """A project managed by ALICE, with BOB contributor, CAROL reviewer and DAVE viewer."""
    pid = ledger.create_project(Principal(ALICE), name="Apollo").project_id
    alice = as_(ledger, pid, ALICE)
    ledger.set_member(alice, BOB, ProjectRole.CONTRIBUTOR)
    ledger.set_member(alice, CAROL, ProjectRole.REVIEWER)
    ledger.set_member(alice, DAVE, ProjectRole.VIEWER)
    return pid
