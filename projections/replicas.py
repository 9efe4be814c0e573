"""Streaming replicas that answer reads (`MILESTONES_READ_URLS`): their pools, their health, their
replay lag, and which one a read goes to.

A replica is in rotation while its last probe succeeded and it lags the primary by at most
`MILESTONES_READ_MAX_LAG_SECONDS`. A thread per replica probes it every `PROBE_EVERY` seconds
(cheap: one short query on each side), so one taken out comes back by itself; a probe that has
not answered for `STALE_AFTER` seconds (a frozen server) counts as a failed one. A read that
fails on a replica takes it out at once (`Replicas.failed`), without waiting for the next probe.

Lag, per replica:
- in positions: how far the views on the replica trail the views on the primary (the tracking
  rows read on both, the primary's first); 0 when the replica has replayed every view's page;
- in seconds: 0 when it trails by no position; otherwise how long the first event it lacks
  (past its least advanced view) has waited, read on the primary, which is how much older the
  replica's answers are than the primary's. `now() - pg_last_xact_replay_timestamp()` alone
  would not do: after an idle hour, a replica a millisecond behind the first new write would
  look an hour late. It is shown too (`replayed_ago`), as PostgreSQL's own figure.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from psycopg import Connection
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from adapters.postgres.factory import RecentCheck
from projections import tracking

log = logging.getLogger(__name__)

# Seconds between two probes of every replica.
PROBE_EVERY = 1.0
# Seconds a probe (or a read's connection) waits to connect to a replica.
CONNECT_TIMEOUT = 2
# A replica whose last probe is older than this is out of rotation: its probe hangs (a frozen
# server, a partition), so what it last said is no longer known to hold.
STALE_AFTER = 5.0
# A query on a replica that stops answering fails after this long (TCP_USER_TIMEOUT), rather
# than waiting for the operating system's TCP timeout, which is minutes.
TCP_USER_TIMEOUT_MS = 10_000

_PROBE = (
    "SELECT pg_is_in_recovery(), "
    "extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8"
)

Pool = ConnectionPool[Connection[TupleRow]]


def parse_read_urls(text: str | None) -> tuple[str, ...]:
    """The libpq URLs of `MILESTONES_READ_URLS`: separated by commas or white space (a URL holds
    neither); a key=value DSN is not accepted here, since it holds spaces."""
    if not text:
        return ()
    return tuple(url for url in text.replace(",", " ").split() if url)


def replica_name(url: str) -> str:
    """The name a replica is shown by (in `/ready`, `/metrics`, logs): host:port, never its
    password."""
    params = conninfo_to_dict(url)
    return f"{params.get('host') or 'localhost'}:{params.get('port') or 5432}"


@dataclass(frozen=True)
class Health:
    """What the last probe (or failed read) found out about one replica."""

    in_rotation: bool
    lag_positions: int | None = None
    lag_seconds: float | None = None
    problem: str | None = None
    # Seconds since the last transaction the replica replayed was committed on the primary.
    replayed_ago: float | None = None
    # When it was found out (time.monotonic()).
    at: float = field(default_factory=time.monotonic)

    def current(self) -> Health:
        """This health, or out of rotation when it is too old to be trusted (a hung probe)."""
        if self.in_rotation and time.monotonic() - self.at > STALE_AFTER:
            return Health(False, self.lag_positions, self.lag_seconds, "its probe does not answer")
        return self


class Replica:
    """One replica: its pool (opened lazily, so a replica down at start stops nothing), its
    health, and the views' positions last read on it."""

    def __init__(self, url: str, pool: Pool, label: str | None = None) -> None:
        self.url = url
        self.name = replica_name(url)
        # What public answers (`/ready`, `/metrics`) call it: its place in MILESTONES_READ_URLS
        # (`replica-1`, ...), not its host, so they do not draw the internal topology for
        # anyone; the log says which host each is (`build_reading`).
        self.label = label or self.name
        self.pool = pool
        self._health = Health(False, problem="not probed yet")
        # Reads this process sent to the replica, and those that failed there and went to the
        # primary instead.
        self.reads = 0
        self.failovers = 0
        self._positions: dict[str, int] = {}
        self._lock = threading.Lock()

    @property
    def health(self) -> Health:
        """What its last probe (or a failed read) found, unless that is stale."""
        return self._health.current()

    @health.setter
    def health(self, health: Health) -> None:
        self._health = health

    def note(self, positions: dict[str, int]) -> None:
        """Positions read on the replica: a view's position there never goes backwards while
        it streams from the same primary."""
        with self._lock:
            for name, position in positions.items():
                if position > self._positions.get(name, -1):
                    self._positions[name] = position

    def reached(self, names: Sequence[str], position: int) -> bool:
        known = self._positions
        return all(known.get(name, -1) >= position for name in names)

    def read_positions(self, names: Sequence[str]) -> dict[str, int]:
        """The views' positions as the replica has replayed them (raises when it is down)."""
        with self.pool.connection(timeout=CONNECT_TIMEOUT) as conn:
            positions = tracking.read_positions(conn, names)
        self.note(positions)
        return positions


