"""The ledger: the application service that every command and every read of a project goes
through, for the API, the command line, the demo and the tests alike.

A request is admitted once (`admit`: the project loaded and the principal authorised, one
time), then a named command (`application.commands`) acts on that state: get → act → save,
retried on fresh state after a clash with another process. Reads of the past replay events
through the domain (`application.reads`). Decisions come only from the event-sourced Project,
never from a view.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import replace
from typing import Any
from uuid import UUID

from eventsourcing.application import ProcessingEvent
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Recording, Transcoder
from eventsourcing.utils import EnvType

from application.access import Admission, Principal, authorize
from application.commands import Act, ProjectCommands
from application.correlation import correlation_id
from application.groupcommit import GroupCommit, Pending
from application.ports import (
    ArtifactCatalog,
    AsOfEntry,
    CorrelationEntry,
    LedgerStore,
    PendingAnswer,
    PrincipalDirectory,
)
from application.reads import ProjectReads
from application.results import AnswerKey, CommandResult, Ids
from domain.errors import DomainError, VersionMismatchError
from domain.project import Project
from domain.roles import ProjectRole
from domain.transcodings import register_domain_transcodings

log = logging.getLogger(__name__)

# How often a command without If-Match is retried on fresh state after a version clash.
MAX_ATTEMPTS = 10
# Locks that make one process's commands on a project take turns (by the project id's hash).
TURNS = 256


class Ledger(ProjectCommands, ProjectReads):
    name = "ledger"
    snapshotting_intervals = {Project: 100}
    # Projects are hot: keep them in memory, bounded by bytes (`application.cache`; the count
    # only caps the bookkeeping of many tiny ones); fast-forwarding from the store keeps a
    # cached project correct when other processes write to it.
    env = {
        "PROJECT_CACHE_BYTES": str(256 * 2**20),
        "PAST_STATES_BYTES": str(64 * 2**20),
        "AGGREGATE_CACHE_MAXSIZE": "100000",
        "AGGREGATE_CACHE_FASTFORWARD": "y",
    }

    def __init__(
        self,
        env: EnvType | None = None,
        *,
        principals: PrincipalDirectory | None = None,
        artifacts: ArtifactCatalog | None = None,
    ) -> None:
        super().__init__(env)
        if not isinstance(self.recorder, LedgerStore):
            raise TypeError(
                f"the ledger needs a LedgerStore recorder (adapters.postgres or adapters.memory),"
                f" not {type(self.recorder).__name__}"
            )
        self.principals = principals
        self.artifacts = artifacts
        # Concurrent commands' events share one transaction (see application.groupcommit).
        self._commits = GroupCommit(self._record_batch)
        # Re-entrant: a command may run another on the same project (it then clashes, as before).
        self._turns = [threading.RLock() for _ in range(TURNS)]

    @property
    def store(self) -> LedgerStore:
        """The event store's recorder, through the ports the application needs."""
        store = self.recorder
        assert isinstance(store, LedgerStore)
        return store

    def construct_transcoder(self) -> Transcoder:
        transcoder = super().construct_transcoder()
        if isinstance(transcoder, JSONTranscoder):
            register_domain_transcodings(transcoder)
        return transcoder

    # --- admission ---------------------------------------------------------------------------

    def admit(
        self,
        project_id: UUID,
        principal: Principal,
        needs: ProjectRole = ProjectRole.VIEWER,
        *,
        writes: bool = False,
        keep_state: bool = True,
        expected_version: int | None = None,
        answer_key: AnswerKey | None = None,
    ) -> Admission:
        """Load the project once and let `principal` in for what needs `needs`, or refuse (404
        for a project it may not know of, 403 for a role too low).

        A command (`writes`) is let in on a copy of this process's cached project when there is
        one; a refusal there is decided again on the store's state (the cache may be behind).
        A read is let in on the current state; with `keep_state=False` (a read of the past, which
        replays events itself) the project is only looked at, not copied.
        """
        admission = Admission(
            principal,
            project_id,
            needs,
            writes,
            expected_version=expected_version,
            answer_key=answer_key,
        )
        if writes:
            cached = self.admit_cached(admission)
            if cached is not None:
                return cached
        if keep_state:
            project = self.load(project_id)
            authorize(project, principal, needs, writes=writes)
            return replace(admission, project=project, unused=[project])
        with self._load_lock(project_id):
            looked = self.look_at(project_id)
            authorize(looked, principal, needs, writes=writes)
        return replace(admission, seen_version=looked.version)

    def admit_cached(self, admission: Admission) -> Admission | None:
        """`admission` let in on this process's cached project, without reading the store,
        copying or locking anything (cheap enough for the event loop): None when there is no
        cached copy, the project is contended, or the cached state refuses (the store's state
        decides then). The command copies the project once, in its own turn, and acts on it."""
        if self.contended(admission.project_id):
            return None
        cached = self.peek(admission.project_id)
        if cached is None:
            return None
        try:
            authorize(cached, admission.principal, admission.needs, writes=admission.writes)
        except DomainError:
            return None
        return replace(admission, fresh=False)

    # --- running a command -------------------------------------------------------------------

    def _run(self, admitted: Admission, act: Act, /, *args: Any, **kwargs: Any) -> CommandResult:
        """Run one command: `act(project, *args, **kwargs, actor=…)` calls the aggregate as the
        admitted principal and returns the id of what it created, if anything (named
        `admitted.creates` in the answer, beside `admitted.ids`).

        Without `expected_version` a version clash is retried on fresh state; with it, the
        command applies only at that version (If-Match).
        """
        project_id = admitted.project_id
        expected = admitted.expected_version
        ids, created = admitted.ids, admitted.creates
        answer_key = admitted.take_answer_key()
        # Commands on one project take turns in this process instead of clashing and retrying;
        # the store's version check still guards against other processes.
        with self._turns[hash(project_id) % TURNS]:
            project = self._admitted_state(admitted)
            # The admitted state was read before this command's turn: like a cached copy, only
            # a save proves it current, and a refusal on it is decided again on fresh state.
            fresh = project is None and admitted.fresh
            attempt = 0
            while True:
                try:
                    if project is None:
                        project = self.load(project_id) if fresh else self.load_cached(project_id)
                        authorize(project, admitted.principal, admitted.needs, writes=True)
                    if expected is not None and project.version != expected:
                        raise VersionMismatchError(expected, project.version)
                    new_id = act(project, *args, **kwargs, actor=admitted.actor)
                except DomainError:
                    # First tried on the cached copy: anything it would not save (a refusal,
                    # a version mismatch) is decided again on fresh state before it is answered.
                    if fresh:
                        raise
                    project, fresh = None, True
                    continue
                named = ids if new_id is None or created is None else {**ids, created: new_id}
                if not project.pending_events:
                    if not fresh:  # a no-op on the cached copy: is it one on fresh state too?
                        project, fresh = None, True
                        continue
                    return CommandResult(project.id, project.version, None, named, changed=False)
                try:
                    result = self._save(project, named, created, answer_key)
                except IntegrityError:
                    if expected is not None and fresh:
                        raise VersionMismatchError(expected, expected + 1) from None
                    attempt += 1
                    if attempt == MAX_ATTEMPTS:
                        raise
                    if not fresh:
                        self.clashed(project_id)
                    project, fresh = None, True
                    continue
                self.remember(project)
                return result

    def _admitted_state(self, admitted: Admission) -> Project | None:
        """The state the admission was let in on, if a command may still act on it: not when
        another command of this process saved the project meanwhile (the copy would clash)."""
        project = admitted.take_state()
        if project is None or project.pending_events:
            return None
        cached = self.peek(admitted.project_id)
        # Once saved, a command's copy becomes the cached project itself: never act on that.
        if cached is project:
            return None
        if cached is None:
            return None
        return project if cached.version == project.version else None

    def _save(
        self,
        project: Project,
        ids: Ids,
        created: str | None,
        answer_key: AnswerKey | None,
    ) -> CommandResult:
        # The as-of index and the command's answer ride in the events' transaction.
        as_of = [
            AsOfEntry(e.originator_id, e.originator_version, e.timestamp)
            for e in project.pending_events
        ]
        # Read here, in the command's own thread: a group commit may be led by another's.
        correlation = correlation_id.get()
        correlations = (
            []
            if correlation is None
            else [
                CorrelationEntry(e.originator_id, e.originator_version, correlation)
                for e in project.pending_events
            ]
        )
        events = project.collect_events()
        result = CommandResult(project.id, project.version, None, ids, created=created)
        answers = [] if answer_key is None else [PendingAnswer(answer_key, result, len(events))]
        kwargs = {"as_of": as_of, "answers": answers, "correlations": correlations}
        recordings = self._commits.save(Pending(project.id, project, events, kwargs))
        return replace(result, position=recordings[-1].notification.id if recordings else None)

    def _record_batch(self, batch: Sequence[Pending]) -> list[Recording[UUID]]:
        """What `Application.save` does, for several commands' events in one transaction."""
        processing_event: ProcessingEvent[UUID] = ProcessingEvent()
        before = 0
        for pending in batch:
            processing_event.events.extend(pending.events)
            processing_event.aggregates[pending.aggregate.id] = pending.aggregate
            processing_event.saved_kwargs.setdefault("as_of", []).extend(pending.kwargs["as_of"])
            processing_event.saved_kwargs.setdefault("correlations", []).extend(
                pending.kwargs["correlations"]
            )
            processing_event.saved_kwargs.setdefault("answers", []).extend(
                replace(a, before=before) for a in pending.kwargs["answers"]
            )
            before += len(pending.events)
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        return recordings

    def _take_snapshots(self, processing_event: ProcessingEvent[UUID]) -> None:
        # A snapshot only spares later loads some replay: one that cannot be written must not
        # fail a command whose events are saved already (a retry would save them twice).
        try:
            self._snapshot_saved(processing_event)
        except Exception:
            log.warning("a snapshot could not be written; loads replay more events", exc_info=True)

    def _snapshot_saved(self, processing_event: ProcessingEvent[UUID]) -> None:
        """A snapshot of each saved project whose new events reach a multiple of the interval.

        The library rebuilds the project from the store (its last snapshot decoded, then up to
        100 events) to snapshot it; a saved project whose last event is the one that reached
        the multiple is that very state, just recorded, so it is snapshotted as it is (issue
        18: the rebuild was half of a big project's snapshot, on the command's path). A save
        that crossed a multiple before its last event falls back to the library's way."""
        interval = self.snapshotting_intervals[Project]
        rebuild: list[tuple[UUID, int]] = []
        for event in processing_event.events:
            version = event.originator_version
            project = processing_event.aggregates.get(event.originator_id)
            if not isinstance(project, Project) or version % interval:
                continue
            if project.version == version and self.snapshots is not None:
                self.snapshots.put([Project.Snapshot.take(project)])
            else:
                rebuild.append((event.originator_id, version))
        for project_id, version in rebuild:
            self.take_snapshot(project_id, version)

    def create(self, project: Project, answer_key: AnswerKey | None) -> CommandResult:
        """Save a new project (its creation is checked by `ProjectCommands.create_project`)."""
        result = self._save(project, {}, "project_id", answer_key)
        self.remember(project)
        return result
