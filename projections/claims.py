"""Which worker processes which view: one PostgreSQL session advisory lock per view.

A worker holds a view's lock on its own session connection for as long as it processes that
view. The lock dies with the session, so when a worker dies (SIGKILL, a lost machine) its views
become free and another worker claims them on its next attempt. The lock only spreads the work:
exactly-once rests on the tracking rows each page locks `FOR UPDATE` (see `tracking`), so even
two workers that both believe they hold a view never apply an event twice.
"""

from __future__ import annotations

import os
import socket
import zlib
from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from psycopg import sql

# The first key of every view lock ("ML"); the second is derived from the view's name.
VIEW_LOCK_CLASS = 0x4D4C
# A second class for `projections rebuild`, so two rebuilds of one view never run at once.
REBUILD_LOCK_CLASS = 0x4D52
# A third class for the one process of a deployment that signs periodic checkpoints
# (api/checkpoints/timer.py): the same election as the views', for one more job.
LEADER_LOCK_CLASS = 0x4D53
# Marks the runners' sessions, so `status` can say who holds a view (pg_stat_activity).
APPLICATION_PREFIX = "milestones-runner "
# Server-side keepalives on the claiming session: a worker whose machine vanishes without
# closing its socket loses its locks after about idle + interval × count seconds.
KEEPALIVE_IDLE = 5
KEEPALIVE_INTERVAL = 2
KEEPALIVE_COUNT = 3


def worker_id() -> str:
    """This process as `hostname:pid`, the name `projections status` shows for a holder."""
    return f"{socket.gethostname()}:{os.getpid()}"


def lock_key(name: str) -> int:
    """The view's second lock key: a stable signed 32-bit hash of its name."""
    crc = zlib.crc32(name.encode())
    return crc - (1 << 32) if crc >= (1 << 31) else crc


def connect(conninfo: str, holder: str, channel: str | None) -> psycopg.Connection[Any]:
    """Open the session a runner claims views on (and LISTENs on, when the store NOTIFYs)."""
    conn = psycopg.connect(
        conninfo,
        autocommit=True,
        # application_name is at most 63 bytes; a long host name is cut, not refused.
        application_name=(APPLICATION_PREFIX + holder)[:63],
    )
    try:
        conn.execute(
            "SELECT set_config('tcp_keepalives_idle', %s, false),"
            " set_config('tcp_keepalives_interval', %s, false),"
            " set_config('tcp_keepalives_count', %s, false)",
            (str(KEEPALIVE_IDLE), str(KEEPALIVE_INTERVAL), str(KEEPALIVE_COUNT)),
        )
        if channel is not None:
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
    except BaseException:
        conn.close()
        raise
    return conn


def try_claim(conn: psycopg.Connection[Any], names: Iterable[str]) -> set[str]:
    """Take the locks of the named views that no other session holds; the names taken.

    Call it only for views this session does not hold yet: a session lock taken twice must be
    released twice. With no names it still proves the session is alive.
    """
    wanted = list(names)
    if not wanted:
        conn.execute("SELECT 1")
        return set()
    rows = conn.execute(
        "SELECT name FROM unnest(%s::text[], %s::int[]) AS v(name, key)"
        " WHERE pg_try_advisory_lock(%s, v.key)",
        (wanted, [lock_key(n) for n in wanted], VIEW_LOCK_CLASS),
    ).fetchall()
    return {str(row[0]) for row in rows}


def holders(conn: psycopg.Connection[Any], names: Sequence[str]) -> dict[str, str | None]:
    """The worker (`hostname:pid`) holding each view's lock in this database, or None."""
    rows = conn.execute(
        "SELECT v.name, a.application_name"
        " FROM unnest(%s::text[], %s::bigint[]) AS v(name, objid)"
        " JOIN pg_locks l ON l.locktype = 'advisory' AND l.granted AND l.objsubid = 2"
        "  AND l.classid = %s AND l.objid::bigint = v.objid"
        "  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        " LEFT JOIN pg_stat_activity a ON a.pid = l.pid",
        (list(names), [lock_key(n) & 0xFFFFFFFF for n in names], VIEW_LOCK_CLASS),
    ).fetchall()
    found: dict[str, str | None] = dict.fromkeys(names)
    for name, application in rows:
        holder = str(application or "")
        found[str(name)] = holder.removeprefix(APPLICATION_PREFIX) or "unknown"
    return found


def try_lead(conn: psycopg.Connection[Any], job: str) -> bool:
    """Take the session lock that makes this process the one that does `job` (call it only
    while this session does not hold it yet)."""
    row = conn.execute(
        "SELECT pg_try_advisory_lock(%s, %s)", (LEADER_LOCK_CLASS, lock_key(job))
    ).fetchone()
    return bool(row and row[0])


def try_lock_rebuild(conn: psycopg.Connection[Any], name: str) -> bool:
    """Take the session lock that lets one rebuild of the view run at a time."""
    row = conn.execute(
        "SELECT pg_try_advisory_lock(%s, %s)", (REBUILD_LOCK_CLASS, lock_key(name))
    ).fetchone()
    return bool(row and row[0])


def unlock_rebuild(conn: psycopg.Connection[Any], name: str) -> None:
    conn.execute("SELECT pg_advisory_unlock(%s, %s)", (REBUILD_LOCK_CLASS, lock_key(name)))
