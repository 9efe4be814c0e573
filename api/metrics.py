"""Prometheus metrics: requests, commands, events appended, views' position and lag, pools.

Counters and histograms live in this process; with `serve --workers N` they are shared through
prometheus_client's multiprocess files (PROMETHEUS_MULTIPROC_DIR, set by `serve`), so any API
process answers for all of them. The views' position and lag are read from the database at
scrape time, so every process (and every machine) reports the same values. No metric carries
project data: labels are route templates, status classes, view and pool names.
"""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from psycopg_pool import ConnectionPool

from api.collector import Collector as Collector_
from application.ledger import Ledger
from application.ports import ArtifactCatalog, PrincipalDirectory
from projections.replicas import Replicas
from projections.status import view_statuses

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Latency buckets (seconds) around what a command and a view read take.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

StatusesReader = Callable[[], list[Any]]


class Metrics:
    """The metrics of one API process, and what `/metrics` answers."""

    def __init__(self) -> None:
        self.multiprocess = bool(os.environ.get(MULTIPROC_ENV))
        # In multiprocess mode values go to files, and a fresh registry reads them at scrape.
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "milestones_http_requests",
            "HTTP requests answered, by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "milestones_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template",
            ["method", "route"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.commands = Counter(
            "milestones_commands",
            "Commands (POST, PUT, PATCH, DELETE under /v1) by route and outcome (status class)",
            ["method", "route", "outcome"],
            registry=self.registry,
        )
        self.events = Counter(
            "milestones_events_appended",
            "Events this service appended to the log",
            registry=self.registry,
        )
        self._collectors: list[Collector] = []

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)
        if method in ("POST", "PUT", "PATCH", "DELETE") and route.startswith("/v1/"):
            self.commands.labels(method, route, f"{status // 100}xx").inc()

    def events_appended(self, count: int) -> None:
        self.events.inc(count)

    def watch(self, ledger: Ledger, pool: ConnectionPool[Any], views: list[str]) -> None:
        """Report the views' position and lag and the pools' usage at each scrape."""
        self._collectors = [
            ViewsCollector(ledger, pool, views),
            PoolsCollector(ledger, pool),
            CacheCollector(ledger),
        ]
        if not self.multiprocess:
            for collector in self._collectors:
                self.registry.register(collector)

    def watch_replicas(self, replicas: Replicas) -> None:
        """Report each read replica's rotation and replay lag (as its last probe found them)."""
        if not replicas.all:
            return
        collector = ReplicasCollector(replicas)
        self._collectors.append(collector)
        if not self.multiprocess:
            self.registry.register(collector)

    def watch_collector(self, collector: Collector_) -> None:
        """Report the garbage collector's generations and the timed full passes."""
        watched = GcCollector(collector)
        self._collectors.append(watched)
        if not self.multiprocess:
            self.registry.register(watched)

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        if self.multiprocess:
            registry = CollectorRegistry()
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # untyped upstream
            for collector in self._collectors:
                registry.register(collector)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class ObservedLedger(Ledger):
    """The ledger, reporting how many events each save appended (for /metrics)."""

    name = Ledger.name  # the library names tables after the class otherwise

    def __init__(
        self,
        *,
        env: dict[str, str],
        on_saved: Callable[[int], None],
        principals: PrincipalDirectory | None = None,
        artifacts: ArtifactCatalog | None = None,
    ) -> None:
        super().__init__(env=env, principals=principals, artifacts=artifacts)
        self._on_saved = on_saved

    def _notify(self, recordings: list[Any]) -> None:
        super()._notify(recordings)
        self._on_saved(len(recordings))


