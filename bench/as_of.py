"""`as_of` and `history_ratio`: a read of the past against the present, and against history.

`as_of` (issue 18): the p50 of `GET /v1/projects/{pid}?as_of=…` ÷ the p50 of the same project's
current `GET` (no `as_of`), for a small project (100 events) and a big one (10,000 events,
`workload.one_project`: ~1,000 deliverables, a ~1.5 MB answer), both read at "now", the costliest
instant. Met only when both ratios are within the goal; the row shows the project with the
larger ratio (its as_of p50, its current p50), the other in `ratio_small`/`ratio_big`. Those
reads repeat instants already read once (a warm-up read each), which the service's kept past
states (`application.past`) answer from memory; a first read of an instant far from any read
before rebuilds the state from its snapshot, and is reported apart (`p50_ms_big_cold`, ten
instants of the big project none read before, in different snapshot intervals; `cold_ratio`
against the big current read), with no goal. The big project's as_of ÷ the small one's stays as
`big_over_small`.

`history_ratio` (issue 18): the cost of history alone. `as_of` finds the version at the instant
in the as-of index, loads the snapshot at or before it (one every 100 events) and replays at
most 99 events, so a long history should cost no more than a short one. The long-history
project is the 100-event one (same generator, same seed) followed by ~9,900 events of
realistic churn on the same deliverables and milestones (each reopened, re-evidenced,
resubmitted, sometimes rejected first, approved, its milestone rescheduled and achieved
again), so its state stays the small one's size while its history grows. It is read at 20
instants spread over its last events (replayed tails of 0 to 99 events after a snapshot); the
value is that p50, the baseline the small project's as_of p50 of the same reads. The answers'
sizes are reported (`bytes_*`) to show the states compared are the same size.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from uuid import UUID

import httpx

from application.ledger import Ledger
from bench import workload
from bench.context import Context
from bench.report import Metric, measured, missing
from domain.project import Project

GOAL = 1.5
SMALL = 100
# Instants of the long-history project the spread sample cycles through.
INSTANTS = 20
# First reads of the big project's past (instants none read before).
COLD = 10


GOALS = {
    "as_of": f"ratio ≤ {GOAL} (as_of p50 ÷ the same project's current GET p50, small and big)",
    "history_ratio": f"ratio ≤ {GOAL} (10,000-event project with small state ÷ 100-event project)",
}


def met(ratio_big: float, ratio_small: float) -> bool:
    """The goal holds for the big and for the small project."""
    return ratio_big <= GOAL and ratio_small <= GOAL


def measure(ctx: Context) -> tuple[Metric, Metric]:
    """(as_of, history_ratio), from one set of interleaved reads."""
    service = ctx.serve()
    headers = ctx.headers(workload.MANAGER)
    small = workload.one_project(ctx.ledger, SMALL, "as_of small")
    big, big_stamps = _big_project(ctx.ledger, ctx.sizes.as_of_events, "as_of big")
    long, instants = long_history_project(ctx.ledger, ctx.sizes.as_of_events, "as_of long history")
    with httpx.Client(base_url=service.url, timeout=60, headers=headers) as client:
        # The feature answers 404 for an instant before the project existed.
        long_ago = (datetime.now(UTC) - timedelta(days=3650)).isoformat()
        probe = client.get(f"/v1/projects/{small}", params={"as_of": long_ago})
        if probe.status_code != 404:
            reason = f"GET /v1/projects/{{pid}}?as_of= ignores as_of (answered {probe.status_code})"
            return (
                missing(unit="ms", goal=GOALS["as_of"], reason=reason),
                missing(unit="ms", goal=GOALS["history_ratio"], reason=reason),
            )
        now = datetime.now(UTC).isoformat()
        samples = ctx.sizes.as_of_samples
        long_instants = [i.isoformat() for i in instants]
        # Interleaved, one read of each series in turn, so the shared machine's noise hits all.
        p50 = _p50s(
            client,
            {
                "small": (small, [now]),
                "big": (big, [now]),
                "small_now": (small, [None]),
                "big_now": (big, [None]),
                "long_now": (long, [now]),
                "long": (long, long_instants),
            },
            samples,
        )
        small_p50, big_p50, small_now, big_now = (
            p50[name] for name in ("small", "big", "small_now", "big_now")
        )
        long_now_p50, long_p50 = p50["long_now"], p50["long"]
        # First reads of instants far apart (none within a snapshot interval of another).
        step = max(1, len(big_stamps) // COLD)
        cold = [big_stamps[n].isoformat() for n in range(step // 2, len(big_stamps), step)][:COLD]
        big_cold = _first_reads(client, big, cold)
        sizes = {
            name: len(_get(client, pid, now).content)
            for name, pid in (("small", small), ("big", big), ("long_history", long))
        }
    ratio_big, ratio_small = big_p50 / big_now, small_p50 / small_now
    history = long_p50 / small_p50
    # The row shows the project whose read of the past costs more against its present.
    shown, present = (big_p50, big_now) if ratio_big >= ratio_small else (small_p50, small_now)
    against_now = measured(
        shown * 1000,
        present * 1000,
        unit="ms",
        goal=GOALS["as_of"],
        met=met(ratio_big, ratio_small),
        ratio_big=round(ratio_big, 3),
        ratio_small=round(ratio_small, 3),
        big_over_small=round(big_p50 / small_p50, 3),
        p50_ms_big=round(big_p50 * 1000, 2),
        p50_ms_small=round(small_p50 * 1000, 2),
        p50_ms_big_now=round(big_now * 1000, 2),
        p50_ms_small_now=round(small_now * 1000, 2),
        p50_ms_big_cold=round(big_cold * 1000, 2),
        cold_ratio=round(big_cold / big_now, 3),
        cold_instants=len(cold),
        events_big=ctx.sizes.as_of_events,
        events_small=SMALL,
        bytes_small=sizes["small"],
        bytes_big=sizes["big"],
        shown="big" if ratio_big >= ratio_small else "small",
        baseline_what="p50 ms of the same project's current GET (no as_of), for the project "
        "whose ratio is the larger; met when both projects' ratios are within the goal",
    )
    history_ratio = measured(
        long_p50 * 1000,
        small_p50 * 1000,
        unit="ms",
        goal=GOALS["history_ratio"],
        met=history <= GOAL,
        p50_ms_long_history_now=round(long_now_p50 * 1000, 2),
        events_long_history=ctx.sizes.as_of_events,
        events_small=SMALL,
        instants_long_history=len(instants),
        bytes_small=sizes["small"],
        bytes_long_history=sizes["long_history"],
        baseline_what="p50 ms of the 100-event project's as_of read (the same read as as_of's "
        "small one); the value is the long-history project's as_of p50 over its instants",
    )
    return against_now, history_ratio


def long_history_project(
    ledger: Ledger, events: int, name: str, seed: int = 11
) -> tuple[UUID, list[datetime]]:
    """The `SMALL`-event project of `workload.one_project` (same seed), then churn on the same
    entities up to `events` events; also `INSTANTS` instants spread over its last few
    snapshot intervals, each right after an event, at varied distances from a snapshot."""
    rng = random.Random(seed)
    project, phases = workload.new_project(name)
    saver = workload.GrownProject(ledger)
    workload.grow(project, phases, SMALL, rng)
    stamps = saver.save(project)
    while project.version < events:
        target = min(project.version + workload.PROJECT_SAVE, events)
        while project.version < target:
            _churn(project, rng)
        stamps += saver.save(project)
    # Versions in the last ~10 snapshot intervals, tails of 0 to 99 events after a snapshot.
    last = project.version
    picked = sorted({last - 1 - rng.randrange(min(1000, last - SMALL)) for _ in range(INSTANTS)})
    return project.id, [stamps[version - 1] for version in picked]


def _churn(project: Project, rng: random.Random) -> None:
    """One round of rework on an existing deliverable and the milestone it proves."""
    milestone = rng.choice(list(project.milestones.values()))
    did = milestone.deliverable_ids[0]
    deliverable = project.deliverable(did)
    if milestone.achieved:
        project.reopen_milestone(
            milestone.id, "the acceptance test found a gap", actor=workload.MANAGER
        )
    project.reopen_deliverable(did, "the acceptance test found a gap", actor=workload.MANAGER)
    criteria = list(deliverable.criteria.values())
    rounds = deliverable.review_rounds
    criterion = rng.choice(criteria)
    evidence = f"https://docs.example.com/{rounds}/{criterion.id}"
    project.record_evidence(did, criterion.id, evidence, actor=workload.MANAGER)
    project.submit(did, actor=workload.MANAGER)
    if rng.random() < 0.2:
        project.reject(did, "the methodology section is missing", actor=workload.REVIEWER)
        project.record_evidence(did, criterion.id, evidence + "b", actor=workload.MANAGER)
        project.submit(did, actor=workload.MANAGER)
    project.approve(did, actor=workload.REVIEWER)
    if rng.random() < 0.5:
        later = milestone.due + timedelta(days=rng.randint(1, 14))
        project.reschedule(milestone.id, later, "the rework took time", actor=workload.MANAGER)
    project.achieve(milestone.id, actor=workload.MANAGER)


def _big_project(ledger: Ledger, events: int, name: str) -> tuple[UUID, list[datetime]]:
    """`workload.one_project`'s project (same seed), and the timestamps of its events."""
    rng = random.Random(11)
    project, phases = workload.new_project(name)
    saver = workload.GrownProject(ledger)
    stamps: list[datetime] = []
    while project.version < events:
        workload.grow(project, phases, min(project.version + workload.PROJECT_SAVE, events), rng)
        stamps += saver.save(project)
    return project.id, stamps


def _get(client: httpx.Client, project: object, instant: str | None) -> httpx.Response:
    params = {} if instant is None else {"as_of": instant}
    response = client.get(f"/v1/projects/{project}", params=params)
    response.raise_for_status()
    return response


def _first_reads(client: httpx.Client, project: object, instants: Sequence[str]) -> float:
    """The median of one read of each instant (none read before)."""
    times = []
    for instant in instants:
        started = time.perf_counter()
        _get(client, project, instant)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _p50s(
    client: httpx.Client,
    series: dict[str, tuple[object, Sequence[str | None]]],
    samples: int,
) -> dict[str, float]:
    """Per series (a project and the instants it cycles through, None: the current state), the
    median of `samples` reads, after one warm-up read of each instant; the series take turns."""
    for project, instants in series.values():
        for instant in instants:
            _get(client, project, instant)
    times: dict[str, list[float]] = {name: [] for name in series}
    for n in range(samples):
        for name, (project, instants) in series.items():
            instant = instants[n % len(instants)]
            started = time.perf_counter()
            _get(client, project, instant)
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}
