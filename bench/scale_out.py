"""`scale_out`: commands/s with 1, 2 and 4 API processes (`serve --workers N`), each run with the
projection runner in its own process (`serve` starts `milestones worker` as a child).

The same load as `write_floor` (`bench.stack.drive`: 16 `hey -c 1` clients on 16 new projects,
`POST` a deliverable), against a service started afresh for each process count, on the same
database. The value is the 2-process rate ÷ the 1-process rate of the same run; the JSON has all
three (a smoke run starts two processes only, so it has no ratio). There is no goal: it shows
how the design uses more cores, and this machine has `os.cpu_count()` of them, shared by the
service, PostgreSQL, the runner and the load generator, so past that count more processes can
only share the same CPU (the figure says so).
"""

from __future__ import annotations

import os

from bench.context import Context, Service
from bench.load import CLIENTS
from bench.report import Metric, figure, missing
from bench.stack import Server, _projects, available, drive
from bench.workload import MANAGER

PROCESSES = (1, 2, 4)


def measure(ctx: Context) -> Metric:
    reason = available()
    if reason:
        return {**missing(unit="commands/s", goal="none (a figure)", reason=reason), "figure": True}
    seconds = max(1.0, ctx.sizes.write_seconds / 2)
    # The run's main service would share the CPU (idle, but its runner listens): stopped, and
    # started again by the next metric that needs it.
    ctx.stop_service()
    headers = ctx.headers(MANAGER)
    runs: dict[str, dict[str, object]] = {}
    # Smoke (CI): every code path once. One API process is the service every other metric ran,
    # so only two start (each start took 40–50 s of a smoke run on the loaded machine).
    for processes in PROCESSES if ctx.sizes.mode != "smoke" else (2,):
        try:
            # Four API processes and a runner starting on a loaded two-core machine take time.
            service = Service(
                ctx.database_url,
                workers=processes,
                signing_key=ctx.container.settings.signing_key_path,
                ready_seconds=240,
            )
        except RuntimeError as error:
            runs[str(processes)] = {"error": str(error)}
            continue
        try:
            server = Server("service", service.url, headers, [])
            server.targets = _projects(service.url, headers, CLIENTS)
            drive(server, min(2.0, seconds))  # warm up: pools, caches
            server.fresh()
            runs[str(processes)] = {**drive(server, seconds).summary(), "seconds": seconds}
        finally:
            service.stop()
    if any("rate" not in runs[n] for n in runs if n in ("1", "2")):
        raise RuntimeError(f"the service did not run with 1 and 2 API processes: {runs}")
    one, two = (float(str(runs[n]["rate"])) if n in runs else None for n in ("1", "2"))
    assert two is not None
    return figure(
        two,
        one,
        unit="commands/s",
        what="rate with 2 API processes ÷ with 1, same run",
        processes=runs,
        cpu_count=os.cpu_count(),
        generator="hey, 16 clients (-c 1 each) on 16 new projects, POST a deliverable",
        baseline_what="the same service with 1 API process (the runner in its own process)",
        note=f"{os.cpu_count()} cores shared by the API processes, the runner, PostgreSQL "
        "and hey: past that many busy processes, more only share the same CPU",
    )
