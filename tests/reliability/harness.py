"""The service as real processes for the reliability checks, and what the database really holds.

Everything a check asserts is read back from PostgreSQL with the test's own (superuser) login,
never from the service's answers alone: the service is what is being checked.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import psycopg

from adapters.postgres.database import open_pool
from adapters.postgres.principals import Principals
from api.settings import Settings
from application.access import GlobalRole
from projections import all_views
from tests.integration.processes import (
    MILESTONES,
    REPO,
    free_port,
    run,
    service_env,
    spawn,
    wait_until,
)

EVENTS = "ledger_events"
# Bounds how long a broken run waits for a process; the service is expected to be much faster.
PATIENCE = 90
# The service's own default pool sizes (the integration tests shrink them to spare a shared
# server; these checks load the service as production would).
PRODUCTION_POOLS = {"MILESTONES_POOL_SIZE": "10", "MILESTONES_POOL_MAX_OVERFLOW": "10"}
# Every command a check sends carries one of these in a text field, so its event can be found.
MARKER = re.compile(rb"mk-[0-9a-f]{16}")


def principal(url: str, name: str, role: GlobalRole = GlobalRole.MEMBER) -> str:
    """Create a principal on the database `url` and return a new bearer token for it."""
    pool = open_pool(url, Settings(pool_size=1, pool_max_overflow=0))
    try:
        principals = Principals(pool)
        principals.add(name, role)
        return principals.create_token(name)
    finally:
        pool.close()


@dataclass
class Process:
    """One `milestones` process (serve or worker) that a check starts, kills and restarts."""

    args: list[str]
    env: dict[str, str]
    logs: Path
    popen: subprocess.Popen[bytes] | None = None
    starts: int = 0
    pids: list[int] = field(default_factory=list)

    def start(self) -> None:
        self.starts += 1
        self.popen = spawn(
            [*MILESTONES, *self.args], self.env, self.logs / f"{self.args[0]}-{self.starts}.log"
        )
        self.pids.append(self.popen.pid)

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL: no handler runs, no transaction is finished, nothing is flushed."""
        if self.popen is not None and self.popen.poll() is None:
            os.kill(self.popen.pid, signal.SIGKILL)
            self.popen.wait()

    def stop(self, timeout: float = 30) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()


class Service:
    """`milestones serve` on a spare 127.0.0.1 port against a database the check owns."""

    def __init__(self, url: str, workdir: Path, *, serve_args: Sequence[str] = (), **env: str):
        self.url = url
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        workdir.mkdir(parents=True, exist_ok=True)
        self.env = cli_env(url, workdir, **{**PRODUCTION_POOLS, **env})
        self.process = Process(["serve", "--port", str(self.port), *serve_args], self.env, workdir)

    def start(self) -> None:
        self.process.start()
        self.wait_ready()

    def wait_ready(self) -> None:
        wait_until(
            lambda: httpx.get(f"{self.base}/ready", timeout=5).status_code == 200,
            PATIENCE,
            f"the service on port {self.port} to be ready (logs in {self.process.logs})",
        )

    def kill(self) -> None:
        self.process.kill()

    def stop(self) -> None:
        self.process.stop()

    def cli(self, *args: str, timeout: float = 600) -> str:
        """Run a `milestones` command against the same database; fail the check if it fails."""
        return run([*MILESTONES, *args], self.env, timeout=timeout)

    def worker(self) -> Process:
        return Process(["worker"], self.env, self.process.logs)


def cli_env(url: str, workdir: Path, **env: str) -> dict[str, str]:
    """The environment of a `milestones` command line run against `url`."""
    return service_env(url, MILESTONES_DATA_DIR=str(workdir / "data"), **env)


def milestones(env: dict[str, str], *args: str, timeout: float = 600) -> str:
    return run([*MILESTONES, *args], env, timeout=timeout)


