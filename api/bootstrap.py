"""The composition root: builds the ledger, the views, the runner and the pools from settings.

Tests pass overrides (a clock, an already-resolved database) instead of monkeypatching.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING

from psycopg import Connection
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from adapters.postgres.artifacts import Artifacts
from adapters.postgres.database import eventsourcing_env, open_pool, pool_conninfo, with_role
from adapters.postgres.embedded import EmbeddedPostgres
from adapters.postgres.principals import Principals
from adapters.postgres.signatures import Signatures
from adapters.postgres.webhooks import PostgresWebhooks
from api.collector import Collector
from api.metrics import Metrics, ObservedLedger
from api.preflight import preflight
from api.pruning import DeliveryLogPruner
from api.reading import Reading, Target, build_reading
from api.settings import Settings
from api.webhooks import signing, targets
from api.webhooks.deliverer import Deliverer, policy_of
from api.webhooks.noticer import Noticer
from application.ledger import Ledger
from application.ports import ArtifactCatalog, PrincipalDirectory
from application.webhooks import Webhooks
from domain.errors import InvalidValueError
from projections import all_views
from projections.base import View
from projections.runner import ProjectionRunner

if TYPE_CHECKING:
    from adapters.postgres.migrate import Upgrade

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Container:
    """Everything a process of the service holds; closed as a whole on shutdown."""

    settings: Settings
    database_url: str
    ledger: Ledger
    pool: ConnectionPool[Connection[TupleRow]]
    principals: Principals
    signatures: Signatures
    runner: ProjectionRunner
    webhook_store: PostgresWebhooks
    webhooks: Webhooks
    deliverer: Deliverer
    artifacts: Artifacts
    reading: Reading
    clock: Clock = utc_now
    embedded: EmbeddedPostgres | None = None
    metrics: Metrics = field(default_factory=Metrics)
    # Full garbage collections on a timer while the API runs (`api.collector`).
    collector: Collector = field(default_factory=lambda: Collector(0))
    closed: bool = field(default=False, init=False)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.deliverer.stop()
        self.runner.stop()
        self.reading.close()
        self.ledger.close()
        self.pool.close()
        if self.embedded is not None:
            self.embedded.stop()


def build_ledger(
    database_url: str,
    settings: Settings,
    *,
    on_saved: Callable[[int], None] | None = None,
    principals: PrincipalDirectory | None = None,
    artifacts: ArtifactCatalog | None = None,
) -> Ledger:
    """The ledger on the configured store; `on_saved(n)` hears of every save (for metrics);
    `principals` are the names a command may give a new member."""
    env = eventsourcing_env(database_url, settings)
    env["CREATE_TABLE"] = "n"  # the migrations make every table (`milestones db upgrade`)
    env["PROJECT_CACHE_BYTES"] = str(settings.project_cache_bytes)
    env["PAST_STATES_BYTES"] = str(settings.past_states_bytes)
    if on_saved is not None:
        return ObservedLedger(
            env=env, on_saved=on_saved, principals=principals, artifacts=artifacts
        )
    return Ledger(env=env, principals=principals, artifacts=artifacts)


def bootstrap(
    settings: Settings,
    database_url: str,
    *,
    clock: Clock = utc_now,
    embedded: EmbeddedPostgres | None = None,
    views: Sequence[View] | None = None,
) -> Container:
    """Wires one process of the service; the caller starts the runner when it wants views.

    Refuses to start on a database that is not durable (unless allowed); every connection it
    opens acts as the application role (see `adapters.postgres.dbroles`). A test may pass its
    own clock or views instead of monkeypatching them.
    """
    helper_url = database_url  # a rebuild's helper process checks and wires it again
    role = preflight(database_url, settings)
    database_url = with_role(database_url, role)
    pool = open_pool(database_url, settings)
    metrics = Metrics()
    principals = Principals(pool)
    artifacts = Artifacts(pool)
    ledger = build_ledger(
        database_url,
        settings,
        on_saved=metrics.events_appended,
        principals=principals,
        artifacts=artifacts,
    )
    default_views = views is None
    views = list(all_views() if views is None else views)
    metrics.watch(ledger, pool, [view.name for view in views])
    webhook_store = PostgresWebhooks(pool)
    # A rebuild's helper processes wire themselves as this one (the default views only: a
    # test's own views cannot be rebuilt in a process that does not have them).
    helpers = partial(rebuild_helper, settings, helper_url) if default_views else None
    runner = ProjectionRunner(
        ledger, pool, views, poll_interval=settings.poll_interval, open_filler=helpers
    )
    # The views' queries and the reads of the past go to replicas when there are some.
    reading = build_reading(
        settings,
        Target("primary", pool, ledger),
        role,
        runner.names,
        runner.positions,
        lambda url: build_ledger(url, settings),
    )
    metrics.watch_replicas(reading.replicas)
    collector = Collector(settings.gc_full_seconds)
    metrics.watch_collector(collector)
    return Container(
        settings=settings,
        database_url=database_url,
        ledger=ledger,
        pool=pool,
        principals=principals,
        signatures=Signatures(pool, principals, settings.signing_lock_seconds),
        runner=runner,
        webhook_store=webhook_store,
        webhooks=webhook_service(ledger, webhook_store, settings),
        deliverer=Deliverer(
            ledger,
            webhook_store,
            _conninfo(pool),
            policy_of(settings),
            noticer=Noticer(ledger, pool, webhook_store, clock, settings.notice_interval),
            jobs=[DeliveryLogPruner(webhook_store.prune_deliveries, settings.webhook_log_days)],
        ),
        artifacts=artifacts,
        reading=reading,
        clock=clock,
        embedded=embedded,
        metrics=metrics,
        collector=collector,
    )


@contextmanager
def rebuild_helper(settings: Settings, database_url: str) -> Iterator[ProjectionRunner]:
    """A process helping a rebuild (`projections.shares`): wired as the one that started it."""
    container = bootstrap(settings, database_url)
    try:
        yield container.runner
    finally:
        container.close()


def _conninfo(pool: ConnectionPool[Connection[TupleRow]]) -> Callable[[], str]:
    return partial(pool_conninfo, pool)


def webhook_service(ledger: Ledger, store: PostgresWebhooks, settings: Settings) -> Webhooks:
    """The subscriptions, their targets checked as the settings say (api.webhooks.targets)."""

    def check_target(url: str) -> None:
        try:
            targets.check(url, settings.webhook_allow_private)
        except targets.TargetRefusedError as error:
            raise InvalidValueError("url", str(error)) from None

    return Webhooks(ledger, store, check_target, signing.new_secret)


def upgrade(database_url: str, settings: Settings) -> Upgrade:
    """Applies the pending migrations: every table, role, trigger and grant (`db upgrade`);
    idempotent. `settings` is kept for callers; the migrations need only the login."""
    # Imported here: only `db upgrade` needs yoyo, and no other command pays for importing it.
    from adapters.postgres.migrate import migrate

    return migrate(database_url)
