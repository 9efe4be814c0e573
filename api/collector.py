"""The cyclic garbage collector of an API process: full passes on a timer, not on allocations.

CPython's collector (3.11) makes a full pass over every tracked object of its oldest generation
whenever enough young survivors have piled up, with the GIL held: every request of the process
waits for it. An API process keeps up to `MILESTONES_PROJECT_CACHE_BYTES` of projects (and the
past states of `application.past`), hundreds of thousands of long-lived objects that such a pass
walks and never frees: a project holds no reference cycle, and the cache drops it by reference
count. Measured at 10,000,000 events (10,000 projects, reads spread over them so nearly each one
loads a project, docs/performance.md "the tail of a cold read"): a full pass every few dozen cold
loads, growing with the cache from 35 to 450 ms, each one a request's latency, while collecting
0 to 20 objects.

So while the API runs, the automatic full passes are off (the oldest generation's threshold is
out of reach); the young generations are collected as before, and a full pass runs every
`MILESTONES_GC_FULL_SECONDS` (600, ±15 % per process; 0 leaves Python's own policy) from a
daemon thread, timed, so what cycles do reach the oldest generation are still freed within
that time. The objects alive once the app is built (modules, the container) are frozen out of
every pass. `/metrics` shows the passes, their longest and last pause, and each generation's
collections.
"""

from __future__ import annotations

import gc
import logging
import random
import threading
import time
from dataclasses import dataclass

from api.periodic import Periodic

log = logging.getLogger(__name__)

# The oldest generation's threshold while the timer decides: never reached (it counts the
# middle generation's collections, a few per second under load).
OUT_OF_REACH = 2**30
# How far one process's period strays from the setting, either way.
SPREAD = 0.15


@dataclass(frozen=True)
class PassStats:
    """What `/metrics` shows of the timed full passes."""

    passes: int
    seconds_total: float
    seconds_max: float
    seconds_last: float
    collected: int


class _Policy:
    """The process's collector settings, shared by the collectors started in it (a test process
    may run two apps at once): the first to start changes them, the last to stop restores them.
    Freezing costs nothing (a list is moved); what it freezes that later turns into a cycle is
    not freed before the last stop, a bounded cost paid once at start."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._previous = gc.get_threshold()

    def enter(self) -> None:
        with self._lock:
            self._users += 1
            if self._users == 1:
                gc.freeze()
                self._previous = gc.get_threshold()
                gc.set_threshold(self._previous[0], self._previous[1], OUT_OF_REACH)

    def leave(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0:
                gc.set_threshold(*self._previous)
                gc.unfreeze()


_policy = _Policy()


class Collector:
    """Full collections every `interval` seconds while started (0 or less: Python's policy)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        # Each process its own period, within ±15 % of the setting: the API processes of
        # `serve --workers N` start together, and must not all pause at the same moment.
        period = interval * random.uniform(1 - SPREAD, 1 + SPREAD)
        self._periodic = Periodic("full-collection", period, self.full_pass)
        self._started = False
        self._lock = threading.Lock()
        self._passes = self._collected = 0
        self._total = self._max = self._last = 0.0

    def start(self) -> None:
        """Freeze what exists now out of every pass, and take the full passes off allocations."""
        if self.interval <= 0 or self._started:
            return
        self._started = True
        _policy.enter()
        self._periodic.start()

    def stop(self) -> None:
        """Python's own policy again once no collector runs (a test builds and stops many apps)."""
        if not self._started:
            return
        self._started = False
        self._periodic.stop()
        _policy.leave()

    def full_pass(self) -> int:
        """One full collection, timed; the number of objects it freed."""
        started = time.perf_counter()
        collected = gc.collect()
        seconds = time.perf_counter() - started
        with self._lock:
            self._passes += 1
            self._collected += collected
            self._total += seconds
            self._max = max(self._max, seconds)
            self._last = seconds
        log.debug("full collection: %d objects freed in %.3f s", collected, seconds)
        return collected

    def stats(self) -> PassStats:
        with self._lock:
            return PassStats(self._passes, self._total, self._max, self._last, self._collected)