class ViewsCollector(Collector):
    """Each view's position, lag and whether a worker holds it, read from the database."""

    def __init__(self, ledger: Ledger, pool: ConnectionPool[Any], views: list[str]) -> None:
        self._ledger = ledger
        self._pool = pool
        self._views = views

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("milestones_database_up", "1 when the database answered the scrape")
        try:
            with self._pool.connection() as conn:
                statuses = view_statuses(self._ledger, conn, self._views)
        except Exception as error:  # a scrape must answer even when the database does not
            log.warning("metrics: database unavailable: %s", type(error).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        head = GaugeMetricFamily("milestones_log_head_position", "Position of the last event")
        head.add_metric([], statuses[0].head if statuses else 0)
        yield head
        families = {
            "position": GaugeMetricFamily(
                "milestones_view_position", "Last position the view applied", labels=["view"]
            ),
            "lag_events": GaugeMetricFamily(
                "milestones_view_lag_events", "Events the view has not applied", labels=["view"]
            ),
            "lag_seconds": GaugeMetricFamily(
                "milestones_view_lag_seconds",
                "How long the oldest event the view has not applied has waited",
                labels=["view"],
            ),
            "held": GaugeMetricFamily(
                "milestones_view_held", "1 when a worker is processing the view", labels=["view"]
            ),
        }
        for status in statuses:
            families["position"].add_metric([status.name], status.position)
            families["lag_events"].add_metric([status.name], status.lag_events)
            families["lag_seconds"].add_metric([status.name], status.lag_seconds)
            families["held"].add_metric([status.name], 1 if status.holder else 0)
        yield from families.values()


class PoolsCollector(Collector):
    """Connections of this process's two pools: the views' and principals', and the events'."""

    def __init__(self, ledger: Ledger, pool: ConnectionPool[Any]) -> None:
        self._pools: dict[str, Any] = {"views": pool}
        datastore = getattr(ledger.recorder, "datastore", None)
        if datastore is not None:
            self._pools["events"] = datastore.pool

    def collect(self) -> Iterator[Metric]:
        labels = ["pool", "pid"]
        pid = str(os.getpid())
        size = GaugeMetricFamily(
            "milestones_db_pool_connections", "Connections the pool holds open", labels=labels
        )
        idle = GaugeMetricFamily(
            "milestones_db_pool_idle", "Open connections not lent out", labels=labels
        )
        limit = GaugeMetricFamily(
            "milestones_db_pool_max", "Most connections the pool may open", labels=labels
        )
        waiting = GaugeMetricFamily(
            "milestones_db_pool_waiting", "Requests waiting for a connection", labels=labels
        )
        for name, pool in self._pools.items():
            stats = pool.get_stats()
            size.add_metric([name, pid], stats.get("pool_size", 0))
            idle.add_metric([name, pid], stats.get("pool_available", 0))
            limit.add_metric([name, pid], stats.get("pool_max", 0))
            waiting.add_metric([name, pid], stats.get("requests_waiting", 0))
        yield from (size, idle, limit, waiting)


class ReplicasCollector(Collector):
    """Each read replica (`MILESTONES_READ_URLS`): in rotation or not, and how far its replay
    lags the primary, in views' positions and in seconds, as this process last probed it."""

    def __init__(self, replicas: Replicas) -> None:
        self._replicas = replicas

    def collect(self) -> Iterator[Metric]:
        labels = ["replica"]
        rotation = GaugeMetricFamily(
            "milestones_replica_in_rotation", "1 when reads go to the replica", labels=labels
        )
        positions = GaugeMetricFamily(
            "milestones_replica_lag_positions",
            "Positions the views on the replica trail those on the primary",
            labels=labels,
        )
        seconds = GaugeMetricFamily(
            "milestones_replica_lag_seconds",
            "Age of the replica's answers: 0 when caught up, else since its last replayed commit",
            labels=labels,
        )
        reads = CounterMetricFamily(
            "milestones_replica_reads",
            "Reads this process sent to the replica",
            labels=[*labels, "pid"],
        )
        failovers = CounterMetricFamily(
            "milestones_replica_failovers",
            "Reads on the replica that failed and were read again on the primary",
            labels=[*labels, "pid"],
        )
        pid = str(os.getpid())
        for replica in self._replicas.all:
            reads.add_metric([replica.label, pid], replica.reads)
            failovers.add_metric([replica.label, pid], replica.failovers)
            health = replica.health
            rotation.add_metric([replica.label], 1 if health.in_rotation else 0)
            if health.lag_positions is not None:
                positions.add_metric([replica.label], health.lag_positions)
            if health.lag_seconds is not None:
                seconds.add_metric([replica.label], health.lag_seconds)
        yield from (rotation, positions, seconds, reads, failovers)


class CacheCollector(Collector):
    """This process's project cache (`application.cache`): its bytes against its bound, its
    entries, hits, misses and evictions (by pid: each API process has its own cache)."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    def collect(self) -> Iterator[Metric]:
        cache = self._ledger.project_cache
        if cache is None:
            return
        stats = cache.stats()
        gauges = (
            (
                "bytes",
                "Bytes the cached projects hold (estimated; see docs/operations.md)",
                stats.bytes,
            ),
            ("max_bytes", "The cache's bound (MILESTONES_PROJECT_CACHE_BYTES)", stats.max_bytes),
            ("entries", "Projects in the cache", stats.entries),
        )
        yield from _per_pid(GaugeMetricFamily, "milestones_project_cache_", gauges)
        counters = (
            ("hits", "Loads answered from the cache (then fast-forwarded)", stats.hits),
            ("misses", "Loads that rebuilt a project from the store", stats.misses),
            ("evictions", "Projects evicted to stay within the bound", stats.evictions),
        )
        yield from _per_pid(CounterMetricFamily, "milestones_project_cache_", counters)


class GcCollector(Collector):
    """This process's garbage collections: each generation's (Python's own counts) and the full
    passes `api.collector` times (by pid)."""

    def __init__(self, collector: Collector_) -> None:
        self._collector = collector

    def collect(self) -> Iterator[Metric]:
        pid = str(os.getpid())
        generations = CounterMetricFamily(
            "milestones_gc_collections",
            "Collections of each generation (generation 2: full passes)",
            labels=["pid", "generation"],
        )
        for generation, stats in enumerate(gc.get_stats()):
            generations.add_metric([pid, str(generation)], stats["collections"])
        yield generations
        passes = self._collector.stats()
        counters = (
            (
                "full_passes",
                "Full collections run by the timer (MILESTONES_GC_FULL_SECONDS)",
                passes.passes,
            ),
            (
                "full_pass_seconds",
                "Seconds the timer's full collections took in all",
                passes.seconds_total,
            ),
            ("full_pass_collected", "Objects the timer's full collections freed", passes.collected),
        )
        yield from _per_pid(CounterMetricFamily, "milestones_gc_", counters)
        gauges = (
            (
                "full_pass_max_seconds",
                "The longest of the timer's full collections",
                passes.seconds_max,
            ),
            (
                "full_pass_last_seconds",
                "The last of the timer's full collections",
                passes.seconds_last,
            ),
        )
        yield from _per_pid(GaugeMetricFamily, "milestones_gc_", gauges)


def _per_pid(
    family: type[CounterMetricFamily] | type[GaugeMetricFamily],
    prefix: str,
    entries: Iterable[tuple[str, str, float]],
) -> Iterator[Metric]:
    """One family per (name, help, value), its one sample labelled with this process's id."""
    pid = [str(os.getpid())]
    for name, what, value in entries:
        metric = family(prefix + name, what, labels=["pid"])
        metric.add_metric(pid, value)
        yield metric
