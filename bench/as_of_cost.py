"""How the cost of `as_of` grows with a project's history (a measurement, not a test).

Builds projects of increasing length in a scratch database and times, for each, an as-of read
of its last instant and a full replay without snapshots. With the as-of index and snapshots
every 100 events, the as-of read stays flat while the replay grows with the history (the
project's state stays small, so its snapshot does too). Usage:

    psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE as_of_cost'
    .venv/bin/python -m bench.as_of_cost postgresql://postgres@127.0.0.1:5432/as_of_cost
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from uuid import UUID

from api.bootstrap import bootstrap, upgrade
from api.settings import Settings
from application.access import Principal
from application.ledger import Ledger

LENGTHS = (100, 1_000, 5_000)
ROUNDS = 20


def main(url: str) -> None:
    settings = Settings()
    upgrade(url, settings)
    container = bootstrap(settings, url)
    ledger = container.ledger
    try:
        print(f"{'events':>7} {'as_of ms':>9} {'replay ms':>10}")
        for length in LENGTHS:
            pid, instant = _project_of(ledger, length)
            admitted = ledger.admit(pid, Principal("bench"), keep_state=False)
            as_of = _median(partial(ledger.project_as_of, admitted, instant))
            # Reading and decoding every event: the floor of a replay without the index.
            replay = _median(partial(_all_events, ledger, pid))
            print(f"{length:>7} {as_of:>9.2f} {replay:>10.2f}")
    finally:
        container.close()


def _project_of(ledger: Ledger, length: int) -> tuple[UUID, datetime]:
    """A project of `length` events whose state stays small (one deliverable, retitled), so
    the measurement shows the history's length, not the state's size."""
    bench = Principal("bench")
    pid = ledger.create_project(bench, name=f"Long {length}").project_id
    admitted = ledger.admit(pid, bench)
    phase = ledger.add_phase(admitted, "Build").ids["phase_id"]
    did = ledger.define_deliverable(admitted, "Title 0", phase).ids["deliverable_id"]
    for n in range(1, length - 2):
        ledger.update_deliverable(admitted, did, title=f"Title {n}")
    return pid, datetime.now(UTC)


def _all_events(ledger: Ledger, pid: UUID) -> int:
    return len(list(ledger.events.get(pid)))


def _median(call: Callable[[], object]) -> float:
    timings = []
    for _ in range(ROUNDS):
        began = time.perf_counter()
        call()
        timings.append((time.perf_counter() - began) * 1000)
    return statistics.median(timings)


if __name__ == "__main__":
    main(sys.argv[1])
