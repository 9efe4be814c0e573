"""A save that stalls gives up within its deadline and lets go of the ordering lock
(adapters/postgres/deadline.py).

The stall is real, not simulated: psycopg's own pipeline generator is put back for one save —
the defect that `adapters.postgres.pipelines` mends, which stops sending a save of megabytes
halfway over a Unix socket while the server waits for the rest, holding the events table's
EXCLUSIVE lock. Seen once in production-like runs for 12 minutes; here it must end within the
save's deadline, the lock must come free for the next writer, and nothing of the cut save may
show.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psycopg
import psycopg._pipeline_base as pipeline_base
import pytest
from psycopg import generators
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from adapters.postgres import pipelines
from adapters.postgres.database import eventsourcing_env
from adapters.postgres.deadline import SaveTimeoutError
from api.settings import Settings
from application.ledger import Ledger
from application.ports import AsOfEntry
from domain.project import Project

SAVE_TIMEOUT = 2.0
# Far more than the deadline: a save still running after this long was never cut.
GIVE_UP = 60.0


def over_unix_socket(database_url: str) -> str:
    """The same database over the server's Unix socket, where the stall reproduces (over TCP
    the kernel's buffers grow large enough that it was not seen)."""
    params = conninfo_to_dict(database_url)
    host = str(params.get("host") or "")
    if host.startswith("/"):
        return database_url
    port = str(params.get("port") or "5432")
    if host in ("127.0.0.1", "localhost", "::1"):
        for directory in ("/var/run/postgresql", "/tmp"):
            if (Path(directory) / f".s.PGSQL.{port}").exists():
                return make_conninfo(database_url, host=directory)
    pytest.skip(f"needs the server's Unix socket; {host}:{port} offers none on this machine")


def ordering_lock_holders(database_url: str) -> int:
    """Sessions holding an EXCLUSIVE lock on the events table."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE c.relname = 'ledger_events' AND l.mode = 'ExclusiveLock' AND l.granted"
        ).fetchone()
    assert row is not None
    return int(row[0])


def big_project() -> tuple[Project, list[AsOfEntry]]:
    project = Project.create(name="Large texts", actor="alice")
    phase = project.add_phase("Build", actor="alice")
    for n in range(250):  # ~2.5 MB in one transaction: well past a Unix socket's buffer
        project.define_deliverable(
            title=f"Deliverable {n}", phase_id=phase, description="x" * 10_000, actor="alice"
        )
    entries = [
        AsOfEntry(e.originator_id, e.originator_version, e.timestamp)
        for e in project.pending_events
    ]
    return project, entries


def test_a_stalled_save_is_cut_within_its_deadline_and_the_lock_comes_free(
    upgraded_database: str,
) -> None:
    url = over_unix_socket(upgraded_database)
    stalling = Ledger(
        env=eventsourcing_env(
            url, Settings(pool_size=1, pool_max_overflow=0, save_timeout=SAVE_TIMEOUT)
        )
    )
    other = Ledger(env=eventsourcing_env(url, Settings(pool_size=1, pool_max_overflow=0)))
    project, as_of = big_project()
    outcome: list[BaseException | None] = []

    def save() -> None:
        try:
            stalling.save(project, as_of=as_of)
            outcome.append(None)
        except BaseException as error:  # reported below
            outcome.append(error)

    try:
        # psycopg's own generator: the defect, for this save only.
        setattr(pipeline_base, "pipeline_communicate", generators.pipeline_communicate)  # noqa: B010
        try:
            started = time.monotonic()
            saving = threading.Thread(target=save, daemon=True)
            saving.start()
            # Given: the save is stuck holding the ordering lock (the stall reproduced).
            time.sleep(SAVE_TIMEOUT / 2)
            held_while_stalled = ordering_lock_holders(upgraded_database)
            saving.join(GIVE_UP)
            took = time.monotonic() - started
        finally:
            pipelines.install()

        assert held_while_stalled == 1, "the stall did not reproduce: no save held the lock"
        assert not saving.is_alive(), f"the stalled save was not cut within {GIVE_UP} s"
        # Then: it was cut at its deadline, and says so.
        assert len(outcome) == 1
        assert isinstance(outcome[0], SaveTimeoutError), outcome
        assert took < SAVE_TIMEOUT + 5, f"cut after {took:.1f} s, the deadline is {SAVE_TIMEOUT} s"

        # The lock is free (the server rolled the save back on the cut connection) ...
        deadline = time.monotonic() + 5
        while ordering_lock_holders(upgraded_database) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ordering_lock_holders(upgraded_database) == 0
        # ... so the next writer commits at once, and nothing of the cut save shows.
        small = Project.create(name="After the stall", actor="bob")
        other.save(small)
        assert other.load(small.id).name == "After the stall"
        assert other.store.select_project_events(project.id) == []
    finally:
        stalling.close()
        other.close()
