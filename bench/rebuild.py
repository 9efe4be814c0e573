"""`rebuild`: events/s rebuilding every view from the whole log, and how peak memory scales.

Each rebuild runs in a fresh subprocess (`python -m bench.rebuild_worker`), so its peak RSS is
its own, plus its helper processes' (`projections.shares`): the sum is what the rebuild needs.
Baseline: raw executemany of 100 rows per transaction. Goal (issue 18): ratio ≥ 0.5 and RSS
flat: peak RSS at the big log ≤ 1.2 × at the small one (full: 500,000 vs 100,000 events,
`bench.context.SIZES`).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
import time
from typing import Any

from bench import baselines
from bench.context import REPO, Context
from bench.report import Metric, measured

GOAL_RATIO = 0.5
GOAL_RSS = 1.2


def rebuild_all(ctx: Context, deadline: float) -> dict[str, Any]:
    """Rebuild every view in a subprocess, stopped after `deadline` seconds if still running.

    Answers the events rebuilt per view (all of them when complete), the seconds, the peak
    RSS (bytes) and whether it completed.
    """
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "bench.rebuild_worker", ctx.container.database_url]
    lines: queue.Queue[str] = queue.Queue()
    with subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.PIPE, text=True) as child:
        assert child.stdout is not None
        stdout = child.stdout

        def read() -> None:
            for line in stdout:
                lines.put(line)

        reader = threading.Thread(target=read)
        reader.start()
        stop_at = time.monotonic() + deadline
        last: dict[str, Any] | None = None
        while child.poll() is None and time.monotonic() < stop_at:
            with contextlib.suppress(queue.Empty):
                last = json.loads(lines.get(timeout=0.5))
        if child.poll() is None:
            child.kill()
        child.wait()
        reader.join()
        while not lines.empty():
            last = json.loads(lines.get())
    if last is None:
        raise RuntimeError(f"the rebuild reported nothing (exit {child.returncode})")
    # Events applied, as a fraction of whole-log passes: each view reads the whole log.
    passes = (last["done"] + (last["position"] / last["head"] if last["head"] else 0)) / last[
        "views"
    ]
    return {
        "events": last["head"] * passes,
        "head": last["head"],
        "seconds": last["seconds"],
        "rss": last["rss"],
        "complete": bool(last["final"]),
    }


def measure(ctx: Context, small: dict[str, Any], big: dict[str, Any]) -> Metric:
    raw = baselines.executemany_100(ctx.database_url, min(100_000, int(big["head"])))
    rate = big["events"] / big["seconds"]
    rss_ratio = big["rss"] / small["rss"]
    return measured(
        rate,
        raw,
        unit="events/s",
        goal=f"ratio ≥ {GOAL_RATIO} (÷ raw 100-row batch insert), "
        f"RSS flat (peak ×{GOAL_RSS} at most)",
        met=rate / raw >= GOAL_RATIO and rss_ratio <= GOAL_RSS,
        events=int(big["head"]),
        complete=big["complete"],
        incomplete_note=None
        if big["complete"]
        else f"stopped at the deadline after {big['seconds']:.0f} s: the rate is the part done "
        "and the peak RSS is the peak until then",
        seconds=round(big["seconds"], 2),
        rss_mb_big=round(big["rss"] / 2**20, 1),
        rss_mb_small=round(small["rss"] / 2**20, 1),
        rss_events_small=int(small["head"]),
        rss_ratio=round(rss_ratio, 3),
        small_rate=round(small["events"] / small["seconds"], 1),
        baseline_what="raw psycopg: executemany, 100 rows per transaction (rows/s)",
    )