class Replicas:
    """The replicas of one process and the choice among them (see the module's docstring)."""

    def __init__(
        self,
        replicas: Sequence[Replica],
        primary_positions: Callable[[], dict[str, int]],
        waiting_since: Callable[[int], datetime | None],
        names: Sequence[str],
        max_lag: float,
    ) -> None:
        """`primary_positions()` reads the views' positions on the primary; `waiting_since(p)`
        when the first event after position `p` occurred (None: none yet)."""
        self._replicas = list(replicas)
        self._primary_positions = primary_positions
        self._waiting_since = waiting_since
        self._names = list(names)
        self._max_lag = max_lag
        self._turn = itertools.count()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def all(self) -> list[Replica]:
        return list(self._replicas)

    def choose(self) -> Replica | None:
        """The next replica in rotation (round robin); None: read from the primary."""
        live = [replica for replica in self._replicas if replica.health.in_rotation]
        if not live:
            return None
        return live[next(self._turn) % len(live)]

    def failed(self, replica: Replica, error: BaseException) -> None:
        """A read on `replica` failed: out of rotation until a probe finds it well again."""
        replica.failovers += 1  # the read goes to the primary instead
        if replica.health.in_rotation:
            log.warning(
                "replica %s taken out of rotation: a read failed (%s)",
                replica.name,
                type(error).__name__,
            )
        replica.health = Health(False, problem=f"a read failed: {type(error).__name__}")

    # --- probing -------------------------------------------------------------------------

    def start(self) -> None:
        """Probe every replica in a thread of its own (one that hangs delays no other), every
        `PROBE_EVERY` seconds, until `stop`. Idempotent."""
        if not self._replicas or any(thread.is_alive() for thread in self._threads):
            return
        self._stop.clear()
        self._threads = [
            threading.Thread(
                target=self._run, args=(replica,), name=f"replica-probe {replica.name}", daemon=True
            )
            for replica in self._replicas
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        threads, self._threads = self._threads, []
        for thread in threads:
            thread.join(CONNECT_TIMEOUT + 1)

    def close(self) -> None:
        self.stop()
        for replica in self._replicas:
            replica.pool.close()

    def _run(self, replica: Replica) -> None:
        while not self._stop.is_set():
            self.probe([replica])
            self._stop.wait(PROBE_EVERY)

    def probe(self, replicas: Sequence[Replica] | None = None) -> None:
        """Probe the replicas (all by default) once and update their health."""
        try:
            primary = self._primary_positions()
        except Exception as error:
            # The primary is away: its views cannot be compared; keep the replicas as they are.
            log.debug("replica probe: the primary's positions are unreadable: %s", error)
            return
        for replica in self._replicas if replicas is None else replicas:
            try:
                health = self._probe(replica, primary)
            except Exception as error:
                # The primary failed to date the lag: what the replica last said goes stale.
                log.debug("replica probe of %s failed: %s", replica.name, error)
                continue
            if health.in_rotation != replica.health.in_rotation:
                log.warning(
                    "replica %s %s",
                    replica.name,
                    "back in rotation" if health.in_rotation else f"out: {health.problem}",
                )
            replica.health = health

    def _probe(self, replica: Replica, primary: dict[str, int]) -> Health:
        try:
            with replica.pool.connection(timeout=CONNECT_TIMEOUT) as conn:
                row = conn.execute(_PROBE).fetchone()
                positions = tracking.read_positions(conn, self._names)
        except Exception as error:
            return Health(False, problem=f"unreachable: {type(error).__name__}")
        replica.note(positions)
        assert row is not None
        behind = {
            name: positions.get(name, 0)
            for name in self._names
            if primary.get(name, 0) > positions.get(name, 0)
        }
        lag_positions = max((primary[name] - at for name, at in behind.items()), default=0)
        lag_seconds = 0.0
        if behind:
            since = self._waiting_since(min(behind.values()))
            if since is not None:
                lag_seconds = max((datetime.now(UTC) - since).total_seconds(), 0.0)
        replayed_ago: float | None = row[1]
        problem = None
        if not row[0]:
            problem = "not a replica (promoted?): reads would not follow the primary"
        elif lag_seconds > self._max_lag:
            problem = f"lags {lag_seconds:.1f} s (bound {self._max_lag:g} s)"
        return Health(problem is None, lag_positions, lag_seconds, problem, replayed_ago)


def open_replica_pool(url: str, size: int, configure: Callable[[Any], None] | None) -> Pool:
    """A pool on a replica that opens without waiting for it (it may be down at start) and
    keeps no connection it does not need."""
    pool: Pool = ConnectionPool(
        conninfo=url,
        min_size=0,
        max_size=size,
        timeout=CONNECT_TIMEOUT,
        kwargs={
            "autocommit": False,
            "connect_timeout": CONNECT_TIMEOUT,
            "tcp_user_timeout": TCP_USER_TIMEOUT_MS,
        },
        configure=configure,
        check=RecentCheck(),
        open=False,
        name="milestones-replica",
    )
    pool.open(wait=False)
    return pool
