"""`write`: commands/s over HTTP from 16 clients on 8 projects, and latency against offered load.

A figure, not one of issue 18's goals: the rate against the raw loop of one INSERT and one
COMMIT per row (no HTTP, no authentication, no rules, no views), kept because it says what this
machine's PostgreSQL does right now. Its closed-loop maximum is the saturation rate that
`latency` and `lag` offer half of, and its sweep of offered loads draws the README's chart. The
goals on the write rate are `write_floor` and `write_peer` (`bench.stack`).
"""

from __future__ import annotations

from typing import Any

from bench import baselines, chart, load
from bench.context import Context
from bench.report import Metric, figure

# Offered load of each step of the chart, as fractions of the measured maximum rate.
STEPS = (0.1, 0.25, 0.5, 0.75, 1.0, 1.25)


def measure(ctx: Context) -> Metric:
    raw_rate, raw_p99 = baselines.insert_per_commit(ctx.database_url, ctx.sizes.raw_rows)
    ctx.notes["raw_commit_p99_ms"] = raw_p99
    projects = load.make_projects(ctx)
    load.run(ctx, projects, min(2.0, ctx.sizes.write_seconds))  # warm up: caches, pools
    outcome = load.run(ctx, projects, ctx.sizes.write_seconds)
    rate = outcome.rate
    ctx.notes["max_rate"] = rate
    sweep = _sweep(ctx, projects, rate)
    ctx.notes["chart"] = chart.write_latency(
        sweep, rate, ctx.notes.get("machine", ""), ctx.notes.get("chart_path", chart.CHART)
    )
    return figure(
        rate,
        raw_rate,
        unit="commands/s",
        what="closed-loop commands/s ÷ raw INSERT + COMMIT rows/s, same run",
        p99_ms=round(load.percentile(outcome.latencies, 99) * 1000, 2),
        p50_ms=round(load.percentile(outcome.latencies, 50) * 1000, 2),
        commands=len(outcome.latencies),
        failures=outcome.failures,
        clients=load.CLIENTS,
        projects=load.PROJECTS,
        baseline_what="raw psycopg: one INSERT + COMMIT per row (rows/s)",
        raw_commit_p99_ms=round(raw_p99, 2),
        sweep=sweep,
    )


def _sweep(ctx: Context, projects: list[tuple[str, str]], rate: float) -> list[dict[str, Any]]:
    steps = []
    for fraction in STEPS:
        offered = max(rate * fraction, 1.0)
        outcome = load.run(ctx, projects, ctx.sizes.sweep_seconds, rate=offered)
        steps.append(
            {
                "offered": round(offered, 1),
                "achieved": round(outcome.rate, 1),
                "p50_ms": round(load.percentile(outcome.latencies, 50) * 1000, 2),
                "p99_ms": round(load.percentile(outcome.latencies, 99) * 1000, 2),
                "failures": sum(outcome.failures.values()),
            }
        )
    return steps
