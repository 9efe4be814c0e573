"""`as_of`: p50 latency of `GET /v1/projects/{pid}?as_of=...` on a 10,000-event project ÷ on a
100-event project (both read near their last event, the costliest instant). Goal: ≤ 1.5."""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta

import httpx

from bench import workload
from bench.context import Context
from bench.report import Metric, measured, missing

GOAL = 1.5
SMALL = 100


def measure(ctx: Context) -> Metric:
    goal = f"ratio ≤ {GOAL}"
    service = ctx.serve()
    headers = ctx.headers(workload.MANAGER)
    small = workload.one_project(ctx.ledger, SMALL, "as_of small")
    big = workload.one_project(ctx.ledger, ctx.sizes.as_of_events, "as_of big")
    with httpx.Client(base_url=service.url, timeout=60, headers=headers) as client:
        # The feature answers 404 for an instant before the project existed.
        long_ago = (datetime.now(UTC) - timedelta(days=3650)).isoformat()
        probe = client.get(f"/v1/projects/{small}", params={"as_of": long_ago})
        if probe.status_code != 404:
            return missing(
                unit="ratio",
                goal=goal,
                reason="GET /v1/projects/{pid}?as_of= ignores as_of "
                f"(answered {probe.status_code})",
            )
        now = datetime.now(UTC).isoformat()
        small_p50 = _p50(client, small, now, ctx.sizes.as_of_samples)
        big_p50 = _p50(client, big, now, ctx.sizes.as_of_samples)
    return measured(
        big_p50 / small_p50,
        1.0,
        unit="ratio",
        goal=goal,
        met=big_p50 / small_p50 <= GOAL,
        p50_ms_big=round(big_p50 * 1000, 2),
        p50_ms_small=round(small_p50 * 1000, 2),
        events_big=ctx.sizes.as_of_events,
        events_small=SMALL,
        baseline_what="the value is already the ratio of the two p50 latencies",
    )


def _p50(client: httpx.Client, project: object, instant: str, samples: int) -> float:
    client.get(f"/v1/projects/{project}", params={"as_of": instant}).raise_for_status()
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        client.get(f"/v1/projects/{project}", params={"as_of": instant}).raise_for_status()
        times.append(time.perf_counter() - started)
    return statistics.median(times)
