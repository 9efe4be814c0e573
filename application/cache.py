"""This process's cache of projects, bounded by the bytes they hold, least recently used out first.

A count bound says nothing of memory: one project of 0.9 MB of text weighs as much as a thousand
small ones. Each project is measured when it enters (`footprint`: a walk of its objects, what
`sys.getsizeof` says of each, within 10 % of what tracemalloc traces for projects of 1,000
events and more; docs/operations.md); a cached project grows as the store fast-forwards it, so its
size follows its version: between two walks it grows by its own average bytes per event, and it
is walked again once it has grown by a quarter of its events (at least 32), which keeps the
walks' cost at a few microseconds per event applied. The library's `Repository` calls `get` and
`put`; the ledger calls `settle` after a fast-forward (`application.loading`).
"""

from __future__ import annotations

import gc
import threading
from collections import OrderedDict
from dataclasses import dataclass
from enum import Enum
from sys import getsizeof
from types import FunctionType, ModuleType
from typing import Any
from uuid import UUID

from eventsourcing.application import Cache

# A cached project is walked again once its version grew by this share of it, or this many.
REWALK_SHARE = 4
REWALK_AT_LEAST = 32
# ... and at most this many events on (a walk of a 40,000-event project costs ~0.3 s: once per
# 2,000 events it is ~0.15 ms an event).
REWALK_AT_MOST = 2_000
# Between walks each new event counts at least this many bytes: an average taken over events
# that added little (reschedules) must not let a burst of big ones (criteria, long evidence,
# which a contributor can send) grow a project unseen. Errs high, and the next walk corrects.
EVENT_BYTES_FLOOR = 4_096
# Shared by every project, so never counted as one project's.
_SHARED = (type, ModuleType, FunctionType, Enum)


def footprint(obj: object) -> int:
    """Bytes `obj` holds: every object it reaches, once, as `sys.getsizeof` counts it (classes,
    functions and enum members are shared by every project, so not counted). Breadth first, the
    references found by the collector's own C walk (`gc.get_referents`)."""
    seen: set[int] = set()
    total = 0
    level: list[Any] = [obj]
    while level:
        reached = []
        for item in level:
            if id(item) not in seen and not isinstance(item, _SHARED):
                seen.add(id(item))
                total += getsizeof(item)
                reached.append(item)
        level = gc.get_referents(*reached)
    return total


@dataclass
class _Entry:
    value: Any
    bytes: int  # the estimate counted against the bound, for the value at `version`
    version: int
    walked_bytes: int  # what the last walk found, at `walked_version`
    walked_version: int


@dataclass(frozen=True)
class CacheStats:
    """What `/metrics` shows of the cache."""

    bytes: int
    max_bytes: int
    entries: int
    hits: int
    misses: int
    evictions: int


class ProjectCache(Cache[UUID, Any]):
    """At most `max_bytes` of projects (and at most `max_entries` of them), least recently used
    evicted first. A project larger than the whole bound is not kept at all."""

    def __init__(self, max_bytes: int, max_entries: int) -> None:
        super().__init__()
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self._entries: OrderedDict[UUID, _Entry] = OrderedDict()
        self._bytes = 0
        self._hits = self._misses = self._evictions = 0
        self._lock = threading.Lock()

    # The library tests the repository's cache for truth before using it: never let an empty
    # cache read as "no cache" (a `__len__` would).
    def __bool__(self) -> bool:
        return True

    def get(self, key: UUID, *, evict: bool = False) -> Any:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self._misses += 1
                raise KeyError(key)
            if evict:
                self._drop(key)
            else:
                self._hits += 1
                self._entries.move_to_end(key)
            return entry.value

    def peek(self, key: UUID) -> Any | None:
        """The cached value, if any, made the most recently used; not counted as a hit or a
        miss (the ledger peeks before it loads, which counts)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            return entry.value

    def put(self, key: UUID, value: Any | None) -> None:
        if value is None:
            return
        with self._lock:
            previous = self._entries.get(key)
        entry = self._measured(value, previous)
        with self._lock:
            if key in self._entries:
                self._drop(key)
            if entry.bytes > self.max_bytes:
                return
            self._entries[key] = entry
            self._bytes += entry.bytes
            self._shrink()

    def settle(self, key: UUID) -> None:
        """Count a cached project's growth since it was measured (after a fast-forward)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or _version(entry.value) == entry.version:
                return
        self.put(key, entry.value)

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(
                self._bytes,
                self.max_bytes,
                len(self._entries),
                self._hits,
                self._misses,
                self._evictions,
            )

    def _measured(self, value: Any, previous: _Entry | None) -> _Entry:
        """`value`'s entry: grown from `previous` by its average per event (at least
        `EVENT_BYTES_FLOOR`) while the growth is small, walked otherwise."""
        version = _version(value)
        if previous is not None and previous.walked_version > 0:
            grown = version - previous.walked_version
            every = max(REWALK_AT_LEAST, previous.walked_version // REWALK_SHARE)
            if 0 <= grown < min(every, REWALK_AT_MOST):
                average = previous.walked_bytes // previous.walked_version
                per_event = max(average, EVENT_BYTES_FLOOR)
                estimate = previous.walked_bytes + grown * per_event
                return _Entry(
                    value, estimate, version, previous.walked_bytes, previous.walked_version
                )
        walked = footprint(value)
        return _Entry(value, walked, version, walked, version)

    def _drop(self, key: UUID) -> None:
        entry = self._entries.pop(key)
        self._bytes -= entry.bytes

    def _shrink(self) -> None:
        while self._entries and (
            self._bytes > self.max_bytes or len(self._entries) > self.max_entries
        ):
            key = next(iter(self._entries))
            self._drop(key)
            self._evictions += 1


def _version(value: Any) -> int:
    return int(getattr(value, "version", 0))
