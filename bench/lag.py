"""`lag`: read-your-writes, the p99 time from a command's answer to its effect being readable
in the schedule view (`GET .../schedule?min_position=<position>`), at half the maximum rate.

Goal: ≤ 25 ms. Baseline (for scale only): the raw p99 latency of one INSERT + COMMIT.

Every fourth command of each client is probed. Probing every command adds a schedule read per
command, which at half the maximum write rate saturates the service (the reads cost more than
the commands), and the figure then measures the reads' queueing rather than how soon a write
becomes visible; one probe in four keeps the load near what the metric names.
"""

from __future__ import annotations

from bench import load
from bench.context import Context
from bench.report import Metric, measured, missing

GOAL_MS = 25.0
PROBE_EVERY = 4


def measure(ctx: Context) -> Metric:
    goal = f"p99 ≤ {GOAL_MS:.0f} ms at half the saturation rate"
    max_rate = ctx.notes.get("max_rate")
    if not max_rate:
        return missing(unit="ms", goal=goal, reason="needs the write metric's maximum rate")
    projects = load.make_projects(ctx)
    offered = max_rate / 2
    outcome = load.run(ctx, projects, ctx.sizes.lag_seconds, rate=offered, probe_every=PROBE_EVERY)
    p99 = load.percentile(outcome.lags, 99) * 1000
    raw = ctx.notes.get("raw_commit_p99_ms")
    return measured(
        p99,
        raw,
        unit="ms",
        goal=goal,
        met=p99 <= GOAL_MS,
        p50_ms=round(load.percentile(outcome.lags, 50) * 1000, 2),
        offered_rate=round(offered, 1),
        achieved_rate=round(outcome.rate, 1),
        reads=len(outcome.lags),
        probed=f"every {PROBE_EVERY}th command of each client",
        failures=outcome.failures,
        baseline_what="raw psycopg: p99 ms of one INSERT + COMMIT",
    )
