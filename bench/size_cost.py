"""`size_ratio`: what a command costs on a big project against a small one (issue 18).

p50 latency of `POST /v1/projects/{pid}/deliverables` on a project holding `BIG` deliverables
(and as many milestones, ~10 events each, built by `workload`) ÷ the same on one holding
`SMALL`, in the same run. Goal ≤ 1.5: a command must not copy or re-encode the whole project.

One client, one request at a time (so what is measured is the command's own cost, not a
queue), alternating between the two projects in blocks of `BLOCK` commands, so a noisy
neighbour hits both alike. Both projects grow by one event per command, so both take a
snapshot every 100 commands: that cost, which does grow with the project, shows in the p99 and
the mean, reported beside the p50. The service process's own CPU time per command
(`/proc/<pid>/stat`, the API process only: the projection runner is a child process of its own)
is reported for each project too, a figure the shared machine's load disturbs less than
latency.
"""

from __future__ import annotations

import os
import random
import statistics
import time
from pathlib import Path
from uuid import UUID

from application.ledger import Ledger
from bench import workload
from bench.context import Context
from bench.load import _Http, percentile
from bench.report import Metric, measured

GOAL = 1.5
SMALL, BIG = 10, 1_000
BLOCK = 10
SAMPLES = {"full": 400, "quick": 200, "smoke": 20}


def measure(ctx: Context) -> Metric:
    service = ctx.serve()
    big_size = BIG if ctx.sizes.mode != "smoke" else 100
    small = project_with(ctx.ledger, SMALL, "size small")
    big = project_with(ctx.ledger, big_size, "size big")
    headers = ctx.headers(workload.MANAGER)
    http = _Http(service.url)
    latencies: dict[UUID, list[float]] = {small[0]: [], big[0]: []}
    cpu: dict[UUID, float] = {small[0]: 0.0, big[0]: 0.0}
    try:
        for pid, phase in (small, big):  # warm-up: the service loads and caches each project
            for _ in range(3):
                _command(http, headers, pid, phase)
        samples = SAMPLES[ctx.sizes.mode]
        for _ in range(0, samples, BLOCK):
            for pid, phase in (small, big):
                before = _cpu_seconds(service.pid)
                for _ in range(BLOCK):
                    started = time.perf_counter()
                    _command(http, headers, pid, phase)
                    latencies[pid].append(time.perf_counter() - started)
                cpu[pid] += _cpu_seconds(service.pid) - before
    finally:
        http.close()
    small_p50 = percentile(latencies[small[0]], 50)
    big_p50 = percentile(latencies[big[0]], 50)
    ratio = big_p50 / small_p50
    count = len(latencies[small[0]])

    def figures(pid: UUID) -> dict[str, float]:
        values = latencies[pid]
        return {
            "p50_ms": round(percentile(values, 50) * 1000, 2),
            "p99_ms": round(percentile(values, 99) * 1000, 2),
            "mean_ms": round(statistics.fmean(values) * 1000, 2),
            "service_cpu_ms_per_command": round(cpu[pid] / len(values) * 1000, 2),
        }

    return measured(
        big_p50 * 1000,
        small_p50 * 1000,
        unit="ms",
        goal=f"ratio ≤ {GOAL} (p50 on 1,000 deliverables ÷ on 10)",
        met=ratio <= GOAL,
        deliverables_small=SMALL,
        deliverables_big=big_size,
        commands_each=count,
        small=figures(small[0]),
        big=figures(big[0]),
        cpu_ratio=round(cpu[big[0]] / cpu[small[0]], 3) if cpu[small[0]] else None,
        baseline_what=f"p50 ms of the same command on a project of {SMALL} deliverables",
    )


def project_with(ledger: Ledger, deliverables: int, name: str, seed: int = 5) -> tuple[UUID, str]:
    """A project holding `deliverables` deliverables and as many milestones, each through its
    whole life (`workload`), saved `workload.PROJECT_SAVE` events at a time (so its snapshots
    are taken as the service would); its id and a phase's id."""
    rng = random.Random(seed)
    project, phases = workload.new_project(name)
    saver = workload.GrownProject(ledger)
    while len(project.deliverables) < deliverables:
        workload.grow(project, phases, project.version + 1, rng)
        if len(project.pending_events) >= workload.PROJECT_SAVE:
            saver.save(project)
    if project.pending_events:
        saver.save(project)
    return project.id, str(phases[0])


def _command(http: _Http, headers: dict[str, str], pid: UUID, phase: str) -> None:
    body = {"title": "Sized", "phase_id": phase, "kind": "report"}
    status, answer = http.request("POST", f"/v1/projects/{pid}/deliverables", body, headers)
    if status != 201:
        raise RuntimeError(f"a command answered {status}: {answer}")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` so far (Linux `/proc/<pid>/stat`)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