def milestones_rc(env: dict[str, str], *args: str, timeout: float = 600) -> tuple[int, str]:
    done = subprocess.run(
        [*MILESTONES, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


# --- what the database holds ---------------------------------------------------------------


@dataclass(frozen=True)
class StoredEvent:
    position: int
    stream: UUID
    version: int
    topic: str
    markers: frozenset[bytes]


def stored_events(url: str) -> list[StoredEvent]:
    """Every stored event in position order, with the markers its body carries."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            f"SELECT notification_id, originator_id, originator_version, topic, state"
            f" FROM {EVENTS} ORDER BY notification_id"
        ).fetchall()
    return [
        StoredEvent(int(p), s, int(v), str(t), frozenset(MARKER.findall(bytes(state))))
        for p, s, v, t, state in rows
    ]


def duplicate_versions(url: str) -> int:
    """How many (stream, version) pairs are stored more than once (the key forbids it)."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM {EVENTS}"
            f" GROUP BY originator_id, originator_version HAVING count(*) > 1) d"
        ).fetchone()
    return int(row[0]) if row else 0


def head(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(f"SELECT coalesce(max(notification_id), 0) FROM {EVENTS}").fetchone()
    return int(row[0]) if row else 0


def view_names() -> list[str]:
    return [view.name for view in all_views()]


def tracking(url: str) -> dict[str, int]:
    """Each view's tracking position (0 when it has none yet)."""
    names = view_names()
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT name, position FROM projection_tracking WHERE name = ANY(%s)", (names,)
        ).fetchall()
    found = {str(n): int(p) for n, p in rows}
    return {name: found.get(name, 0) for name in names}


def wait_for_views(url: str, position: int | None = None, timeout: float = PATIENCE) -> int:
    """Wait until every view has applied `position` (default: the head); return it."""
    target = head(url) if position is None else position
    wait_until(
        lambda: min(tracking(url).values()) >= target,
        timeout,
        f"every view to reach position {target}",
    )
    return target


def view_rows(url: str) -> dict[str, list[str]]:
    """Every row of every view's tables, each as text, sorted: two equal views compare equal."""
    tables = [table for view in all_views() for table in view.tables]
    contents: dict[str, list[str]] = {}
    with psycopg.connect(url) as conn:
        for table in tables:
            rows = conn.execute(f"SELECT t::text FROM {table} t").fetchall()
            contents[table] = sorted(str(row[0]) for row in rows)
    return contents


def view_differences(before: dict[str, list[str]], after: dict[str, list[str]]) -> list[str]:
    """Human-readable differences between two `view_rows` results (empty when equal)."""
    problems: list[str] = []
    for table in sorted(set(before) | set(after)):
        old, new = before.get(table, []), after.get(table, [])
        if old != new:
            gone = sorted(set(old) - set(new))[:3]
            added = sorted(set(new) - set(old))[:3]
            problems.append(
                f"{table}: {len(old)} rows before, {len(new)} after; "
                f"only before e.g. {gone}; only after e.g. {added}"
            )
    return problems


def rebuild_differences(env: dict[str, str], url: str) -> list[str]:
    """Rebuild every view from the events with the real command line; what changed.

    The views must have applied the head first (the caller waits for that), so that the live
    tables and a full rebuild describe the same events.
    """
    before = view_rows(url)
    milestones(env, "projections", "rebuild", "--all")
    return view_differences(before, view_rows(url))


# --- talking to the service ----------------------------------------------------------------


def client(base: str, token: str, timeout: float = 30) -> httpx.Client:
    return httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=timeout
    )


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), f"{response.status_code} {response.text}"
    body: dict[str, Any] = response.json()
    return body


def statuses(responses: Iterable[httpx.Response | None]) -> dict[int | None, int]:
    """How many responses had each status (None: no response at all)."""
    counts: dict[int | None, int] = {}
    for response in responses:
        status = None if response is None else response.status_code
        counts[status] = counts.get(status, 0) + 1
    return counts
