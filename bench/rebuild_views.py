"""Times `runner.rebuild` per view on a fresh database filled by COPY (a quick, local check).

    .venv/bin/python -m bench.rebuild_views postgresql://postgres@127.0.0.1:5432/test \
        --events 100000 [--views schedule,projects,audit] [--all | --only-all] [--profile out.html]

Creates (and drops afterwards) a database of its own on the server of the given URI, runs
`db upgrade`, appends `--events` events with `workload.copy_projects`, then rebuilds each view
and prints events/s per view and overall (the log's events over the seconds of every rebuild,
as `bench/rebuild.py` counts them). `--all` also times `runner.rebuild_all()` (one read of
each page for every view) and prints its CPU seconds; `--only-all` times that alone.
`--profile` writes a pyinstrument report of the rebuilds.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from contextlib import nullcontext
from typing import Any

from adapters.postgres.embedded import drop_database, ensure_database
from api.bootstrap import bootstrap, upgrade
from api.settings import Settings
from bench import workload


def _cpu() -> tuple[float, float]:
    """CPU seconds (user + system) of this process and of its children that ended."""
    me, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime, children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("server_uri")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--views", default="")
    parser.add_argument("--all", action="store_true", help="also time rebuild_all()")
    parser.add_argument(
        "--only-all", action="store_true", help="time rebuild_all() alone (no view by view)"
    )
    parser.add_argument("--profile", default="")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    dbname = f"rebuild_views_{os.getpid()}"
    url = ensure_database(args.server_uri, dbname)
    settings = Settings(pool_size=2, pool_max_overflow=2)
    try:
        upgrade(url, settings)
        container = bootstrap(settings, url)
        try:
            started = time.perf_counter()
            workload.copy_projects(container.ledger, container.database_url, args.events)
            head = container.runner.head()
            print(f"filled {head} events in {time.perf_counter() - started:.1f} s")
            names = [n for n in args.views.split(",") if n] or container.runner.names
            if args.only_all:
                names, args.all = [], True
            profiler: Any = None
            if args.profile:
                from pyinstrument import Profiler

                profiler = Profiler()
            total = 0.0
            with profiler if profiler is not None else nullcontext():
                for name in names:
                    started = time.perf_counter()
                    container.runner.rebuild(name)
                    seconds = time.perf_counter() - started
                    total += seconds
                    print(f"{name:>10}: {seconds:7.2f} s  {head / seconds:10,.0f} events/s")
                if names:
                    print(f"{'overall':>10}: {total:7.2f} s  {head / total:10,.0f} events/s")
                if args.all:
                    started, cpu = time.perf_counter(), _cpu()
                    container.runner.rebuild_all()
                    seconds = time.perf_counter() - started
                    print(f"{'all':>10}: {seconds:7.2f} s  {head / seconds:10,.0f} events/s")
                    # CPU seconds of this process and of the rebuild's helpers (shares): on
                    # a shared machine the wall time says more about the load than the work.
                    mine, helpers = (now - then for now, then in zip(_cpu(), cpu, strict=True))
                    print(f"{'cpu':>10}: {mine:7.2f} s here, {helpers:7.2f} s in helpers")
            if profiler is not None:
                with open(args.profile, "w") as out:
                    out.write(profiler.output_html())
                print(profiler.output_text(unicode=False, color=False, show_all=False))
        finally:
            container.close()
    finally:
        if not args.keep:
            drop_database(args.server_uri, dbname)


if __name__ == "__main__":
    main()
