"""Raw psycopg baselines, measured in the same run on the same database as the metrics.

Each writes to its own scratch table shaped like the events table (a uuid, a version, a topic
and the bytes of a real stored event), so a ratio compares the service with what PostgreSQL
itself does on this machine right now.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql

# What a typical stored event's state looks like (~250 bytes of JSON).
STATE = (
    b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-11-26T08:03:21.540058+00:00"},'
    b'"actor":"bench-manager","deliverable_id":{"_type_":"uuid_hex","_data_":'
    b'"e9273cd9433b4069920a8eac52cceccb"},"criterion_id":{"_type_":"uuid_hex","_data_":'
    b'"7d9dd553ffd5451cb7d7eceafe92f711"},"evidence":"https://docs.example.com/report.pdf"}'
)
TOPIC = "domain.events:EvidenceRecorded"
_INSERT = "INSERT INTO {} (originator_id, originator_version, topic, state) VALUES (%s, %s, %s, %s)"


@contextmanager
def _scratch(conn: psycopg.Connection[object], name: str) -> Iterator[sql.Identifier]:
    table = sql.Identifier(name)
    conn.execute(
        sql.SQL(
            "CREATE TABLE {} (id bigserial PRIMARY KEY, originator_id uuid NOT NULL, "
            "originator_version bigint NOT NULL, topic text NOT NULL, state bytea NOT NULL)"
        ).format(table)
    )
    conn.commit()
    try:
        yield table
    finally:
        conn.rollback()
        conn.execute(sql.SQL("DROP TABLE {}").format(table))
        conn.commit()


def insert_per_commit(database_url: str, rows: int) -> tuple[float, float]:
    """Rows/s of a loop of one INSERT and one COMMIT per row, and the p99 commit latency (ms)."""
    latencies = []
    with psycopg.connect(database_url) as conn, _scratch(conn, "bench_raw_single") as table:
        insert = sql.SQL(_INSERT).format(table)
        stream = uuid.uuid4()
        started = time.perf_counter()
        for version in range(rows):
            before = time.perf_counter()
            conn.execute(insert, (stream, version, TOPIC, STATE))
            conn.commit()
            latencies.append(time.perf_counter() - before)
        elapsed = time.perf_counter() - started
    p99 = statistics.quantiles(latencies, n=100)[98] * 1000
    return rows / elapsed, p99


def paced_commits(database_url: str, rate: float, seconds: float) -> list[float]:
    """Latencies (s) of one INSERT + COMMIT sent at `rate` per second for `seconds`: what a
    durable commit alone costs at a quiet rate on this server right now (its tail is the
    shared server's WAL flush and this machine's CPU contention, not ours)."""
    latencies = []
    with psycopg.connect(database_url) as conn, _scratch(conn, "bench_raw_paced") as table:
        insert = sql.SQL(_INSERT).format(table)
        stream = uuid.uuid4()
        interval = 1 / rate
        due = time.perf_counter()
        end = due + seconds
        version = 0
        while due < end:
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            before = time.perf_counter()
            conn.execute(insert, (stream, version, TOPIC, STATE))
            conn.commit()
            latencies.append(time.perf_counter() - before)
            version += 1
            due += interval
    return latencies


def executemany_100(database_url: str, rows: int) -> float:
    """Rows/s of executemany with 100 rows per transaction."""
    with psycopg.connect(database_url) as conn, _scratch(conn, "bench_raw_batch") as table:
        insert = sql.SQL(_INSERT).format(table)
        stream = uuid.uuid4()
        started = time.perf_counter()
        with conn.cursor() as cur:
            for first in range(0, rows, 100):
                batch = [(stream, v, TOPIC, STATE) for v in range(first, min(first + 100, rows))]
                cur.executemany(insert, batch)
                conn.commit()
        elapsed = time.perf_counter() - started
    return rows / elapsed


def sequential_read(database_url: str, events_table: str) -> tuple[int, float]:
    """Rows and rows/s of reading the whole events table in position order (server-side cursor,
    binary), which is the least a tamper-evidence check must do."""
    query = sql.SQL(
        "SELECT notification_id, originator_id, originator_version, topic, state, chain_hash "
        "FROM {} ORDER BY notification_id"
    ).format(sql.Identifier(events_table))
    count = 0
    with psycopg.connect(database_url) as conn, conn.transaction():
        started = time.perf_counter()
        with conn.cursor(name="bench_read", binary=True) as cur:
            cur.itersize = 10_000
            cur.execute(query)
            for _ in cur:
                count += 1
        elapsed = time.perf_counter() - started
    return count, count / elapsed
