"""`milestones projections status` and `rebuild`: where each view is, and a view built anew."""

from __future__ import annotations

import argparse
import sys

from api.settings import Settings
from cli.wiring import open_container


def cmd_projections_status(_: argparse.Namespace, settings: Settings) -> int:
    from projections.status import view_statuses

    with open_container(settings) as container, container.pool.connection() as conn:
        statuses = view_statuses(container.ledger, conn, container.runner.names)
    print(f"{'view':<12} {'position':>10} {'head':>10} {'lag':>8} {'lag s':>9}  worker")
    for status in statuses:
        print(
            f"{status.name:<12} {status.position:>10} {status.head:>10} {status.lag_events:>8}"
            f" {status.lag_seconds:>9.1f}  {status.holder or '-'}"
        )
    return 0


def cmd_projections_rebuild(args: argparse.Namespace, settings: Settings) -> int:
    from cli.progress import ProgressBar
    from projections.rebuild import RebuildError

    with open_container(settings) as container:
        names = container.runner.names if args.all else [args.name]
        if unknown := sorted(set(names) - set(container.runner.names)):
            print(
                f"milestones: no view named {', '.join(unknown)}; the views are "
                f"{', '.join(container.runner.names)}",
                file=sys.stderr,
            )
            return 2
        # --all reads the log once for every view (each swapped in once all have caught up).
        bar = ProgressBar("every view" if args.all else args.name)
        try:
            if args.all:
                read = container.runner.rebuild_all(progress=bar)
            else:
                read = container.runner.rebuild(args.name, progress=bar)
        except RebuildError as error:
            print(f"milestones: {error}", file=sys.stderr)
            return 1
        bar.finish(read)
        print(f"rebuilt {', '.join(names)}")
    return 0
