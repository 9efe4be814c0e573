"""Past states of projects kept in memory, so a read of the past costs what a read of the present
costs (issue 18): `GET /v1/projects/{pid}?as_of=` and a diff's starting point.

A project's state at a version never changes: its events are immutable and the version names
them all. So a state rebuilt once (a snapshot decoded, its tail replayed) can answer every later
read of that version, and be the start of a read of a later version of the same snapshot
interval (at most `REPLAY_LIMIT` events replayed from it). What is kept is shared and never
changed: each read gets a copy (`Project.__deepcopy__`, which copies on write, so a copy costs
two dicts of references, not the entities).

The cache is bounded by the states' bytes (`MILESTONES_PAST_STATES_BYTES`), each measured by a
walk of what it holds (`application.cache.footprint`, once, when it is kept: a fraction of the
rebuild that made it), least recently used first out. States of one project at nearby versions
share most of their entities and are each counted whole, so the real footprint is at most the
bound.
"""

from __future__ import annotations

import bisect
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from copy import deepcopy
from uuid import UUID

from application.cache import footprint
from domain.events import ProjectEvent
from domain.project import Project

# What the cache may hold, in bytes of decoded state (MILESTONES_PAST_STATES_BYTES).
DEFAULT_BUDGET = 64 * 2**20
PAST_STATES_BYTES = "PAST_STATES_BYTES"  # the ledger's env key for it
# A later version is replayed from a kept state only this far (the snapshot interval): further
# on, the next snapshot is as close.
REPLAY_LIMIT = 99


class PastStates:
    """Rebuilt states of projects by (project id, version); see the module's docstring."""

    def __init__(self, budget: int = DEFAULT_BUDGET) -> None:
        self.budget = budget
        self._states: OrderedDict[tuple[UUID, int], tuple[Project, int]] = OrderedDict()
        # Per project, its kept versions in order (to find the nearest one below a version).
        self._versions: dict[UUID, list[int]] = {}
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.replays = self.misses = 0

    def state_at(
        self,
        project_id: UUID,
        version: int,
        load: Callable[[int], Project],
        events_after: Callable[[int, int], Iterable[ProjectEvent]],
    ) -> Project:
        """A private copy of the project at `version`: a kept state, or one replayed from a
        kept state at most `REPLAY_LIMIT` events before it (`events_after(version, limit)`),
        or `load(version)` (from the store); what is rebuilt is kept."""
        exact, nearest = self._find(project_id, version)
        if exact is not None:
            self.hits += 1
            return _copy(exact)
        if nearest is not None:
            self.replays += 1
            state = _copy(nearest)
            for event in events_after(state.version, version - state.version):
                event.mutate(state)
            state.collect_events()
        else:
            self.misses += 1
            state = load(version)
        if state.version == version:
            self.keep(state)
            return _copy(state)
        return state

    def keep(self, state: Project) -> None:
        """Keep `state` (no longer to be changed by anyone) as the project at its version."""
        if state.pending_events:
            raise ValueError("only a saved state can be kept")
        size = footprint(state)
        if size > self.budget:
            return
        key = (state.id, state.version)
        with self._lock:
            if key in self._states:
                self._states.move_to_end(key)
                return
            self._states[key] = (state, size)
            bisect.insort(self._versions.setdefault(state.id, []), state.version)
            self._bytes += size
            while self._bytes > self.budget:
                (pid, old_version), (_, old_size) = self._states.popitem(last=False)
                self._bytes -= old_size
                versions = self._versions[pid]
                versions.remove(old_version)
                if not versions:
                    del self._versions[pid]

    def _find(self, project_id: UUID, version: int) -> tuple[Project | None, Project | None]:
        """The kept state at `version`, else the nearest kept one below it within reach."""
        with self._lock:
            exact = self._states.get((project_id, version))
            if exact is not None:
                self._states.move_to_end((project_id, version))
                return exact[0], None
            versions = self._versions.get(project_id, [])
            below = bisect.bisect_left(versions, version) - 1
            if below < 0 or version - versions[below] > REPLAY_LIMIT:
                return None, None
            key = (project_id, versions[below])
            self._states.move_to_end(key)
            return None, self._states[key][0]

    @property
    def bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._states)


def _copy(state: Project) -> Project:
    copy: Project = deepcopy(state)
    return copy
