"""`python -m bench.chain_speed [N]`: how fast the hash chain of N stored events is verified.

Fills a scratch database with N events (the seal trigger chains each one, as in production),
then times `Checkpoints.verify()` — the same code as `milestones verify` and `GET /v1/verify`:
a binary COPY streams the rows, encoded by the server, and Python recomputes every hash.
Prints events/s and the peak memory growth, which stays flat however large N is (constant
memory).
Needs DATABASE_URL (a server where it may create and drop a database).
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from uuid import uuid4

import psycopg
from psycopg.conninfo import conninfo_to_dict

from adapters.postgres.embedded import drop_database, ensure_database
from api.bootstrap import bootstrap, upgrade
from api.checkpoints import Checkpoints
from api.settings import Settings

STATE = b'{"actor": "bench", "name": "' + b"x" * 200 + b'"}'  # about the size of a real event


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    server = os.environ["DATABASE_URL"]
    name = f"chain_speed_{uuid4().hex[:8]}"
    url = ensure_database(server, name)
    try:
        with tempfile.TemporaryDirectory() as keys:
            settings = Settings(pool_size=2, pool_max_overflow=0, signing_key=Path(keys) / "k")
            upgrade(url, settings)
            started = time.perf_counter()
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(
                    "INSERT INTO ledger_events (originator_id, originator_version, topic, state)"
                    " SELECT gen_random_uuid(), 1, 'domain.events:PhaseAdded', %s"
                    " FROM generate_series(1, %s)",
                    (STATE, count),
                )
            sealed = time.perf_counter() - started
            container = bootstrap(settings, url)
            try:
                before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                started = time.perf_counter()
                result = Checkpoints.of(container).verify()
                seconds = time.perf_counter() - started
                grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
            finally:
                container.close()
        assert result.ok, result
        assert result.events_checked == count, result
        db = conninfo_to_dict(url).get("dbname")
        print(f"database {db}: {count} events sealed by the trigger in {sealed:.1f} s")
        print(
            f"verified {count} events in {seconds:.2f} s: {count / seconds:,.0f} events/s; "
            f"peak memory grew {grown / 1024:.1f} MiB"
        )
    finally:
        drop_database(server, name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
