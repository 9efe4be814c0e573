"""`verify`: events/s checked by the tamper-evidence check (`GET /v1/verify`), against a raw
sequential read of the same events. Goal: ratio ≥ 0.5."""

from __future__ import annotations

import time

import httpx

from bench import baselines
from bench.context import Context
from bench.report import Metric, measured, missing

GOAL = 0.5


def measure(ctx: Context) -> Metric:
    goal = f"ratio ≥ {GOAL} (kept: met)"
    service = ctx.serve()
    headers = ctx.headers("bench-auditor")
    started = time.perf_counter()
    response = httpx.get(f"{service.url}/v1/verify", headers=headers, timeout=600)
    seconds = time.perf_counter() - started
    if response.status_code != 200:
        return missing(
            unit="events/s", goal=goal, reason=f"GET /v1/verify answered {response.status_code}"
        )
    body = response.json()
    checked = int(body.get("events_checked", 0))
    rows, raw = baselines.sequential_read(ctx.database_url, ctx.ledger.recorder.events_table_name)
    rate = checked / seconds
    return measured(
        rate,
        raw,
        unit="events/s",
        goal=goal,
        met=bool(body.get("ok")) and rate / raw >= GOAL,
        events_checked=checked,
        seconds=round(seconds, 2),
        intact=body.get("ok"),
        baseline_what=f"raw psycopg: sequential read of {rows} events (rows/s)",
    )
