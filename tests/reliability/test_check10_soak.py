"""Check 10: soak — mixed load at half the measured write rate for a fixed time: the memory of
every service process stays flat after warm-up, no answer is an error, the views' lag stays
bounded."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.reliability.conftest import Figure, Served, serve
from tests.reliability.harness import client, head, tracking
from tests.reliability.sizes import Sizes
from tests.reliability.workload import Journal, Lifecycles, Pacer, run_clients

CLIENTS = 4
CALIBRATION_SECONDS = 15.0
WARM_UP = 0.3  # the first 30 % of the soak: pools fill, caches warm, allocators settle
GROWTH_BOUND = 0.10  # the bound: ≤ 10 % growth after warm-up
LAG_BOUND = 10.0
# Each client moves on to a new project after this many units (~110 events), as real projects
# end: memory that grows with one ever-longer project is data, not a leak.
UNITS_PER_PROJECT = 10  # seconds a view may trail the head (the service's /ready allows 30)
LAG_SECONDS = re.compile(r'^milestones_view_lag_seconds\{view="[^"]+"\} (\S+)$', re.M)


@dataclass
class Samples:
    """Memory of each process of the service and the views' lag, once a second."""

    rss: dict[str, list[tuple[float, int]]] = field(default_factory=dict)
    lag_events: list[int] = field(default_factory=list)
    lag_seconds: list[float] = field(default_factory=list)

    def take(self, served: Served, started: float) -> None:
        now = time.monotonic() - started
        for pid in process_tree(served.service.process.pid):
            rss = resident_bytes(pid)
            if rss is not None:
                self.rss.setdefault(label(pid), []).append((now, rss))
        self.lag_events.append(head(served.url) - min(tracking(served.url).values()))
        try:
            metrics = httpx.get(f"{served.base}/metrics", timeout=5).text
            self.lag_seconds.append(max(float(v) for v in LAG_SECONDS.findall(metrics)))
        except (httpx.TransportError, ValueError):
            pass

    def megabytes(self, name: str, duration: float) -> str:
        """The process's RSS at the start, end of warm-up, middle and end, in MB."""
        series = self.rss[name]
        marks = [0.0, WARM_UP * duration, duration / 2, duration]
        picked = [nearest(series, mark) for mark in marks]
        return "→".join(f"{rss / 2**20:.0f}" for rss in picked) + " MB"

    def growth(self, duration: float) -> dict[str, float]:
        """Each process's growth from the end of warm-up to the end, as a fraction."""
        grown: dict[str, float] = {}
        for name, series in self.rss.items():
            after = [rss for t, rss in series if t >= WARM_UP * duration]
            if len(after) < 6:
                continue  # a short-lived helper process, not part of the service
            start = sum(after[:3]) / 3
            end = sum(after[-3:]) / 3
            grown[name] = (end - start) / start
        return grown


def nearest(series: list[tuple[float, int]], moment: float) -> int:
    """The sample taken closest to `moment`."""
    return min(series, key=lambda sample: abs(sample[0] - moment))[1]


def process_tree(root: int) -> list[int]:
    """`root` and all its descendants, read from /proc."""
    found = [root]
    for pid in found:
        for children in Path(f"/proc/{pid}/task").glob("*/children"):
            try:
                found.extend(int(c) for c in children.read_text().split())
            except OSError:
                continue  # the process just ended
    return found


def resident_bytes(pid: int) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(r"^VmRSS:\s+(\d+) kB$", status, re.M)
    return int(match.group(1)) * 1024 if match else None


def label(pid: int) -> str:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return f"[{pid}]"
    text = " ".join(a.decode(errors="replace") for a in argv)
    if "spawn_main" in text:
        kind = "API process"
    elif "resource_tracker" in text:
        kind = "resource tracker"
    elif " serve" in text:
        kind = "supervisor + runner"
    else:
        kind = argv[0].decode(errors="replace").rsplit("/", 1)[-1]
    return f"{kind} [{pid}]"


def _clients(served: Served, journal: Journal, pacer: Pacer, reads: bool) -> list[Lifecycles]:
    return [
        Lifecycles(
            client(served.base, served.manager_token),
            client(served.base, served.reviewer_token),
            served.reviewer,
            journal,
            reads=reads,
            pacer=pacer,
            units_per_project=UNITS_PER_PROJECT,
        )
        for _ in range(CLIENTS)
    ]


@pytest.mark.check(10)
def test_half_rate_mixed_load_keeps_memory_flat_answers_no_errors_and_bounds_lag(
    own_database: str, sizes: Sizes, figure: Figure, tmp_path: Path
) -> None:
    # Two API processes and the supervisor that runs the projection runner: every process.
    served = serve(own_database, tmp_path, MILESTONES_WORKERS="2")
    try:
        # The maximum write rate, measured here and now (the machine is shared and noisy).
        calibration = Journal()
        stop = threading.Event()
        threads = run_clients(_clients(served, calibration, Pacer(None), reads=False), stop)
        time.sleep(CALIBRATION_SECONDS)
        stop.set()
        for thread in threads:
            thread.join(60)
        max_rate = len(calibration.acknowledged) / CALIBRATION_SECONDS
        rate = max_rate / 2

        journal = Journal()
        samples = Samples()
        stop = threading.Event()
        threads = run_clients(_clients(served, journal, Pacer(rate), reads=True), stop)
        started = time.monotonic()
        while time.monotonic() - started < sizes.soak_seconds:
            samples.take(served, started)
            time.sleep(1.0)
        stop.set()
        for thread in threads:
            thread.join(60)
        elapsed = time.monotonic() - started
    finally:
        served.service.stop()

    growth = samples.growth(sizes.soak_seconds)
    writes = len(journal)
    reads = sum(journal.reads.values())
    errors = {s: n for s, n in journal.statuses().items() if s not in (200, 201)}
    read_errors = {s: n for s, n in journal.reads.items() if s != 200}
    figure(
        f"max {max_rate:.0f} writes/s measured, soaked {elapsed:.0f} s at {writes / elapsed:.0f} "
        f"writes/s + {reads / elapsed:.0f} reads/s ({writes} writes, {reads} reads); memory "
        f"growth after {WARM_UP:.0%} warm-up: "
        + ", ".join(
            f"{name} {g:+.1%} ({samples.megabytes(name, sizes.soak_seconds)})"
            for name, g in growth.items()
        )
        + f"; error answers {errors} + reads {read_errors}; lag max "
        f"{max(samples.lag_events, default=0)} events, "
        f"{max(samples.lag_seconds, default=0.0):.1f} s"
    )

    assert len(growth) >= 3  # the supervisor and its two API processes were all measured
    assert max(growth.values()) <= GROWTH_BOUND
    assert writes > 0
    assert errors == {}
    assert read_errors == {}
    assert max(samples.lag_seconds, default=0.0) <= LAG_BOUND
