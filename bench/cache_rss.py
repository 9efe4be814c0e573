"""`python -m bench.cache_rss [--projects N] [--bound MIB] [--quick]`: an API process's memory while
many large projects are read in turn (issue 20: "a process's RSS stays under the cache bound plus
overhead with 5,000 large projects read in turn").

The projects (each ~`--text-kib` KiB of descriptions a user typed, in `--deliverables`
deliverables) are COPY'd through the events table from one template, snapshotted at their head;
then `milestones serve` runs with MILESTONES_PROJECT_CACHE_BYTES = `--bound` MiB and every
project is read once (`GET /v1/projects/{id}`, a cold load, cached afterwards). The API process's
RSS is sampled every 50 reads. Printed and written to bench/results/cache-rss-<N>.json: the RSS
before the reads (the process's own overhead), its peak, the cache's counted bytes, entries and
evictions, and whether the peak stayed under bound + OVERHEAD_MIB. `--quick`: 500 projects.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

from bench import scale, workload
from bench.context import SIZES, context, machine
from bench.load import _Http
from bench.report import RESULTS
from domain.entities import DeliverableKind

# What an API process takes besides its cache (code, pools, buffers, allocator slack): the
# figure checked here and documented in docs/operations.md.
OVERHEAD_MIB = 200


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.cache_rss", description=__doc__)
    parser.add_argument("--projects", type=int, default=5000)
    parser.add_argument("--quick", action="store_true", help="500 projects")
    parser.add_argument("--bound", type=int, default=64, help="the cache's bound, MiB")
    parser.add_argument("--deliverables", type=int, default=40)
    parser.add_argument("--text-kib", type=int, default=200, help="text per project, KiB")
    return parser.parse_args(argv)


def _template(ctx: Any, deliverables: int, text_kib: int) -> list[Any]:
    project, phases = workload.new_project("Large project")
    rng = random.Random(3)
    size = min(text_kib * 1024 // deliverables, 10_000)
    for n in range(deliverables):
        description = "".join(rng.choice("abcdefghij klmnop") for _ in range(size))
        project.define_deliverable(
            title=f"Report {n}",
            phase_id=phases[n % len(phases)],
            kind=DeliverableKind.REPORT,
            description=description,
            actor=workload.MANAGER,
        )
    return workload.encoded(ctx.ledger, project)


def run(args: argparse.Namespace) -> dict[str, Any]:
    count = 500 if args.quick else args.projects
    os.environ["MILESTONES_PROJECT_CACHE_BYTES"] = str(args.bound * 2**20)
    with context(SIZES["quick"]) as ctx:
        template = _template(ctx, args.deliverables, args.text_kib)
        log.info("COPY %d projects of %d events", count, len(template))
        ids = workload.copy_projects(
            ctx.ledger, ctx.database_url, count * len(template), template=template
        )
        for pid in ids:
            ctx.ledger.take_snapshot(pid)
        service = ctx.serve()
        client = _Http(service.url)
        headers = ctx.headers("bench-auditor")
        before = scale._rss(service.pid)
        samples = []
        failures = 0
        started = time.perf_counter()
        for n, pid in enumerate(ids, 1):
            status, _ = client.request("GET", f"/v1/projects/{pid}", None, headers)
            failures += status != 200
            if n % 50 == 0:
                samples.append(scale._rss(service.pid)["VmRSS"])
        seconds = time.perf_counter() - started
        client.close()
        after = scale._rss(service.pid)
        cache = scale._cache_metrics(service.url)
    prefix = "milestones_project_cache_"
    cached = {k.split("{")[0].removeprefix(prefix): v for k, v in cache.items()}
    peak = max([after["VmHWM"], *samples])
    limit = args.bound + OVERHEAD_MIB
    return {
        "machine": machine(),
        "projects": count,
        "events_per_project": len(template),
        "text_kib_per_project": args.text_kib,
        "bound_mib": args.bound,
        "overhead_mib": OVERHEAD_MIB,
        "reads": len(ids),
        "failures": failures,
        "seconds": round(seconds, 1),
        "rss_mib_before_reads": before["VmRSS"],
        "rss_mib_samples": samples,
        "rss_mib_peak": peak,
        "cache": cached,
        "cache_mib": round(cached.get("bytes", 0) / 2**20, 1),
        "limit_mib": limit,
        "met": peak <= limit and cached.get("bytes", 0) <= args.bound * 2**20 and not failures,
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }


log = logging.getLogger("bench.cache_rss")


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="bench: %(message)s", stream=sys.stderr)
    args = _parse(argv)
    found = run(args)
    out: Path = RESULTS / f"cache-rss-{found['projects']}.json"
    out.write_text(json.dumps(found, indent=2) + "\n")
    print(json.dumps({k: v for k, v in found.items() if k != "rss_mib_samples"}, indent=2))
    return 0 if found["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
