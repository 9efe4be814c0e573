"""The event store's PostgreSQL factory: its pool checks connections only when idle, every pooled
connection acts as the application role (`SET ROLE` through libpq's startup options) without
the planner's JIT (`NO_JIT`), and its snapshots are signed and checked
(`adapters.postgres.snapshots`)."""

from __future__ import annotations

import re
import time
import weakref
from typing import Any

from eventsourcing.persistence import AggregateRecorder, ApplicationRecorder
from eventsourcing.postgres import PostgresFactory
from eventsourcing.utils import Environment, EnvType
from psycopg_pool import ConnectionPool

from adapters.postgres import pipelines
from adapters.postgres.snapshots import SNAPSHOTS_PURPOSE, SnapshotRecorder, SnapshotSigner
from adapters.signing import KeySource

_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

# Every pooled session of the service (the event store's and ours) runs without JIT compilation.
# The ledger's statements are point reads and short pages by index; PostgreSQL compiles a
# statement whose *estimated* cost passes jit_above_cost, and an estimate is worst just when a
# table has grown fast (a restore, a bulk load, before autovacuum's ANALYZE): at 10,000,000
# events a project's tail of 97 events, read by its primary key in 10 ms, took 60 ms with the
# compilation (docs/performance.md).
NO_JIT = "-c jit=off"

# The topic of the factory below, for the event store's PERSISTENCE_MODULE.
FACTORY_TOPIC = "adapters.postgres.factory:LedgerFactory"


def role_option(role: str) -> str:
    """libpq `options` that make a session act as `role` from its first statement (SET ROLE)."""
    if not _ROLE_NAME.match(role):
        raise ValueError(f"not a plain role name: {role!r}")
    return f"-c role={role}"


class RecentCheck:
    """A pool `check` that pings a connection only when it has not been handed out lately.

    A ping on every checkout is a round trip per checkout (two per command). A connection
    handed out within the last `idle` seconds was in use then, so a server restart since then
    is what the ping would catch; that window is short, and a connection that fails anyway is
    discarded by the pool and the request answers 503 (clients retry on Retry-After).
    """

    def __init__(self, idle: float = 1.0) -> None:
        self._idle = idle
        self._handed_out: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()

    def __call__(self, conn: Any) -> None:
        now = time.monotonic()
        last = self._handed_out.get(conn)
        if last is None or now - last > self._idle:
            ConnectionPool.check_connection(conn)
        self._handed_out[conn] = now


class LedgerFactory(PostgresFactory):
    """The library's PostgreSQL factory; with POSTGRES_ROLE every pooled connection acts as
    that role, set in the startup packet so no statement ever runs with the login's rights;
    snapshots are signed with the key in SNAPSHOT_SIGNING_KEY (a file's path; without one,
    no snapshot is written or read)."""

    POSTGRES_ROLE = "POSTGRES_ROLE"
    SNAPSHOT_SIGNING_KEY = "SNAPSHOT_SIGNING_KEY"
    # Seconds a save may take before its connection is cut (adapters.postgres.deadline).
    SAVE_TIMEOUT = "SAVE_TIMEOUT"
    SNAPSHOT_SIGNING_KEY_CREATE = "SNAPSHOT_SIGNING_KEY_CREATE"

    def __init__(self, env: Environment | EnvType | None):
        super().__init__(env)
        # Saves of megabytes must not hang on a Unix socket (see adapters.postgres.pipelines).
        pipelines.install()
        if self.datastore.pool._check is not None:
            self.datastore.pool._check = RecentCheck()
        role = self.env.get(self.POSTGRES_ROLE)
        kwargs = self.datastore.pool.kwargs
        if isinstance(kwargs, dict):
            # The pool has not connected yet (it opens on first use).
            kwargs["options"] = f"{role_option(role)} {NO_JIT}" if role else NO_JIT

    def application_recorder(self) -> ApplicationRecorder:
        recorder = super().application_recorder()
        timeout = self.env.get(self.SAVE_TIMEOUT)
        if timeout and hasattr(recorder, "save_timeout"):
            recorder.save_timeout = float(timeout)
        return recorder

    def aggregate_recorder(self, purpose: str = "events") -> AggregateRecorder:
        if purpose != SNAPSHOTS_PURPOSE:
            return super().aggregate_recorder(purpose)
        prefix = self.env.name.lower() or "stored"
        key = self.env.get(self.SNAPSHOT_SIGNING_KEY)
        recorder = SnapshotRecorder(
            self.datastore,
            events_table_name=f"{prefix}_{SNAPSHOTS_PURPOSE}",
            log_table_name=f"{prefix}_events",
            signer=SnapshotSigner(
                KeySource.from_text(
                    key, may_create=bool(self.env.get(self.SNAPSHOT_SIGNING_KEY_CREATE))
                )
            )
            if key
            else None,
        )
        if self.env_create_table():  # off wherever the service runs: the migrations make it
            recorder.create_table()
        return recorder
