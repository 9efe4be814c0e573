"""The embedded PostgreSQL server: it starts, serves, stops, and survives a killed owner."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate

from adapters.postgres.database import eventsourcing_env, resolve_database_url
from adapters.postgres.embedded import PIDS_FILE, EmbeddedPostgres, drop_database, ensure_database
from api.settings import Settings

REPO = Path(__file__).resolve().parents[2]

# A process that holds the server until its stdin closes, then stops its handle cleanly.
HOLDER = """
import sys
from pathlib import Path
from adapters.postgres.embedded import EmbeddedPostgres
server = EmbeddedPostgres(Path(sys.argv[1]))
print(server.start(), flush=True)
sys.stdin.read()
server.stop()
"""


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A cluster directory of its own under the repo's .milestones/ (not /tmp or /root: as root
    the wheel hands the directory to its own user, which must be able to reach it)."""
    path = REPO / ".milestones" / f"test-embedded-{uuid.uuid4().hex[:12]}"
    yield path
    if (path / "postmaster.pid").exists():
        # A failed test left the server running: disown every holder, then join and stop it,
        # because deleting the directory under a running server would leave it running.
        (path / PIDS_FILE).write_text("[]")
        leftover = EmbeddedPostgres(path)
        leftover.start()
        leftover.stop()
    shutil.rmtree(path, ignore_errors=True)


def _accepts_connections(uri: str) -> bool:
    try:
        with psycopg.connect(uri, connect_timeout=2) as conn:
            return conn.execute("SELECT 1").fetchone() == (1,)
    except psycopg.OperationalError:
        return False


def _start_holder(data_dir: Path) -> tuple[subprocess.Popen[str], str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(data_dir)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    uri = holder.stdout.readline().strip()
    assert uri.startswith("postgresql://"), f"holder did not start the server: {uri!r}"
    return holder, uri


def test_embedded_server_starts_accepts_connections_and_stops(data_dir: Path) -> None:
    server = EmbeddedPostgres(data_dir)

    uri = server.start()
    assert _accepts_connections(uri)

    server.stop()
    assert not _accepts_connections(uri)
    assert not (data_dir / "postmaster.pid").exists()


def test_embedded_server_restarts_on_the_same_data_in_the_same_process(data_dir: Path) -> None:
    first = EmbeddedPostgres(data_dir)
    uri = ensure_database(first.start(), "kept")
    first.stop()

    second = EmbeddedPostgres(data_dir)
    second.start()
    try:
        assert _accepts_connections(uri)
    finally:
        second.stop()


def test_server_left_behind_by_a_killed_process_is_stopped_by_the_next_owner(
    data_dir: Path,
) -> None:
    holder, uri = _start_holder(data_dir)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=10)
    assert _accepts_connections(uri), "PostgreSQL outlives a SIGKILLed owner"
    assert holder.pid in json.loads((data_dir / PIDS_FILE).read_text())

    server = EmbeddedPostgres(data_dir)
    assert server.start() == uri
    assert holder.pid not in json.loads((data_dir / PIDS_FILE).read_text())
    server.stop()

    assert not _accepts_connections(uri)


def test_stop_leaves_the_server_running_while_another_process_still_uses_it(
    data_dir: Path,
) -> None:
    holder, uri = _start_holder(data_dir)
    server = EmbeddedPostgres(data_dir)
    server.start()

    server.stop()
    assert _accepts_connections(uri)

    holder.communicate(timeout=30)  # closing its stdin makes the holder stop its handle
    assert holder.returncode == 0
    deadline = time.monotonic() + 10
    while _accepts_connections(uri) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _accepts_connections(uri)


def test_ensure_database_creates_it_once_and_returns_its_uri(database_url: str) -> None:
    dbname = f"ml_test_ensure_{uuid.uuid4().hex[:12]}"
    try:
        uri = ensure_database(database_url, dbname)
        assert ensure_database(database_url, dbname) == uri

        with psycopg.connect(uri) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == (dbname,)
    finally:
        drop_database(database_url, dbname)


def test_event_store_reaches_the_embedded_database_through_its_socket_uri(
    data_dir: Path,
) -> None:
    settings = Settings(data_dir=data_dir, pool_size=1, pool_max_overflow=0)
    url, server = resolve_database_url(settings)
    assert server is not None
    try:
        env = eventsourcing_env(url, settings)
        assert env["POSTGRES_HOST"] == str(data_dir / "pg")
        assert env["POSTGRES_DBNAME"] == "milestones"

        # A plain application: the library's own recorder, no ledger tables needed.
        env.pop("APPLICATION_RECORDER_TOPIC")
        app = Application[uuid.UUID](env={**env, "CREATE_TABLE": "y"})
        try:
            aggregate = Aggregate()
            app.save(aggregate)
            assert app.repository.get(aggregate.id).version == 1
        finally:
            app.close()
    finally:
        server.stop()
