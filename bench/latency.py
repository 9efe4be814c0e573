"""`latency`: p99 of a command at half the saturation rate, and at a quiet 25 commands/s.

Issue 18's goal has two conditions, and both must hold: p99 ≤ 25 ms at half the saturation
rate, and p99 ≤ 15 ms at 25 commands/s. The saturation rate is the `write` metric's: its
16 clients' closed-loop maximum with the same command mix (a deliverable's whole life), so
the load here is `write`'s, offered at a fixed rate (latency counted from when each command was
due, so a server that falls behind shows it). The value is the p99 at half that rate.

Baselines of the same run: the value's is the p99 of a raw one-INSERT + COMMIT loop (`write`'s
raw loop, flat out); the quiet condition's is the same INSERT + COMMIT paced at 25/s, the
durable commit alone at that rate, with how late this machine wakes a sleeping thread meanwhile
(`bench.stack.WakeProbe`): on a loaded shared machine both bound what any server can do there.
"""

from __future__ import annotations

from bench import baselines, load
from bench.context import Context
from bench.report import Metric, measured, missing
from bench.stack import WakeProbe

GOAL_HALF_MS = 25.0
GOAL_QUIET_MS = 15.0
QUIET_RATE = 25.0
GOAL = f"p99 ≤ {GOAL_HALF_MS:.0f} ms at half the saturation rate and ≤ {GOAL_QUIET_MS:.0f} ms at "
GOAL += f"{QUIET_RATE:.0f} commands/s"


def met(p99_half_ms: float, p99_quiet_ms: float) -> bool:
    """Both conditions of the goal hold."""
    return p99_half_ms <= GOAL_HALF_MS and p99_quiet_ms <= GOAL_QUIET_MS


def measure(ctx: Context) -> Metric:
    max_rate = ctx.notes.get("max_rate")
    if not max_rate:
        return missing(unit="ms", goal=GOAL, reason="needs the write metric's saturation rate")
    seconds = ctx.sizes.lag_seconds
    projects = load.make_projects(ctx)
    half = load.run(ctx, projects, seconds, rate=max_rate / 2)
    with WakeProbe() as probe:
        quiet = load.run(ctx, projects, seconds, rate=QUIET_RATE)
    paced = baselines.paced_commits(ctx.database_url, QUIET_RATE, seconds)
    p99_half = load.percentile(half.latencies, 99) * 1000
    p99_quiet = load.percentile(quiet.latencies, 99) * 1000
    return measured(
        p99_half,
        ctx.notes.get("raw_commit_p99_ms"),
        unit="ms",
        goal=GOAL,
        met=met(p99_half, p99_quiet),
        met_half=p99_half <= GOAL_HALF_MS,
        met_quiet=p99_quiet <= GOAL_QUIET_MS,
        saturation_rate=round(max_rate, 1),
        half=_summary(half, max_rate / 2),
        quiet=_summary(quiet, QUIET_RATE),
        p99_ms_quiet=round(p99_quiet, 2),
        baseline_p99_ms_quiet=round(load.percentile(paced, 99) * 1000, 2),
        baseline_p50_ms_quiet=round(load.percentile(paced, 50) * 1000, 2),
        wakeup_late_quiet=probe.summary(),
        seconds_each=seconds,
        baseline_what="raw psycopg: p99 ms of one INSERT + COMMIT flat out (value); the same "
        f"paced at {QUIET_RATE:.0f}/s (baseline_p99_ms_quiet)",
    )


def _summary(outcome: load.Outcome, offered: float) -> dict[str, object]:
    return {
        "offered": round(offered, 1),
        "achieved": round(outcome.rate, 1),
        "p50_ms": round(load.percentile(outcome.latencies, 50) * 1000, 2),
        "p99_ms": round(load.percentile(outcome.latencies, 99) * 1000, 2),
        "commands": len(outcome.latencies),
        "failures": outcome.failures,
    }
