"""Several projection workers on one database: one per view at a time, exactly once, takeover."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from psycopg import sql

from api.bootstrap import Container, build_ledger, upgrade
from api.settings import Settings
from application.access import Principal
from application.ledger import Ledger
from domain.roles import ProjectRole
from projections import all_views, claims, tracking
from tests.commanding import run_as
from tests.integration.processes import (
    MILESTONES,
    fresh_database,
    run,
    service_env,
    spawn,
    stop,
    wait_until,
)
from tests.integration.workerprobe import PROBE_DDL

PROBE = [sys.executable, "-m", "tests.integration.workerprobe"]


def holder_of(conn: psycopg.Connection[Any], view: str) -> str | None:
    return claims.holders(conn, [view])[view]


def pid_of(holder: str | None) -> int | None:
    return int(holder.rsplit(":", 1)[1]) if holder else None


class Writer:
    """Appends events from a thread until stopped, as a busy API would."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.stopped = threading.Event()
        self.written = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Writer:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stopped.set()
        self.thread.join()

    def _run(self) -> None:
        manager = f"manager-{uuid4().hex[:8]}"
        project = self.ledger.create_project(Principal(manager), name="Scale-out").project_id
        while not self.stopped.is_set():
            run_as(
                self.ledger,
                project,
                lambda p: {"phase_id": p.add_phase(f"Phase {uuid4().hex}", actor=manager)},
                actor=manager,
                needs=ProjectRole.MANAGER,
            )
            self.written += 1
            time.sleep(0.005)


@pytest.fixture
def probe_view(container: Container) -> str:
    """A fresh probe view's name, starting after every event already in the log."""
    name = f"probe-{uuid4().hex[:8]}"
    with container.pool.connection() as conn, conn.cursor() as cur:
        cur.execute(PROBE_DDL)
        tracking.write_position(cur, name, container.runner.head())
    return name


def test_two_workers_never_apply_an_event_twice_and_the_survivor_takes_over(
    container: Container, database_url: str, probe_view: str, tmp_path: Path
) -> None:
    env = service_env(database_url)
    start = container.runner.head()
    first = spawn([*PROBE, probe_view], env, tmp_path / "first.log")
    second: Any = None
    try:
        with container.pool.connection() as conn:
            conn.autocommit = True
            wait_until(lambda: pid_of(holder_of(conn, probe_view)) == first.pid, 30, "first")
            second = spawn([*PROBE, probe_view], env, tmp_path / "second.log")
            wait_until(lambda: b"started" in (tmp_path / "second.log").read_bytes(), 30, "second")

            with Writer(container.ledger) as writer:
                wait_until(
                    lambda: _applied_by(conn, probe_view, first.pid) >= 20, 30, "first applies"
                )
                # Killed at whatever point it is, with events still arriving.
                os.kill(first.pid, signal.SIGKILL)
                killed = time.monotonic()
                first.wait()
                wait_until(
                    lambda: pid_of(holder_of(conn, probe_view)) == second.pid, 60, "takeover"
                )
                takeover = time.monotonic() - killed
                wait_until(lambda: _applied_by(conn, probe_view, second.pid) >= 20, 30, "second")
            last = container.runner.head()
            wait_until(
                lambda: tracking.read_position(conn, probe_view) >= last, 30, "the last event"
            )
            applied = _applied(conn, probe_view)
            expected = _positions(container, start, last)
    finally:
        for process in (first, second):
            if process is not None:
                stop(process)

    print(f"\ntakeover after SIGKILL: {takeover:.2f} s; {writer.written} commands written")
    assert sorted(applied) == expected  # every event once: none lost, none twice


def test_milestones_workers_share_the_views_and_status_names_the_holder(
    database_url: str, tmp_path: Path
) -> None:
    with fresh_database(database_url) as url:
        env = service_env(url)
        upgrade(url, Settings())
        ledger = build_ledger(url, Settings(pool_size=2, pool_max_overflow=0))
        try:
            manager = f"manager-{uuid4().hex[:8]}"
            written = ledger.create_project(Principal(manager), name="Status")
            first = spawn([*MILESTONES, "worker"], env, tmp_path / "first.log")
            second: Any = None
            try:
                wait_until(
                    lambda: _holders_if_all_caught_up(url, written.position or 0), 60, "views"
                )
                assert {pid_of(h) for h in _holders(url).values()} == {first.pid}
                second = spawn([*MILESTONES, "worker"], env, tmp_path / "second.log")
                wait_until(lambda: b"running" in (tmp_path / "second.log").read_bytes(), 60, "2nd")
                status = run([*MILESTONES, "projections", "status"], env)
                assert all(f":{first.pid}" in line for line in status.splitlines()[1:]), status

                os.kill(first.pid, signal.SIGKILL)
                survivor = second
                wait_until(
                    lambda: {pid_of(h) for h in _holders(url).values()} == {survivor.pid},
                    60,
                    "the survivor to hold every view",
                )
                after = ledger.create_project(Principal(manager), name="After")
                wait_until(
                    lambda: _holders_if_all_caught_up(url, after.position or 0), 30, "catch up"
                )
                status = run([*MILESTONES, "projections", "status"], env)
            finally:
                for process in (first, second):
                    if process is not None:
                        stop(process)
        finally:
            ledger.close()
    lines = status.splitlines()
    assert lines[0].split() == ["view", "position", "head", "lag", "lag", "s", "worker"]
    for line in lines[1:]:
        _view, position, head, lag, _seconds, worker = line.split()
        assert (int(position), int(lag)) == (int(head), 0)
        assert pid_of(worker) == survivor.pid


def _holders(url: str) -> dict[str, str | None]:
    with psycopg.connect(url, autocommit=True) as conn:
        return claims.holders(conn, [view.name for view in all_views()])


def _holders_if_all_caught_up(url: str, position: int) -> list[str] | None:
    """The holders of every view, once each view is held and has applied `position`."""
    holders = _holders(url)
    with psycopg.connect(url) as conn:
        positions = tracking.read_positions(conn, list(holders))
    if all(holders.values()) and all(p >= position for p in positions.values()):
        return [h for h in holders.values() if h]
    return None


def _applied_by(conn: psycopg.Connection[Any], view: str, pid: int) -> int:
    row = conn.execute(
        "SELECT count(*) FROM test_worker_probe WHERE view = %s AND worker LIKE %s",
        (view, f"%:{pid}"),
    ).fetchone()
    return int(row[0]) if row else 0


def _applied(conn: psycopg.Connection[Any], view: str) -> list[int]:
    rows = conn.execute("SELECT position FROM test_worker_probe WHERE view = %s", (view,))
    return [int(row[0]) for row in rows.fetchall()]


def _positions(container: Container, after: int, last: int) -> list[int]:
    """Every position in the log in (after, last]; positions may have gaps."""
    recorder: Any = container.ledger.recorder
    query = sql.SQL(
        "SELECT notification_id FROM {} WHERE notification_id > %s AND notification_id <= %s"
        " ORDER BY notification_id"
    ).format(sql.Identifier(recorder.events_table_name))
    with container.pool.connection() as conn:
        return [int(row[0]) for row in conn.execute(query, (after, last)).fetchall()]
