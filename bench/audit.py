"""`audit`: p99 latency of filtered `GET /v1/audit` queries on the big log ÷ on 10,000 events.

The filters are an auditor's: one project, one principal, one event type, a project and a type,
each asking for the newest 100 rows. Goal: ≤ 2.0.
"""

from __future__ import annotations

import random
import time
from typing import Any

import httpx

from bench import load
from bench.context import Context
from bench.report import Metric, measured, missing

GOAL = 2.0
GOAL_TEXT = f"ratio ≤ {GOAL} (kept: met)"


def available(ctx: Context) -> str | None:
    """None when GET /v1/audit exists, else why not."""
    service = ctx.serve()
    response = httpx.get(
        f"{service.url}/v1/audit", params={"limit": 1}, headers=ctx.headers("bench-auditor")
    )
    if response.status_code == 200:
        return None
    return f"GET /v1/audit answered {response.status_code}"


def sample(ctx: Context, projects: list[Any], samples: int) -> dict[str, float]:
    """p99 and p50 (ms) of a mix of filtered audit queries against the running service."""
    rng = random.Random(3)
    service = ctx.serve()
    filters: list[dict[str, Any]] = []
    for _ in range(samples):
        project = str(rng.choice(projects))
        filters.append(
            rng.choice(
                [
                    {"project_id": project},
                    {"actor": f"manager-{rng.randrange(25):02d}"},
                    {"type": "MilestoneAchieved"},
                    {"project_id": project, "type": "DeliverableApproved"},
                ]
            )
        )
    times = []
    with httpx.Client(
        base_url=service.url, timeout=60, headers=ctx.headers("bench-auditor")
    ) as client:
        client.get("/v1/audit", params={"limit": 100}).raise_for_status()
        for params in filters:
            started = time.perf_counter()
            client.get("/v1/audit", params={**params, "limit": 100}).raise_for_status()
            times.append(time.perf_counter() - started)
    return {
        "p99_ms": load.percentile(times, 99) * 1000,
        "p50_ms": load.percentile(times, 50) * 1000,
        # The rows the audit trail holds (its position), which is the log's size unless a
        # rebuild was stopped at its deadline.
        "events": min(ctx.events(), ctx.container.runner.positions().get("audit", 0)),
    }


def measure(small: dict[str, float] | None, big: dict[str, float] | None, reason: str) -> Metric:
    if small is None or big is None:
        return missing(unit="ratio", goal=GOAL_TEXT, reason=reason)
    ratio = big["p99_ms"] / small["p99_ms"]
    return measured(
        big["p99_ms"],
        small["p99_ms"],
        unit="ms",
        goal=GOAL_TEXT,
        met=ratio <= GOAL,
        p99_ms_big=round(big["p99_ms"], 2),
        p99_ms_small=round(small["p99_ms"], 2),
        p50_ms_big=round(big["p50_ms"], 2),
        p50_ms_small=round(small["p50_ms"], 2),
        events_big=int(big["events"]),
        events_small=int(small["events"]),
        baseline_what="p99 ms of the same filtered queries on the small log",
    )
