"""A member's feed page against the whole feed's page, at a million events (a measurement).

Issue 16, item 4: a member reads only the events of the projects it reads, by one query per
page over `(originator_id, notification_id)` (migration 0031, `LogReads.read_page_of`). This
fills a scratch events table (the events' own columns and indexes, 0002 and 0031) with
`EVENTS` rows over `PROJECTS` projects, written in runs as people work, then times, in the same
run, pages of 100 from three places in the log for: the whole feed (`read_page`, the baseline),
a member of 12 projects (`read_page_of`), and the plain filter a member's page would be without
the new read (`originator_id = ANY(...)` on the position order), and prints each as a ratio to
the baseline. Usage:

    psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE feed_member_x'
    .venv/bin/python -m bench.feed_member postgresql://postgres@127.0.0.1:5432/feed_member_x
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import psycopg

from adapters.postgres.log import LogReads

EVENTS = 1_000_000
PROJECTS = 2_000
MEMBER_PROJECTS = 12
PAGE = 100
REPEATS = 30
TABLE = "bench_feed_events"

DDL = """
CREATE TABLE IF NOT EXISTS bench_feed_events (
    originator_id uuid NOT NULL,
    originator_version bigint NOT NULL,
    topic text,
    state bytea,
    notification_id bigint NOT NULL,
    PRIMARY KEY (originator_id, originator_version)
);
CREATE UNIQUE INDEX IF NOT EXISTS bench_feed_events_notification_idx
    ON bench_feed_events (notification_id);
CREATE INDEX IF NOT EXISTS bench_feed_events_originator_position_idx
    ON bench_feed_events (originator_id, notification_id);
"""
# Runs of 50 events per project (a person works on one project for a while); state ~200 bytes.
GENERATE = """
INSERT INTO bench_feed_events (originator_id, originator_version, topic, state, notification_id)
SELECT md5('project' || ((n / 50) %% %(projects)s))::uuid,
       row_number() OVER (PARTITION BY (n / 50) %% %(projects)s ORDER BY n),
       'domain.events:PhaseAdded', convert_to(repeat('x', 200), 'UTF8'), n
FROM generate_series(1, %(events)s) AS n
"""
NAIVE = """
SELECT notification_id, originator_id, originator_version, topic, state FROM bench_feed_events
WHERE notification_id > %s AND originator_id = ANY(%s::uuid[])
ORDER BY notification_id LIMIT %s
"""


def _median_ms(read: Callable[[], Any]) -> float:
    times = []
    for _ in range(REPEATS):
        began = time.perf_counter()
        read()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def main(url: str) -> None:
    log = LogReads("public", TABLE)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(DDL)
        count = conn.execute("SELECT count(*) FROM bench_feed_events").fetchone()
        if not count or count[0] < EVENTS:
            began = time.monotonic()
            conn.execute("TRUNCATE bench_feed_events")
            conn.execute(GENERATE, {"projects": PROJECTS, "events": EVENTS})
            print(f"generated {EVENTS} events in {time.monotonic() - began:.0f} s")
        conn.execute("VACUUM ANALYZE bench_feed_events")
        # A member of 12 projects spread over the log (every 167th project).
        rows = conn.execute(
            "SELECT md5('project' || p)::uuid FROM generate_series(0, %s - 1, %s) p",
            (PROJECTS, PROJECTS // MEMBER_PROJECTS),
        ).fetchall()
        projects = [row[0] for row in rows][:MEMBER_PROJECTS]
        print(
            f"{EVENTS} events, {PROJECTS} projects, a member of {len(projects)}; pages of {PAGE},"
        )
        print(f"median of {REPEATS} reads each, in ms (ratio to the whole feed's page)")
        print(f"{'from position':>14} {'whole feed':>11} {'member':>16} {'plain filter':>16}")
        for after in (0, EVENTS // 2, EVENTS - 5_000):
            _row(conn, log, projects, after)


def _row(conn: psycopg.Connection[Any], log: LogReads, projects: list[Any], after: int) -> None:
    whole = _median_ms(lambda: log.read_page(conn, after, PAGE))
    member = _median_ms(lambda: log.read_page_of(conn, projects, after, PAGE, None))
    naive = _median_ms(lambda: conn.execute(NAIVE, (after, projects, PAGE)).fetchall())
    print(
        f"{after:>14} {whole:>11.2f} {member:>9.2f} ({member / whole:>4.1f}x)"
        f" {naive:>9.2f} ({naive / whole:>4.1f}x)"
    )


if __name__ == "__main__":
    main(sys.argv[1])
