"""How the cost of the diff grows with a project's history and with the events between its two
points (a measurement, not a test).

Builds a project of 10,000 events and one of 100,000 (the churn of `bench.as_of`: rework on the
same deliverables and milestones, so the state stays the same size while the history grows),
then times `Ledger.project_diff` from an instant `window` events before the end to `now`, for a
window of 100 and of 1,000 events. The diff loads the project at `from` (signed snapshot + at
most 99 events) and replays only the window, so at one window the two histories should cost
about the same (ratio ≈ 1), and the cost should grow with the window. Prints the medians and
the ratios against the 10,000-event project at the same window (same run). Usage:

    psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE diff_cost'
    .venv/bin/python -m bench.diff_cost postgresql://postgres@127.0.0.1:5432/diff_cost
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime
from functools import partial
from uuid import UUID

from api.bootstrap import bootstrap, upgrade
from api.settings import Settings
from application.access import Principal
from application.ledger import Ledger
from bench import workload
from bench.as_of import SMALL, _churn

LENGTHS = (10_000, 100_000)
WINDOWS = (100, 1_000)
ROUNDS = 15


def main(url: str, lengths: tuple[int, ...] = LENGTHS) -> None:
    settings = Settings()
    upgrade(url, settings)
    container = bootstrap(settings, url)
    ledger = container.ledger
    try:
        medians: dict[tuple[int, int], float] = {}
        for length in lengths:
            started = time.perf_counter()
            pid, stamps = _project_of(ledger, length)
            built = time.perf_counter() - started
            print(f"built {length} events in {built:.0f} s", flush=True)
            admitted = ledger.admit(pid, Principal(workload.MANAGER), keep_state=False)
            for window in WINDOWS:
                since = stamps[len(stamps) - 1 - window].isoformat()
                found = ledger.project_diff(admitted, since, "now")
                assert found.end.version - found.start.version == window, found.start
                medians[length, window] = _median(
                    partial(ledger.project_diff, admitted, since, "now")
                )
        print(f"{'events':>8} {'window':>7} {'diff ms':>8} {'÷ 10k, same window':>19}")
        for (length, window), ms in medians.items():
            ratio = ms / medians[lengths[0], window]
            print(f"{length:>8} {window:>7} {ms:>8.1f} {ratio:>19.2f}")
    finally:
        container.close()


def _project_of(ledger: Ledger, length: int) -> tuple[UUID, list[datetime]]:
    """A project of `length` events and the instant of each (index n: version n + 1)."""
    rng = random.Random(17)
    project, phases = workload.new_project(f"Diff {length}")
    saver = workload.GrownProject(ledger)
    workload.grow(project, phases, SMALL, rng)
    stamps = saver.save(project)
    while project.version < length:
        target = min(project.version + workload.PROJECT_SAVE, length)
        while project.version < target:
            _churn(project, rng)
        stamps += saver.save(project)
    return project.id, stamps


def _median(call: Callable[[], object]) -> float:
    call()  # warm the cache and the connection
    timings = []
    for _ in range(ROUNDS):
        began = time.perf_counter()
        call()
        timings.append((time.perf_counter() - began) * 1000)
    return statistics.median(timings)


if __name__ == "__main__":
    main(sys.argv[1], tuple(int(n) for n in sys.argv[2:]) or LENGTHS)
