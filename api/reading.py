"""The read pool chooser: where a view's query or a read of the past goes — a streaming replica
in rotation (`MILESTONES_READ_URLS`), else the primary — and the failover of a read whose
replica fails under it.

Commands, the admission of a request (who may read the project), the strongly consistent
`GET /v1/projects/{pid}` and everything written stay on the primary. A replica read that fails
for want of its server is read again on the primary, at once: its answer is at least as fresh
(the primary is ahead of every replica), so a `?min_position` the replica met still holds.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

import psycopg
from eventsourcing.persistence import InterfaceError as StoreInterfaceError
from eventsourcing.persistence import OperationalError as StoreOperationalError

from adapters.postgres.database import session_settings, with_role
from api.settings import Settings
from application.access import Admission
from application.ledger import Ledger
from projections.projects.queries import readable_projects
from projections.replicas import (
    Pool,
    Replica,
    Replicas,
    open_replica_pool,
    parse_read_urls,
)
from projections.status import first_occurred_after

log = logging.getLogger(__name__)

T = TypeVar("T")

# What a read raises when its server is away (a replica stopped, restarted, unreachable).
UNAVAILABLE: tuple[type[BaseException], ...] = (
    psycopg.OperationalError,
    psycopg.InterfaceError,
    StoreOperationalError,
    StoreInterfaceError,
)


def _query_refused(error: BaseException, kind: type[BaseException]) -> bool:
    """`error` (or what the event store wrapped in it) is a refusal of the query of `kind`, from
    a server that is up."""
    return isinstance(error, kind) or isinstance(error.__cause__, kind)


@dataclass(frozen=True)
class Target:
    """Where one read goes: a pool for the views' tables and a ledger for the events."""

    name: str
    pool: Pool
    ledger: Ledger
    replica: Replica | None = None


class Reading:
    """The chooser of one process (see the module's docstring)."""

    def __init__(
        self,
        primary: Target,
        replicas: Replicas,
        ledger_on: Callable[[str], Ledger],
    ) -> None:
        """`ledger_on(url)` builds a ledger whose reads go to the database at `url`."""
        self.primary = primary
        self.replicas = replicas
        self._ledger_on = ledger_on
        self._ledgers: dict[str, Ledger] = {}
        self._lock = threading.Lock()

    def choose(self) -> Target:
        """A replica in rotation (round robin), else the primary."""
        replica = self.replicas.choose()
        return self.primary if replica is None else self.on(replica)

    def on(self, replica: Replica) -> Target:
        return Target(replica.name, replica.pool, self._ledger(replica), replica)

    def run(self, target: Target, read: Callable[[Target], T]) -> T:
        """`read(target)`; on the primary when the replica's server fails under it."""
        replica = target.replica
        if replica is None:
            return read(target)
        replica.reads += 1  # a statistic: a lost increment between threads costs nothing
        try:
            return read(target)
        except UNAVAILABLE as error:
            if _query_refused(error, psycopg.errors.QueryCanceled):
                raise  # a statement timeout: the primary would spend as long again
            if not _query_refused(error, psycopg.errors.SerializationFailure):
                # The server is away. A recovery conflict (a standby cancelling a read that
                # holds back its replay) says nothing of its health: read again, keep it.
                self.replicas.failed(replica, error)
            return read(self.primary)

    def scope(
        self, target: Target, principal: str, read_all: bool, scope: frozenset[UUID] | None
    ) -> frozenset[UUID] | None:
        """The projects a member's view read on `target` may show: on a replica, only those
        the primary's membership names (and a scoped token allows). Who may read a project is
        decided on the primary: a member removed a moment ago is not let in by a replica that
        has not replayed the removal. On the primary, and for readers of every project (whose
        reach is their role), the token's scope as it is."""
        if target.replica is None or read_all:
            return scope
        with self.primary.pool.connection() as conn:
            return readable_projects(conn, principal, scope).projects

    def past(self, admitted: Admission, read: Callable[[Ledger], T]) -> T:
        """A read of the project's events (its past) on the chosen ledger, failing over as
        `run`. A replica that has not replayed the version the caller was let in on (its own
        command a moment ago, say) is passed over for the primary: reads of the past show
        the caller's own writes."""
        return self.run(self.with_version(admitted), lambda on: read(on.ledger))

    def with_version(self, admitted: Admission) -> Target:
        """The chosen target, if it holds the project at the admitted version; else the
        primary (one indexed read of the replica's events)."""
        target = self.choose()
        version = admitted.version
        if target.replica is None or not version:
            return target
        try:
            found = target.ledger.store.select_project_events(
                admitted.project_id, after_version=version - 1, limit=1
            )
        except UNAVAILABLE as error:
            self.replicas.failed(target.replica, error)
            return self.primary
        return target if found else self.primary

    def close(self) -> None:
        self.replicas.close()
        with self._lock:
            ledgers, self._ledgers = list(self._ledgers.values()), {}
        for ledger in ledgers:
            ledger.close()

    def _ledger(self, replica: Replica) -> Ledger:
        with self._lock:
            ledger = self._ledgers.get(replica.url)
            if ledger is None:
                # Its event store's pool connects on first use: a replica down now costs nothing.
                ledger = self._ledgers[replica.url] = self._ledger_on(replica.url)
            return ledger


def build_reading(
    settings: Settings,
    primary: Target,
    role: str | None,
    names: Sequence[str],
    primary_positions: Callable[[], dict[str, int]],
    ledger_on: Callable[[str], Ledger],
) -> Reading:
    """The chooser for the replicas of `MILESTONES_READ_URLS`, each acting as `role` as the
    primary's sessions do (none configured: every read is the primary's). The app that serves
    reads starts the probes (`Replicas.start`); a worker process never probes."""
    configure: Callable[[Any], None] = session_settings(settings.idle_in_transaction_timeout)
    replicas = [
        Replica(url, open_replica_pool(url, settings.pool_size, configure), f"replica-{n}")
        for n, url in enumerate(
            (with_role(url, role) for url in parse_read_urls(settings.read_urls)), start=1
        )
    ]
    for replica in replicas:
        log.info("read replica %s is %s", replica.label, replica.name)
    ledger = primary.ledger
    chosen = Replicas(
        replicas,
        primary_positions,
        lambda position: first_occurred_after(ledger, position),
        names,
        settings.read_max_lag,
    )
    return Reading(primary, chosen, ledger_on)
