"""What one command costs in-process on a small and on a big project (a measurement, not a
test): CPU time (`time.process_time`) and wall time of `Ledger.define_deliverable`, median of
`COMMANDS` commands on each, in a scratch database. Less disturbed by a shared machine than the
HTTP metric `size_ratio` (`bench/size_cost.py`), and runnable on any commit to compare. Usage:

    psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE command_cost'
    .venv/bin/python -m bench.command_cost postgresql://postgres@127.0.0.1:5432/command_cost
"""

from __future__ import annotations

import statistics
import sys
import time
from uuid import UUID

from api.bootstrap import bootstrap, upgrade
from api.settings import Settings
from application.access import Principal
from application.ledger import Ledger
from bench import workload
from bench.size_cost import BIG, SMALL, project_with
from domain.entities import DeliverableKind

COMMANDS = 150


def main(url: str) -> None:
    settings = Settings()
    upgrade(url, settings)
    container = bootstrap(settings, url)
    try:
        ledger = container.ledger
        figures = {}
        for size in (SMALL, BIG):
            pid, phase = project_with(ledger, size, f"command cost {size}")
            figures[size] = _commands(ledger, pid, UUID(phase))
        print(f"{'deliverables':>12} {'cpu ms p50':>11} {'wall ms p50':>12}")
        for size, (cpu, wall) in figures.items():
            print(f"{size:>12} {cpu:>11.2f} {wall:>12.2f}")
        ratio_cpu = figures[BIG][0] / figures[SMALL][0]
        ratio_wall = figures[BIG][1] / figures[SMALL][1]
        print(f"big ÷ small: cpu {ratio_cpu:.2f}, wall {ratio_wall:.2f}")
    finally:
        container.close()


def _commands(ledger: Ledger, pid: UUID, phase: UUID) -> tuple[float, float]:
    """Median CPU and wall ms of `COMMANDS` commands on the project (after one warm-up)."""
    manager = Principal(workload.MANAGER)
    cpu, wall = [], []
    for n in range(COMMANDS + 1):
        admitted = ledger.admit(pid, manager, writes=True)
        started, began = time.perf_counter(), time.process_time()
        ledger.define_deliverable(admitted, f"Measured {n}", phase, DeliverableKind.REPORT)
        if n:
            cpu.append(time.process_time() - began)
            wall.append(time.perf_counter() - started)
    return statistics.median(cpu) * 1000, statistics.median(wall) * 1000


if __name__ == "__main__":
    main(sys.argv[1])
