"""How the cost of `as_of` grows with a project's history (a measurement, not a test).

Builds projects of increasing length in a scratch database and times, for each, an as-of read
of its last instant and a full replay without snapshots. With the as-of index and snapshots
every 100 events, the as-of read stays flat while the replay grows with the history (the
project's state stays small, so its snapshot does too). Usage:

    psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE as_of_cost'
    .venv/bin/python benchmarks/as_of_cost.py postgresql://postgres@127.0.0.1:5432/as_of_cost
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
from application.ledger import Ledger
from domain.project import Project
from domain.roles import ProjectRole

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
            as_of = _median(partial(ledger.project_as_of, pid, instant, reader="bench"))
            # Reading and decoding every event: the floor of a replay without the index.
            replay = _median(partial(_all_events, ledger, pid))
            print(f"{length:>7} {as_of:>9.2f} {replay:>10.2f}")
    finally:
        container.close()


def _project_of(ledger: Ledger, length: int) -> tuple[UUID, datetime]:
    """A project of `length` events whose state stays small (one deliverable, retitled), so
    the measurement shows the history's length, not the state's size."""
    pid = ledger.create_project(name=f"Long {length}", actor="bench").project_id

    def command(act: Callable[[Project], dict[str, UUID] | None]) -> None:
        ledger.execute(pid, act, actor="bench", needs=ProjectRole.MANAGER)

    command(lambda p: {"phase": p.add_phase("Build", actor="bench")})
    command(
        lambda p: {
            "deliverable": p.define_deliverable(
                title="Title 0", phase_id=next(iter(p.phases.values())).id, actor="bench"
            )
        }
    )
    for n in range(1, length - 2):
        command(partial(_retitle, title=f"Title {n}"))
    return pid, datetime.now(UTC)


def _retitle(project: Project, *, title: str) -> None:
    deliverable = next(iter(project.deliverables.values()))
    project.update_deliverable(deliverable.id, title=title, actor="bench")


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
