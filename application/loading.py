"""How the ledger gets a project: this process's cached copy, or the store (snapshot + tail).

Projects are small and hot, so the event store's cache keeps them in memory and fast-forwards a
cached project from the store when it is read, which keeps it correct when other processes write
to it. A command first acts on a private copy of the cached project without reading the store
(the save's version check proves it current); after a clash with another process, commands on
that project read it fresh for a while.
"""

from __future__ import annotations

import threading
import time
from copy import deepcopy
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, Repository

from application.cache import ProjectCache
from domain.errors import ProjectNotFoundError
from domain.project import Project

# After a command on a cached copy clashes with another process's write, commands on that
# project read it fresh for this long; at most this many projects are remembered.
CONTENDED_SECONDS = 10.0
CLASHES_KEPT = 10_000
# Locks that serialize cached loads of one project (see `load`); striped, so memory is bounded.
LOAD_LOCK_STRIPES = 64
# The bytes of projects this process keeps (`application.cache`); "" or 0: none, as does the
# library's AGGREGATE_CACHE_MAXSIZE="", which otherwise only caps how many (see `Ledger.env`).
CACHE_BYTES = "PROJECT_CACHE_BYTES"


class ProjectLoading(Application[UUID]):
    """The project loads of the `Ledger` (see the module's docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._load_locks = [threading.Lock() for _ in range(LOAD_LOCK_STRIPES)]
        # Projects another process wrote to lately (see `clashed`).
        self._recent_clashes: dict[UUID, float] = {}
        self._contention_lock = threading.Lock()

    def construct_repository(self) -> Repository[UUID]:
        """The library's repository with this process's cache bounded by bytes."""
        repository = super().construct_repository()
        max_bytes = int(self.env.get(CACHE_BYTES) or 0)
        if repository.cache is not None and max_bytes > 0:
            max_entries = int(self.env.get(self.AGGREGATE_CACHE_MAXSIZE) or 0)
            repository.cache = ProjectCache(max_bytes, max_entries)
        else:
            repository.cache = None
        return repository

    @property
    def project_cache(self) -> ProjectCache | None:
        cache = self.repository.cache
        return cache if isinstance(cache, ProjectCache) else None

    def _settle(self, project_id: UUID) -> None:
        """Count the growth of a cached project the library just fast-forwarded in place."""
        cache = self.project_cache
        if cache is not None:
            cache.settle(project_id)

    def _load_lock(self, project_id: UUID) -> threading.Lock:
        return self._load_locks[hash(project_id) % LOAD_LOCK_STRIPES]

    def load(self, project_id: UUID, version: int | None = None) -> Project:
        """A private copy of the project, read from the store (the current state, or the state
        at `version`); not found: `ProjectNotFoundError`."""
        try:
            if version is None:
                # The library fast-forwards the cached project under its own lock but copies it
                # after releasing that lock, so one thread's copy could race another's
                # fast-forward of the same object ("dictionary changed size during iteration",
                # a 500): loads of one project from the cache take turns in this process.
                with self._load_lock(project_id):
                    project: Project = self.repository.get(project_id)
                    self._settle(project_id)
            else:
                project = self.repository.get(project_id, version=version)
        except AggregateNotFoundError:
            raise ProjectNotFoundError(f"project {project_id} not found") from None
        return project

    def peek(self, project_id: UUID) -> Project | None:
        """This process's cached copy, if any: not read from the store, so possibly behind it,
        and shared (read it, never change it)."""
        cache = self.project_cache
        project = None if cache is None else cache.peek(project_id)
        return project if isinstance(project, Project) else None

    def load_cached(self, project_id: UUID) -> Project:
        """A private copy of the project as this process last saw it, without reading the store
        when it has one (it may be behind another process's writes: only a save proves it
        current)."""
        with self._load_lock(project_id):
            cached = self.peek(project_id)
            if cached is not None:
                copy: Project = deepcopy(cached)
                return copy
        return self.load(project_id)

    def look_at(self, project_id: UUID) -> Project:
        """The current project itself, fast-forwarded but not copied: only for a quick look
        under `_load_lock` (see `ProjectReads`)."""
        try:
            project: Project = self.repository.get(project_id, deepcopy_from_cache=False)
            self._settle(project_id)
        except AggregateNotFoundError:
            raise ProjectNotFoundError(f"project {project_id} not found") from None
        return project

    def clashed(self, project_id: UUID) -> None:
        """Another process wrote the project since this one cached it: for a while, read it
        fresh (a fast-forward read) rather than fail a save (a whole group commit) again."""
        with self._contention_lock:
            if len(self._recent_clashes) >= CLASHES_KEPT:
                self._recent_clashes.clear()
            self._recent_clashes[project_id] = time.monotonic()

    def contended(self, project_id: UUID) -> bool:
        clashed = self._recent_clashes.get(project_id)
        return clashed is not None and time.monotonic() - clashed < CONTENDED_SECONDS

    def remember(self, project: Project) -> None:
        """Keep a just-saved project as the cached copy (the library only fast-forwards)."""
        cache = self.repository.cache
        if cache is not None and not project.pending_events:
            with self._load_lock(project.id):
                current = self.peek(project.id)
                if current is None or current.version <= project.version:
                    cache.put(project.id, project)
