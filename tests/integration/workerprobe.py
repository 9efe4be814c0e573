"""A projection worker process for the scale-out tests: the real runner feeding a probe view.

Run as `python -m tests.integration.workerprobe VIEW_NAME` with DATABASE_URL set; it runs
until SIGTERM (or SIGKILL). The probe records every event it applies, with the worker that
applied it, and no unique key: an event applied twice shows up twice.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any

import psycopg

from adapters.postgres.database import open_pool
from api.bootstrap import build_ledger
from api.settings import Settings
from domain.events import ProjectEvent
from projections import claims
from projections.base import View
from projections.runner import ProjectionRunner

PROBE_DDL = """
    CREATE TABLE IF NOT EXISTS test_worker_probe (
        view text NOT NULL,
        position bigint NOT NULL,
        worker text NOT NULL
    )
"""


def probe_view(name: str, worker: str) -> View:
    class WorkerProbe(View):
        tables = ("test_worker_probe",)
        ddl = (PROBE_DDL,)

        def process_page(
            self, cur: psycopg.Cursor[Any], events: Sequence[tuple[ProjectEvent, int]]
        ) -> None:
            cur.execute(
                "INSERT INTO test_worker_probe (view, position, worker)"
                " SELECT %s, unnest(%s::bigint[]), %s",
                (self.name, [position for _, position in events], worker),
            )

    WorkerProbe.name = name
    return WorkerProbe()


def main(view_name: str) -> int:
    settings = Settings.from_env()
    assert settings.database_url, "DATABASE_URL must be set"
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    pool = open_pool(settings.database_url, settings)
    ledger = build_ledger(settings.database_url, settings)
    worker = claims.worker_id()
    runner = ProjectionRunner(
        ledger, pool, [probe_view(view_name, worker)], poll_interval=settings.poll_interval
    )
    runner.start()
    print(f"started {worker}", flush=True)
    stop.wait()
    runner.stop()
    ledger.close()
    pool.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
