"""The application service: each command is get → check role → act → save, retried on a clash.

It is the only way into the domain for the API and the command line. Decisions come only from
the event-sourced Project, never from a read model.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from copy import deepcopy
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.persistence import (
    IntegrityError,
    JSONTranscoder,
    Recording,
    StoredEvent,
    Transcoder,
)

from adapters.postgres.recorder import LedgerRecorder
from application.groupcommit import GroupCommit, Pending
from domain.errors import (
    DomainError,
    PermissionDeniedError,
    ProjectNotFoundError,
    VersionMismatchError,
)
from domain.events import ProjectEvent
from domain.project import Project
from domain.retrospective import Retrospective, retrospective
from domain.roles import ProjectRole
from domain.transcodings import register_domain_transcodings

T = TypeVar("T")

# How often a command without If-Match is retried on fresh state after a version clash.
MAX_ATTEMPTS = 10
# Locks that make one process's commands on a project take turns (by the project id's hash).
TURNS = 256
# How many events a read of a project's history fetches at a time.
HISTORY_PAGE = 1000
# After a command on a cached copy clashes with another process's write, commands on that
# project read it fresh for this long; at most this many projects are remembered.
CONTENDED_SECONDS = 10.0
CLASHES_KEPT = 10_000
# Locks that serialize cached loads of one project (see `_load`); striped, so memory is bounded.
LOAD_LOCK_STRIPES = 64


@dataclass(frozen=True)
class CommandResult:
    """What a command answers: the ids it touched, the new version and the last position."""

    project_id: UUID
    version: int
    position: int | None  # None when the command changed nothing (no event written)
    ids: dict[str, UUID] = field(default_factory=dict)
    changed: bool = True


# Builds the record kept in the events' own transaction for a command's result (the
# response an Idempotency-Key replays); see adapters.postgres.recorder.
Receipt = Callable[[CommandResult], Any]


class Ledger(Application[UUID]):
    name = "ledger"
    snapshotting_intervals = {Project: 100}
    # Projects are small and hot: keep them in memory; fast-forwarding from the store keeps
    # a cached project correct when other processes write to it.
    env = {"AGGREGATE_CACHE_MAXSIZE": "1000", "AGGREGATE_CACHE_FASTFORWARD": "y"}
    # The recorder keyword arguments a group commit knows how to merge (see `_record_batch`).
    GROUPED_KWARGS = frozenset({"timeline", "idempotency"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._load_locks = [threading.Lock() for _ in range(LOAD_LOCK_STRIPES)]
        # Projects another process wrote to lately (see `_clashed`).
        self._recent_clashes: dict[UUID, float] = {}
        self._contention_lock = threading.Lock()
        # Concurrent commands' events share one transaction (see application.groupcommit).
        self._commits = GroupCommit(self._record_batch)
        # Re-entrant: a command may run another on the same project (it then clashes, as before).
        self._turns = [threading.RLock() for _ in range(TURNS)]

    def construct_transcoder(self) -> Transcoder:
        transcoder = super().construct_transcoder()
        if isinstance(transcoder, JSONTranscoder):
            register_domain_transcodings(transcoder)
        return transcoder

    # --- queries -----------------------------------------------------------------------------

    def get_project(self, project_id: UUID, *, reader: str, read_all: bool = False) -> Project:
        """The current state; 404 for a reader with no role (unless it may read every project)."""
        project = self._load(project_id)
        if not read_all and project.role_of(reader) is None:
            raise ProjectNotFoundError(f"project {project_id} not found")
        return project

    def _require_reader(self, project_id: UUID, reader: str, read_all: bool) -> None:
        """`get_project`'s check without its copy (the project is only looked at, under the
        load lock): a read of the past checks the reader's role now, on current state."""
        with self._load_locks[hash(project_id) % LOAD_LOCK_STRIPES]:
            try:
                project: Project = self.repository.get(project_id, deepcopy_from_cache=False)
            except AggregateNotFoundError:
                raise ProjectNotFoundError(f"project {project_id} not found") from None
            has_role = project.role_of(reader) is not None
        if not read_all and not has_role:
            raise ProjectNotFoundError(f"project {project_id} not found")

    def peek_project(self, project_id: UUID) -> Project | None:
        """This process's cached copy, if any: not read from the store, so possibly behind it,
        and shared (read it, never change it). Good for letting a caller through early when the
        command re-checks on the state it acts on; not for answering a query."""
        cache = self.repository.cache
        if cache is None:
            return None
        try:
            project = cache.get(project_id)
        except KeyError:
            return None
        return project if isinstance(project, Project) else None

    def project_as_of(
        self, project_id: UUID, instant: datetime, *, reader: str, read_all: bool = False
    ) -> Project:
        """The project as recorded at `instant`, rebuilt from its events (snapshot + tail).

        The reader needs a role on the project now (or `read_all`): a former member does not
        keep reading a project it was removed from. Before the project existed: not found.
        """
        self._require_reader(project_id, reader, read_all)
        version = self._version_at(project_id, instant)
        if version is None:
            raise ProjectNotFoundError(
                f"project {project_id} did not exist at {instant.isoformat()}"
            )
        return self._load(project_id, version)

    def project_events(
        self,
        project_id: UUID,
        *,
        reader: str,
        read_all: bool = False,
        after_version: int = 0,
        limit: int | None = None,
    ) -> Iterator[tuple[ProjectEvent, int | None]]:
        """The project's events after `after_version` in version order, with their positions.

        Access is checked now, not when the iterator is first read; events are read a page
        at a time, so an export of a long history never holds it all in memory.
        """
        self._require_reader(project_id, reader, read_all)
        return self._project_events(project_id, after_version, limit)

    def project_retrospective(
        self, project_id: UUID, *, reader: str, read_all: bool = False
    ) -> Retrospective:
        """Slips, reschedules and review rounds, replayed from every event of the project."""
        self._require_reader(project_id, reader, read_all)
        return retrospective(e for e, _ in self._project_events(project_id, 0, None))

    def feed(self, after: int, limit: int) -> list[tuple[ProjectEvent, int]]:
        """Every project's events after global position `after`, in commit order.

        The store's ordering lock makes commit order equal position order, so a reader that
        resumes after the last position it saw never skips an event (positions may have gaps).
        """
        notifications = self.recorder.select_notifications(start=after + 1, limit=limit)
        events = [(self.mapper.to_domain_event(n), n.id) for n in notifications]
        return [(e, position) for e, position in events if isinstance(e, ProjectEvent)]

    def _project_events(
        self, project_id: UUID, after_version: int, limit: int | None
    ) -> Iterator[tuple[ProjectEvent, int | None]]:
        remaining = limit
        while remaining is None or remaining > 0:
            page = HISTORY_PAGE if remaining is None else min(HISTORY_PAGE, remaining)
            rows = self._stored_project_events(project_id, after_version, page)
            yield from rows
            if len(rows) < page:
                return
            after_version = rows[-1][0].originator_version
            remaining = None if remaining is None else remaining - len(rows)

    def _stored_project_events(
        self, project_id: UUID, after_version: int, limit: int
    ) -> list[tuple[ProjectEvent, int | None]]:
        if isinstance(self.recorder, LedgerRecorder):
            rows = self.recorder.select_project_events(
                project_id, after_version=after_version, limit=limit
            )
            return [(self._event(stored), position) for stored, position in rows]
        # Other stores (in-memory, in the domain tests) keep no positions we can read cheaply.
        events = self.events.get(project_id, gt=after_version, limit=limit)
        return [(e, None) for e in events if isinstance(e, ProjectEvent)]

    def _event(self, stored: StoredEvent) -> ProjectEvent:
        event = self.mapper.to_domain_event(stored)
        assert isinstance(event, ProjectEvent)
        return event

    def _version_at(self, project_id: UUID, instant: datetime) -> int | None:
        if isinstance(self.recorder, LedgerRecorder):
            return self.recorder.version_at(project_id, instant)
        # Other stores have no as-of index: scan the timestamps (fine for in-memory tests).
        versions = [
            e.originator_version
            for e in self.events.get(project_id)
            if isinstance(e, ProjectEvent) and e.timestamp <= instant
        ]
        return max(versions, default=None)

    def _load(self, project_id: UUID, version: int | None = None) -> Project:
        try:
            if version is None:
                # The library fast-forwards the cached project under its own lock but copies it
                # after releasing that lock, so one thread's copy could race another's
                # fast-forward of the same object ("dictionary changed size during iteration",
                # a 500): loads of one project from the cache take turns in this process.
                with self._load_locks[hash(project_id) % LOAD_LOCK_STRIPES]:
                    project: Project = self.repository.get(project_id)
            else:
                project = self.repository.get(project_id, version=version)
        except AggregateNotFoundError:
            raise ProjectNotFoundError(f"project {project_id} not found") from None
        return project

    def _load_cached(self, project_id: UUID) -> Project:
        """A private copy of the project as this process last saw it, without reading the store
        (it may be behind another process's writes: only a save can prove it current)."""
        with self._load_locks[hash(project_id) % LOAD_LOCK_STRIPES]:
            cached = self.peek_project(project_id)
            if cached is None:
                project: Project = self.repository.get(project_id)
                return project
            return deepcopy(cached)

    def _clashed(self, project_id: UUID) -> None:
        """Another process wrote the project since this one cached it: for a while, read it
        fresh (a fast-forward read) rather than fail a save (a whole group commit) again."""
        with self._contention_lock:
            if len(self._recent_clashes) >= CLASHES_KEPT:
                self._recent_clashes.clear()
            self._recent_clashes[project_id] = time.monotonic()

    def _contended(self, project_id: UUID) -> bool:
        clashed = self._recent_clashes.get(project_id)
        return clashed is not None and time.monotonic() - clashed < CONTENDED_SECONDS

    def _remember(self, project: Project) -> None:
        """Keep a just-saved project as the cached copy (the library only fast-forwards)."""
        cache = self.repository.cache
        if cache is not None and not project.pending_events:
            with self._load_locks[hash(project.id) % LOAD_LOCK_STRIPES]:
                current = self.peek_project(project.id)
                if current is None or current.version <= project.version:
                    cache.put(project.id, project)

    # --- commands ----------------------------------------------------------------------------

    def create_project(
        self,
        *,
        name: str,
        description: str = "",
        timezone: str = "UTC",
        risk_window_days: int = 7,
        actor: str,
        receipt: Receipt | None = None,
    ) -> CommandResult:
        project = Project.create(
            name=name,
            description=description,
            timezone=timezone,
            risk_window_days=risk_window_days,
            actor=actor,
        )
        return self._save(project, {"project_id": project.id}, receipt)

    def execute(
        self,
        project_id: UUID,
        act: Callable[[Project], dict[str, UUID] | None],
        *,
        actor: str,
        needs: ProjectRole,
        expected_version: int | None = None,
        receipt: Receipt | None = None,
    ) -> CommandResult:
        """Runs one command on a project.

        `act` calls the aggregate's command method(s) and returns the ids of what it created.
        Without `expected_version` a version clash is retried on fresh state; with it, the
        command applies only at that version (If-Match).
        """
        # Commands on one project take turns in this process instead of clashing and retrying;
        # the store's version check still guards against other processes.
        with self._turns[hash(project_id) % TURNS]:
            # First try on this process's cached copy without reading the store: the save's
            # version check proves it current. Anything it would not save (a refusal, a no-op,
            # a version mismatch) is decided again on fresh state before it is answered.
            fresh = self.peek_project(project_id) is None or self._contended(project_id)
            attempt = 0
            while True:
                project = self._load(project_id) if fresh else self._load_cached(project_id)
                try:
                    self._check_role(project, actor, needs)
                    if expected_version is not None and project.version != expected_version:
                        raise VersionMismatchError(expected_version, project.version)
                    ids = act(project) or {}
                except DomainError:
                    if fresh:
                        raise
                    fresh = True
                    continue
                if not project.pending_events:
                    if not fresh:
                        fresh = True
                        continue
                    return CommandResult(project.id, project.version, None, ids, changed=False)
                try:
                    result = self._save(project, ids, receipt)
                except IntegrityError:
                    if expected_version is not None and fresh:
                        raise VersionMismatchError(expected_version, expected_version + 1) from None
                    attempt += 1
                    if attempt == MAX_ATTEMPTS:
                        raise
                    if not fresh:
                        self._clashed(project_id)
                    fresh = True
                    continue
                self._remember(project)
                return result

    def _save(
        self,
        project: Project,
        ids: dict[str, UUID],
        receipt: Receipt | None = None,
        **kwargs: Any,
    ) -> CommandResult:
        # The as-of index rides in the events' transaction (see adapters.postgres.recorder).
        timeline = [
            (e.originator_id, e.originator_version, e.timestamp) for e in project.pending_events
        ]
        if receipt is not None:
            # Kept with the events (idempotency), completed once their position is known.
            pending = CommandResult(project.id, project.version, None, ids)
            kwargs["idempotency"] = lambda position: receipt(replace(pending, position=position))
        kwargs["timeline"] = timeline
        if set(kwargs) <= self.GROUPED_KWARGS:
            events = project.collect_events()
            recordings = self._commits.save(Pending(project.id, project, events, kwargs))
        else:
            recordings = self.save(project, **kwargs)
        position = recordings[-1].notification.id if recordings else None
        return CommandResult(project.id, project.version, position, ids)

    def _record_batch(self, batch: Sequence[Pending]) -> list[Recording[UUID]]:
        """What `Application.save` does, for several commands' events in one transaction."""
        processing_event: ProcessingEvent[UUID] = ProcessingEvent()
        if len(batch) == 1:
            processing_event.saved_kwargs.update(batch[0].kwargs)
        else:
            # One timeline; each command's receipt sealed with the position of its last event.
            processing_event.saved_kwargs["timeline"] = [
                entry for pending in batch for entry in pending.kwargs["timeline"]
            ]
            processing_event.saved_kwargs["idempotency_batch"] = [
                (len(pending.events), pending.kwargs.get("idempotency")) for pending in batch
            ]
        for pending in batch:
            processing_event.events.extend(pending.events)
            processing_event.aggregates[pending.aggregate.id] = pending.aggregate
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        return recordings

    @staticmethod
    def _check_role(project: Project, actor: str, needs: ProjectRole) -> None:
        role = project.role_of(actor)
        if role is None:
            raise ProjectNotFoundError(f"project {project.id} not found")
        if not role.includes(needs):
            raise PermissionDeniedError(
                f"{actor} is {role.value} on this project; this needs {needs.value}"
            )
