"""A save of megabytes completes, over any socket (adapters/postgres/pipelines.py).

psycopg's `Pipeline.sync()` stopped sending once its command queue was empty, even with data
still unsent: about 1 MB in one save (a few large commands in one group commit) hung the
connection for ever on a Unix socket (the embedded server's, and the standalone server's local
socket), holding the events table's ordering lock. The save runs in a thread with a deadline,
so a regression fails here instead of hanging the suite.
"""

from __future__ import annotations

import threading

from application.ledger import Ledger
from application.ports import AsOfEntry
from domain.project import Project

DEADLINE = 60.0


def test_a_save_of_megabytes_completes(ledger: Ledger) -> None:
    project = Project.create(name="Large texts", actor="alice")
    phase = project.add_phase("Build", actor="alice")
    for n in range(250):  # 250 events of 10,000 characters: ~2.5 MB in one transaction
        project.define_deliverable(
            title=f"Deliverable {n}", phase_id=phase, description="x" * 10_000, actor="alice"
        )
    events = list(project.pending_events)
    as_of = [AsOfEntry(e.originator_id, e.originator_version, e.timestamp) for e in events]
    failures: list[BaseException] = []

    def save() -> None:
        try:
            ledger.save(project, as_of=as_of)
        except BaseException as error:  # reported below
            failures.append(error)

    saving = threading.Thread(target=save, daemon=True)
    saving.start()
    saving.join(DEADLINE)

    assert not saving.is_alive(), f"the save did not complete within {DEADLINE} s"
    assert failures == []
    assert ledger.load(project.id).version == len(events)
