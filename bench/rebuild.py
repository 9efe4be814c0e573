"""`rebuild`: events/s rebuilding every view from the whole log, and how peak memory scales.

Each rebuild runs in a fresh subprocess (`python -m bench.rebuild_worker`), so its peak RSS is
its own. Baseline: raw executemany of 100 rows per transaction. Goal: ratio ≥ 1.0 and peak RSS
at the big log ≤ 1.2 × at the small one (full: 1,000,000 vs 100,000 events).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from bench import baselines
from bench.context import REPO, Context
from bench.report import Metric, measured

GOAL_RATIO = 1.0
GOAL_RSS = 1.2


def rebuild_all(ctx: Context) -> dict[str, float]:
    """Rebuild every view in a subprocess: events, seconds, peak RSS (bytes)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "bench.rebuild_worker", ctx.container.database_url],
        env=env,
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure(ctx: Context, small: dict[str, float], big: dict[str, float]) -> Metric:
    raw = baselines.executemany_100(ctx.database_url, min(100_000, int(big["events"])))
    rate = big["events"] / big["seconds"]
    rss_ratio = big["rss"] / small["rss"]
    return measured(
        rate,
        raw,
        unit="events/s",
        goal=f"ratio ≥ {GOAL_RATIO}, peak RSS ×{GOAL_RSS} at most",
        met=rate / raw >= GOAL_RATIO and rss_ratio <= GOAL_RSS,
        events=int(big["events"]),
        seconds=round(big["seconds"], 2),
        views=big.get("views"),
        rss_mb_big=round(big["rss"] / 2**20, 1),
        rss_mb_small=round(small["rss"] / 2**20, 1),
        rss_events_small=int(small["events"]),
        rss_ratio=round(rss_ratio, 3),
        small_rate=round(small["events"] / small["seconds"], 1),
        baseline_what="raw psycopg: executemany, 100 rows per transaction (rows/s)",
    )
